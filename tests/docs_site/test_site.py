"""The built docs site (``nox -s docs``: ``mkdocs build --strict`` into site/) opened in headless
Chromium: every page renders with its title and the navigation, and the API reference shows
every public name of ``groot_sdk``, ``groot_sdk.testing`` and ``groot_sdk.sim`` with no
mkdocstrings error left in the page.

Counterpart: Debian's ``chromium`` package (``nox -s docs`` apt-gets it when run as root);
without a browser or a built site these tests skip and say which is missing.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SITE = Path(os.environ.get("GROOT_DOCS_SITE", ROOT / "site"))
#: what mkdocstrings or MkDocs leave in a page when something did not render
ERROR_MARKERS = ("Could not collect", "Traceback (most recent call last)", "::: groot_sdk",
                 "mkdocstrings: ", "ERROR -")  # fmt: skip


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no headless browser: apt-get install chromium (nox -s docs does, as root)")


@pytest.fixture(scope="module")
def browser() -> list[str]:
    if not (SITE / "index.html").is_file():
        pytest.skip(f"no built site at {SITE}: run `nox -s docs` (mkdocs build --strict) first")
    cmd = [_browser(), "--headless", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return cmd


def dump_dom(browser: list[str], page: str) -> str:
    """The DOM of ``page`` after Chromium has loaded it (scripts run)."""
    url = (SITE / page).as_uri()
    out = subprocess.run(
        [*browser, "--virtual-time-budget=3000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "<html" in out.stdout, f"{page}: Chromium returned no document: {out.stderr[-500:]}"
    return out.stdout


def _pages() -> list[tuple[str, str]]:
    """(html page, its title) for every Markdown page of the site."""
    pages = []
    for md in sorted(DOCS.rglob("*.md")):
        rel = md.relative_to(DOCS)
        if rel.parts[0].startswith("_"):
            continue
        title = next(
            line[2:].strip() for line in md.read_text().splitlines() if line.startswith("# ")
        )
        pages.append((rel.with_suffix(".html").as_posix(), title))
    return pages


def _public(module: Path) -> list[str]:
    """``__all__`` of a module, read without importing it (the docs session has no numpy)."""
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [n for n in ast.literal_eval(node.value) if not n.startswith("__")]
    raise AssertionError(f"{module} has no __all__")


def _text(dom: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.mark.parametrize(("page", "title"), _pages())
def test_page_renders(browser, page, title):
    dom = dump_dom(browser, page)
    text = _text(dom)
    heading = re.sub(r"[`*]", "", title)
    assert heading in text, f"{page}: title {heading!r} not rendered"
    assert 'class="md-nav' in dom, f"{page}: no Material navigation"
    assert "API reference" in text and "Troubleshooting" in text, f"{page}: navigation incomplete"
    for marker in ERROR_MARKERS:
        assert marker not in text, f"{page}: {marker!r} in the rendered page"


@pytest.mark.parametrize(
    ("page", "module", "package"),
    [
        ("api/index.html", "groot_sdk/__init__.py", "groot_sdk"),
        ("api/testing.html", "groot_sdk/testing/__init__.py", "groot_sdk.testing"),
        ("api/sim.html", "groot_sdk/sim/__init__.py", "groot_sdk.sim"),
    ],
)
def test_api_reference_documents_every_public_name(browser, page, module, package):
    dom = dump_dom(browser, page)
    names = _public(ROOT / module)
    missing = [n for n in names if f'id="{package}.{n}"' not in dom]
    assert not missing, f"{page}: no API entry for {missing}"
    text = _text(dom)
    for marker in ERROR_MARKERS:
        assert marker not in text, f"{page}: {marker!r} in the rendered page"
    # a rendered signature, not just a heading: the docstring's first line is on the page
    assert "doc-signature" in dom or "signature" in dom


def test_api_reference_renders_docstrings(browser):
    text = _text(dump_dom(browser, "api/testing.html"))
    assert "run_through_deployer(" in text.replace(" (", "(")
    assert "lock-step and as fast as the simulator goes" in text
    assert ":func:" not in text and ":class:" not in text  # Sphinx roles rendered as code
    sim = _text(dump_dom(browser, "api/sim.html"))
    assert "make_humanoid_sim" in sim and "Time" in sim


def test_screenshot(browser, tmp_path):
    """One screenshot of the API reference, for a person to look at (kept under
    $GROOT_DOCS_SHOT when set); here only: it is a real, non-blank PNG."""
    shot = Path(os.environ.get("GROOT_DOCS_SHOT", tmp_path / "api.png"))
    url = (SITE / "api" / "testing.html").as_uri()
    out = subprocess.run(
        [*browser, "--window-size=1280,1600", f"--screenshot={shot}", url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000, "screenshot is (nearly) blank"
