"""``groot dataset push`` / ``pull`` through the real ``huggingface_hub`` client: against a
local Hub stand-in (HF_ENDPOINT -> an HTTP server on 127.0.0.1 in this file), and against the
client's own offline cache layout (HF_HUB_OFFLINE=1).

The stand-in implements the few Hub routes the client calls (create repo, preupload, commit,
tag, repo info, tree listing, resolve), written from the Hub's public HTTP API as
``huggingface_hub`` (the installed version) calls it: ``hf_api.py`` (``create_repo``,
``create_commit``, ``create_tag``, ``repo_info``, ``list_repo_tree``) and ``file_download.py``
(``hf_hub_download``). Every file is uploaded inline ("regular" upload mode), so neither LFS
nor Xet storage is involved; the real Hub path is the library's own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")
pytest.importorskip("huggingface_hub")

from click.testing import CliRunner

from groot_sdk.cli.main import cli
from groot_sdk.data.layout import DatasetError
from groot_sdk.data.reader import Dataset
from groot_sdk.data.validate import validate

from .helpers import record_mock, so101_spec

pytestmark = pytest.mark.timeout(300)


class FakeHub:
    """Repositories in memory: commits (path -> bytes), branches and tags."""

    def __init__(self) -> None:
        self.repos: dict[str, dict] = {}
        self.log: list[tuple[str, str, str | None]] = []  # (method, path, authorization)
        self.lock = threading.Lock()

    def repo(self, repo_id: str) -> dict:
        return self.repos[repo_id]

    def resolve(self, repo_id: str, rev: str) -> str | None:
        r = self.repos.get(repo_id)
        if r is None:
            return None
        if rev in r["refs"]:
            return r["refs"][rev]
        return rev if rev in r["commits"] else None


def _handler(hub: FakeHub):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # quiet
            pass

        def _send(self, code, body=b"", ctype="application/json", headers=None, head=False):
            if isinstance(body, dict | list):
                body = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _error(self, code, msg, head=False):
            self._send(code, {"error": msg}, headers={"X-Error-Message": msg}, head=head)

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _route(self, method):
            url = urlparse(self.path)
            parts = [unquote(p) for p in url.path.split("/") if p]
            with hub.lock:
                hub.log.append((method, url.path, self.headers.get("Authorization")))
            return url, parts

        def do_POST(self):
            url, p = self._route("POST")
            body = self._body()
            if p[:3] == ["api", "repos", "create"]:
                doc = json.loads(body)
                repo_id = (
                    f"{doc['organization']}/{doc['name']}"
                    if doc.get("organization")
                    else doc["name"]
                )
                with hub.lock:
                    if repo_id in hub.repos:  # the Hub answers 409 with the repo's url
                        msg = "You already created this dataset repo"
                        url = f"http://{self.headers['Host']}/datasets/{repo_id}"
                        return self._send(409, {"error": msg, "url": url},
                                          headers={"X-Error-Message": msg})  # fmt: skip
                    # like the Hub: a new repository has one commit (.gitattributes) on main
                    first = "0" * 39 + "1"
                    hub.repos[repo_id] = {
                        "commits": {first: {".gitattributes": b"*.mp4 filter=lfs\n"}},
                        "refs": {"main": first}, "private": doc.get("private"),
                    }  # fmt: skip
                return self._send(
                    200,
                    {"url": f"http://{self.headers['Host']}/datasets/{repo_id}", "name": repo_id},
                )
            if p[:2] == ["api", "datasets"] and len(p) >= 6:
                repo_id, op, rev = f"{p[2]}/{p[3]}", p[4], "/".join(p[5:])
                if repo_id not in hub.repos:
                    return self._error(404, "Repository not found")
                if op == "preupload":
                    files = json.loads(body)["files"]
                    return self._send(200, {"files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                        for f in files
                    ]})  # fmt: skip
                if op == "commit":
                    return self._commit(repo_id, rev, body)
                if op == "tag":
                    doc = json.loads(body)
                    sha = hub.resolve(repo_id, rev)
                    if sha is None:
                        return self._error(404, "Revision not found")
                    with hub.lock:
                        if doc["tag"] in hub.repos[repo_id]["refs"]:
                            return self._error(409, "Tag already exists")
                        hub.repos[repo_id]["refs"][doc["tag"]] = sha
                    return self._send(200, {})
            return self._error(404, f"no route POST {url.path}")

        def _commit(self, repo_id, rev, body):
            repo = hub.repos[repo_id]
            parent = repo["refs"].get(rev)
            files = dict(repo["commits"][parent]) if parent else {}
            for line in body.decode().splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {k: v for k, v in files.items() if not k.startswith(prefix)}
                elif key != "header":
                    return self._error(400, f"unsupported commit operation {key}")
            sha = hashlib.sha1(repr(sorted(files.items())).encode() + (parent or "").encode())
            sha = sha.hexdigest()
            with hub.lock:
                repo["commits"][sha] = files
                repo["refs"][rev] = sha
            return self._send(200, {"commitUrl": f"http://{self.headers['Host']}/datasets/{repo_id}/commit/{sha}",
                                    "commitOid": sha, "success": True})  # fmt: skip

        def _tree(self, files, prefix, recursive):
            out, dirs = [], set()
            for path, data in sorted(files.items()):
                if prefix and not path.startswith(prefix.rstrip("/") + "/"):
                    continue
                rest = path[len(prefix.rstrip("/") + "/") :] if prefix else path
                if not recursive and "/" in rest:
                    dirs.add((prefix.rstrip("/") + "/" if prefix else "") + rest.split("/")[0])
                    continue
                parts = path.split("/")
                for k in range(1, len(parts)):
                    d = "/".join(parts[:k])
                    if recursive and (not prefix or d.startswith(prefix)):
                        dirs.add(d)
                oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                out.append({"type": "file", "path": path, "size": len(data), "oid": oid})
            return [{"type": "directory", "path": d, "oid": "0" * 40} for d in sorted(dirs)] + out

        def _get(self, head):
            url, p = self._route("HEAD" if head else "GET")
            if p[:2] == ["api", "datasets"] and len(p) >= 6:
                repo_id, op = f"{p[2]}/{p[3]}", p[4]
                if repo_id not in hub.repos:
                    return self._error(404, "Repository not found", head)
                if op in ("revision", "tree"):
                    rev = p[5]
                    sha = hub.resolve(repo_id, rev)
                    if sha is None:
                        return self._error(404, "Revision not found", head)
                    files = hub.repos[repo_id]["commits"][sha]
                    if op == "revision":
                        return self._send(200, {
                            "id": repo_id, "sha": sha, "private": False,
                            "siblings": [{"rfilename": f} for f in sorted(files)],
                        }, head=head)  # fmt: skip
                    recursive = "recursive=true" in (url.query or "").lower() or (
                        "recursive=1" in (url.query or "")
                    )
                    return self._send(200, self._tree(files, "/".join(p[6:]), recursive), head=head)
            if p[:1] == ["datasets"] and len(p) >= 6 and p[3] == "resolve":
                repo_id, rev, path = f"{p[1]}/{p[2]}", p[4], "/".join(p[5:])
                sha = hub.resolve(repo_id, rev)
                if sha is None:
                    return self._error(404, "Revision not found", head)
                files = hub.repos[repo_id]["commits"][sha]
                if path not in files:
                    return self._send(404, {"error": "Entry not found"}, head=head,
                                      headers={"X-Error-Code": "EntryNotFound"})  # fmt: skip
                data = files[path]
                etag = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                return self._send(200, data, "application/octet-stream", head=head, headers={
                    "X-Repo-Commit": sha, "ETag": f'"{etag}"',
                })  # fmt: skip
            return self._error(404, f"no route {url.path}", head)

        def do_GET(self):
            self._get(False)

        def do_HEAD(self):
            self._get(True)

    return H


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    """A local Hub on 127.0.0.1, the client pointed at it, a fresh cache and a token file."""
    hub = FakeHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    home = tmp_path / "hf_home"
    home.mkdir()
    (home / "token").write_text("hf_from_the_token_file")  # what `hf auth login` writes
    import huggingface_hub.constants as C

    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # the client reads its settings once, at import: point them here for this test
    monkeypatch.setattr(C, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        C, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(C, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(C, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(C, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(C, "HF_HUB_DISABLE_XET", True, raising=False)
    yield hub, endpoint, home
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub") / "ds"
    record_mock(root, so101_spec(), episodes=2, steps=6)
    return root


def _same(a, b) -> None:
    da, db = Dataset(a), Dataset(b)
    assert da.episode_indices == db.episode_indices and da.tasks == db.tasks
    for i in da.episode_indices:
        ea, eb = da.episode(i), db.episode(i)
        for k in ea:
            np.testing.assert_array_equal(ea[k], eb[k])

    def listing(root):  # the Hub's initial .gitattributes comes along; nothing else
        return sorted(
            p.relative_to(root)
            for p in root.rglob("*")
            if p.is_file() and p.name != ".gitattributes"
        )

    files = listing(a)
    assert files == listing(b)
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_push_then_pull_through_a_local_hub(hub_env, recorded, tmp_path):
    from groot_sdk.data.hub import pull, push

    hub, _, _ = hub_env
    push(recorded, "lab/pick")
    repo = hub.repo("lab/pick")
    files = repo["commits"][repo["refs"]["main"]]
    assert "meta/modality.json" in files and "meta/info.json" in files
    assert repo["refs"]["v2.1"] == repo["refs"]["main"]  # tagged with the codebase version
    # the token came from its usual place (the login file under HF_HOME)
    assert all(
        auth == "Bearer hf_from_the_token_file"
        for _, path, auth in hub.log
        if path != "/api/agent-harnesses"
    ), hub.log
    pull("lab/pick", tmp_path / "pulled")
    _same(recorded, tmp_path / "pulled")
    assert validate(tmp_path / "pulled", so101_spec()).ok


def test_v30_push_mirrors_and_tags(hub_env, recorded, tmp_path, monkeypatch):
    from groot_sdk.data.hub import pull, push
    from groot_sdk.data.merge import convert

    hub, _, _ = hub_env
    monkeypatch.setenv("HF_TOKEN", "hf_from_the_env")  # HF_TOKEN wins over the file
    push(recorded, "lab/pick")
    convert(recorded, tmp_path / "v3", "v3.0")
    push(tmp_path / "v3", "lab/pick")  # the v2.1 files go: the repo mirrors the folder
    repo = hub.repo("lab/pick")
    files = repo["commits"][repo["refs"]["main"]]
    assert not any(f.startswith("data/chunk-000/episode_") for f in files)
    assert "meta/episodes/chunk-000/file-000.parquet" in files
    assert repo["refs"]["v3.0"] == repo["refs"]["main"]
    assert hub.log[-1][2] == "Bearer hf_from_the_env"
    pull("lab/pick", tmp_path / "pulled")
    _same(tmp_path / "v3", tmp_path / "pulled")


def test_pull_offline_uses_the_client_cache(hub_env, recorded, tmp_path, monkeypatch):
    """Pulled once online, the snapshot lives in the client's cache
    (datasets--lab--pick/{refs,snapshots,blobs}); offline, pull copies it without a request."""
    import huggingface_hub.constants as C

    from groot_sdk.data.hub import pull, push

    hub, _, home = hub_env
    push(recorded, "lab/pick")
    pull("lab/pick", tmp_path / "first")
    cache = home / "hub" / "datasets--lab--pick"
    sha = (cache / "refs" / "main").read_text().strip()
    assert (cache / "snapshots" / sha / "meta" / "info.json").is_file()
    n = len(hub.log)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(C, "HF_HUB_OFFLINE", True)
    pull("lab/pick", tmp_path / "offline")
    assert len(hub.log) == n  # not one request
    _same(recorded, tmp_path / "offline")
    with pytest.raises(DatasetError, match="not found in the local Hub cache"):
        pull("lab/other", tmp_path / "nope")


def test_pull_offline_from_a_cache_laid_out_by_hand(tmp_path, monkeypatch, recorded):
    """The cache layout as huggingface_hub documents it (``<cache>/datasets--org--name/
    refs/main`` -> commit, ``snapshots/<commit>/<files>`` as links into ``blobs/``), written
    here without the client: what another tool (LeRobot, ``hf download``) leaves behind."""
    import os

    import huggingface_hub.constants as C

    from groot_sdk.data.hub import pull

    cache = tmp_path / "cache"
    repo = cache / "datasets--lab--handmade"
    sha = "a" * 40
    for src in recorded.rglob("*"):
        if src.is_file():
            data = src.read_bytes()
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = repo / "snapshots" / sha / src.relative_to(recorded)
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(blob, link.parent), link)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(C, "HF_HUB_OFFLINE", True)
    pull("lab/handmade", tmp_path / "out", cache_dir=cache)
    _same(recorded, tmp_path / "out")
    assert not any(p.is_symlink() for p in (tmp_path / "out").rglob("*"))  # plain files


def test_cli_push_pull_and_refusals(hub_env, recorded, tmp_path):
    run = CliRunner().invoke
    r = run(cli, ["dataset", "push", str(recorded), "lab/cli"])
    assert r.exit_code == 0, r.output
    r = run(cli, ["dataset", "pull", "lab/cli", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    assert "2 episodes, 12 frames (valid)" in r.output
    r = run(cli, ["dataset", "pull", "lab/cli", str(tmp_path / "p")])
    assert r.exit_code != 0 and "already holds a dataset" in str(r.exception or r.output)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta").mkdir()
    (broken / "meta/info.json").write_text(json.dumps({"codebase_version": "v2.1"}))
    r = run(cli, ["dataset", "push", str(broken), "lab/broken"])
    assert r.exit_code != 0 and "does not validate" in str(r.exception or r.output)
