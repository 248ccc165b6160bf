"""Checks a LeRobot v2.1 dataset against what GR00T's loader relies on.

Each problem names the file, the episode and the key. Errors make training fail or train on
wrong data; warnings are suspicious but loadable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from attrs import define, field, frozen

from groot_sdk.data import layout as L
from groot_sdk.data.reader import read_columns
from groot_sdk.data.schema import SchemaError, parse_episode, parse_info, parse_task
from groot_sdk.data.video import probe
from groot_sdk.errors import GrootError
from groot_sdk.spec import EmbodimentSpec

#: LeRobot's default timestamp tolerance (``tolerance_s``)
TOLERANCE_S = 1e-4
REQUIRED_INFO = ("codebase_version", "fps", "features", "data_path", "total_episodes")
STAT_KEYS = ("min", "max", "mean", "std", "count")  #: per episode (episodes_stats.jsonl)
GROOT_STATS = ("min", "max", "mean", "std", "q01", "q99")
DEFAULT_COLUMN = {"state": "observation.state", "action": "action"}


@frozen
class Problem:
    severity: str  # "error" | "warning"
    file: str
    message: str
    episode: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.episode is not None:
            where += f" (episode {self.episode})"
        key = f" '{self.key}'" if self.key else ""
        return f"{self.severity}: {where}:{key} {self.message}"


@define
class Report:
    root: Path
    problems: list[Problem] = field(factory=list)
    episodes: int = 0
    frames: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, file: str, message: str, episode: int | None = None, key: str | None = None):
        self.problems.append(Problem("error", file, message, episode, key))

    def warn(self, file: str, message: str, episode: int | None = None, key: str | None = None):
        self.problems.append(Problem("warning", file, message, episode, key))

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": str(self.root),
            "ok": self.ok,
            "episodes": self.episodes,
            "frames": self.frames,
            "errors": [str(p) for p in self.errors],
            "warnings": [str(p) for p in self.warnings],
        }


class DatasetInvalid(GrootError, ValueError):
    def __init__(self, report: Report) -> None:
        self.report = report
        lines = "\n  ".join(str(p) for p in report.errors)
        super().__init__(f"{report.root} is not a valid GR00T dataset:\n  {lines}")


def validate(
    root: str | Path,
    spec: EmbodimentSpec | None = None,
    *,
    check_videos: bool = True,
    progress: Callable[[Any], Any] | None = None,
) -> Report:
    """Validate ``root``; ``spec`` adds the checks against an embodiment."""
    from groot_sdk.data.v30 import validate_v30, version_of

    try:
        v3 = version_of(root).startswith("v3")
    except L.DatasetError:
        v3 = False  # reported by the v2.1 checks below
    if v3:  # LeRobot v3.0: many episodes per file
        return validate_v30(Path(root), spec, check_videos, Report(Path(root)))
    return _Validator(Path(root), spec, check_videos).run(progress)


def assert_valid(root: str | Path, spec: EmbodimentSpec | None = None) -> Report:
    report = validate(root, spec)
    if not report.ok:
        raise DatasetInvalid(report)
    return report


class _Validator:
    def __init__(self, root: Path, spec: EmbodimentSpec | None, check_videos: bool) -> None:
        self.root, self.spec, self.check_videos = root, spec, check_videos
        self.r = Report(root)

    # -- metadata ---------------------------------------------------------------------------
    def _json(self, name: str, required: bool = True) -> Any:
        path = self.root / name
        if not path.exists():
            if required:
                self.r.error(name, "is missing")
            return None
        try:
            return L.read_jsonl(path) if name.endswith(".jsonl") else L.read_json(path)
        except (ValueError, OSError) as exc:
            self.r.error(name, f"cannot be parsed: {exc}")
            return None

    def run(self, progress) -> Report:
        r = self.r
        if not self.root.is_dir():
            r.error(str(self.root), "is not a directory")
            return r
        try:
            L.recover_meta(self.root)
        except OSError as exc:
            r.error(L.META, f"an interrupted metadata commit cannot be finished: {exc}")
            return r
        info = self._json(L.INFO)
        if info is None:
            return r
        try:
            parsed = parse_info(info, need_version=L.CODEBASE_VERSION)
        except SchemaError as exc:
            r.error(exc.file, exc.detail, key=exc.key)
            return r
        self.info = parsed.raw
        self.fps = parsed.fps
        self.features: dict[str, Any] = parsed.features
        self.layout = L.DatasetLayout(
            self.root, parsed.chunks_size, parsed.data_path, parsed.video_path or L.VIDEO_PATH
        )
        self.video_keys = [k for k, f in self.features.items() if f.get("dtype") == "video"]
        for key in L.INDEX_COLUMNS:
            if key not in self.features:
                r.error(L.INFO, "feature is missing", key=key)
        episodes = []
        for n, row in enumerate(self._json(L.EPISODES) or [], 1):
            try:
                episodes.append(parse_episode(row, n))
            except SchemaError as exc:
                r.error(exc.file, exc.detail, key=exc.key)
        tasks_rows = self._json(L.TASKS) or []
        self.tasks = {}
        for n, row in enumerate(tasks_rows, 1):
            try:
                index, task = parse_task(row, n)
            except SchemaError as exc:
                r.error(exc.file, exc.detail, key=exc.key)
                continue
            self.tasks[index] = task
        self._guard(L.MODALITY, self._check_modality)
        self._guard(L.INFO, self._check_totals, self.info, episodes)
        stats = self._guard(L.EPISODES_STATS, self._check_stats, episodes) or {}
        items = progress(episodes) if progress else episodes
        offset = 0
        for ep in items:
            try:
                offset = self._check_episode(ep, offset, stats)
            except Exception as exc:  # noqa: BLE001 - report it, keep checking the rest
                r.error(L.EPISODES, f"could not be checked: {exc}", ep.get("episode_index"))
                # the unreadable file still holds its episode's frames: later episodes'
                # global 'index' continues after its length in meta/episodes.jsonl
                length = ep.get("length")
                if isinstance(length, int) and length > 0:
                    offset += length
        self._guard("data", self._check_orphans, episodes)
        return r

    def _guard(self, file: str, check: Callable[..., Any], *args: Any) -> Any:
        """Run one check; a value of a type no check expected is reported, not raised."""
        try:
            return check(*args)
        except Exception as exc:  # noqa: BLE001 - hostile files must not crash validate
            self.r.error(file, f"could not be checked: {type(exc).__name__}: {exc}")
            return None

    def _check_totals(self, info: dict[str, Any], episodes: list[dict[str, Any]]) -> None:
        r = self.r
        indices = [e.get("episode_index") for e in episodes]
        if indices != list(range(len(episodes))):
            r.error(
                L.EPISODES, f"episode_index must run 0..{len(episodes) - 1}, got {indices[:10]}"
            )
        for e in episodes:
            for key in ("episode_index", "tasks", "length"):
                if key not in e:
                    r.error(L.EPISODES, "row is missing this key", e.get("episode_index"), key)
            for t in e.get("tasks", []):
                if t not in self.tasks.values():
                    r.error(L.EPISODES, f"task {t!r} is not in {L.TASKS}", e.get("episode_index"))
        n = len(episodes)
        frames = sum(int(e.get("length", 0)) for e in episodes)
        expect = {
            "total_episodes": n,
            "total_frames": frames,
            "total_tasks": len(self.tasks),
            "total_videos": n * len(self.video_keys),
        }
        for key, value in expect.items():
            if key in info and int(info[key]) != value:
                r.error(L.INFO, f"is {info[key]} but the dataset has {value}", key=key)
        self.r.episodes, self.r.frames = n, frames

    def _check_modality(self) -> None:
        r = self.r
        doc = self._json(L.MODALITY)
        self.modality = None
        if doc is None:
            return
        if not isinstance(doc, dict) or not all(
            isinstance(doc.get(s) or {}, dict)
            and all(isinstance(e, dict) for e in (doc.get(s) or {}).values())
            for s in ("state", "action", "video", "annotation")
        ):
            r.error(L.MODALITY, "must map state/action/video/annotation to objects of objects")
            return
        self.modality = doc
        for section in ("state", "action", "video"):
            if section not in doc:
                r.error(L.MODALITY, "section is missing", key=section)
        for section in ("state", "action"):
            for key, entry in (doc.get(section) or {}).items():
                name = f"{section}.{key}"
                column = entry.get("original_key", DEFAULT_COLUMN[section])
                feat = self.features.get(column)
                if feat is None:
                    r.error(
                        L.MODALITY, f"reads column '{column}', which is not a feature", key=name
                    )
                    continue
                width = int(np.prod(feat.get("shape", [1])))
                try:
                    start, end = int(entry["start"]), int(entry["end"])
                except (KeyError, TypeError, ValueError):
                    r.error(L.MODALITY, "needs integer start and end", key=name)
                    continue
                if not 0 <= start < end:
                    r.error(L.MODALITY, f"slice [{start}:{end}] is empty or negative", key=name)
                elif end > width:
                    r.error(
                        L.MODALITY,
                        f"slice [{start}:{end}] runs past the {width} values of '{column}'",
                        key=name,
                    )
        for cam, entry in (doc.get("video") or {}).items():
            column = entry.get("original_key", f"observation.images.{cam}")
            if self.features.get(column, {}).get("dtype") != "video":
                r.error(
                    L.MODALITY,
                    f"reads '{column}', which is not a video feature",
                    key=f"video.{cam}",
                )
        for key, entry in (doc.get("annotation") or {}).items():
            column = entry.get("original_key", f"annotation.{key}")
            if column not in self.features:
                r.error(
                    L.MODALITY,
                    f"reads column '{column}', which is not a feature",
                    key=f"annotation.{key}",
                )
        if self.spec is not None:
            self._check_spec(doc)

    def _check_spec(self, doc: dict[str, Any]) -> None:
        from groot_sdk.modality import lerobot_features, modality_json

        r, spec = self.r, self.spec
        assert spec is not None
        want = modality_json(spec)
        for section in ("state", "action", "video"):
            have_keys, want_keys = list(doc.get(section, {})), list(want[section])
            if have_keys != want_keys:
                r.error(
                    L.MODALITY,
                    f"keys {have_keys} differ from {spec.name}'s {want_keys}",
                    key=section,
                )
                continue
            for key in want_keys:
                a, b = doc[section][key], want[section][key]
                fields = ("start", "end") if section != "video" else ("original_key",)
                for fld in fields:
                    if a.get(fld) != b.get(fld):
                        r.error(
                            L.MODALITY,
                            f"{fld} is {a.get(fld)}, {spec.name} has {b.get(fld)}",
                            key=f"{section}.{key}",
                        )
        feats = lerobot_features(spec)
        for key in ("observation.state", "action", *(c.original_key for c in spec.cameras)):
            have = self.features.get(key)
            if have is None:
                r.error(L.INFO, f"feature is missing ({spec.name} has it)", key=key)
            elif list(have.get("shape", [])) != feats[key]["shape"]:
                r.error(
                    L.INFO,
                    f"shape {have.get('shape')} differs from {spec.name}'s {feats[key]['shape']}",
                    key=key,
                )
            elif feats[key].get("names") and have.get("names") not in (None, feats[key]["names"]):
                r.warn(L.INFO, f"names differ from {spec.name}'s joint names", key=key)

    def _check_stats(self, episodes: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        r = self.r
        rows = self._json(L.EPISODES_STATS, required=False)
        if rows is None:
            if not (self.root / L.STATS).exists():
                r.error(L.EPISODES_STATS, "is missing (and there is no meta/stats.json either)")
            else:
                r.warn(L.EPISODES_STATS, "is missing; only meta/stats.json (LeRobot v2.0 style)")
            return {}
        self._check_stats_json()
        stats = {int(row.get("episode_index", -1)): row.get("stats", {}) for row in rows}
        numeric = [k for k, f in self.features.items() if f.get("dtype") not in ("video", "string")]
        for e in episodes:
            i = int(e.get("episode_index", -1))
            st = stats.get(i)
            if st is None:
                r.error(L.EPISODES_STATS, "has no stats for this episode", i)
                continue
            for key in numeric + self.video_keys:
                if key not in st:
                    r.error(L.EPISODES_STATS, "has no stats for this feature", i, key)
                    continue
                missing = [s for s in STAT_KEYS if s not in st[key]]
                if missing:
                    r.error(L.EPISODES_STATS, f"lacks {missing}", i, key)
                    continue
                if key in numeric:
                    width = int(np.prod(self.features[key].get("shape", [1])))
                    if np.asarray(st[key]["mean"]).size != width:
                        r.error(
                            L.EPISODES_STATS,
                            f"mean has {np.asarray(st[key]['mean']).size}"
                            f" values, the feature {width}",
                            i,
                            key,
                        )
        return stats

    def _check_stats_json(self) -> None:
        """GR00T uses ``meta/stats.json`` as is when present: it must fit the features.

        Isaac-GR00T N1.5 (``gr00t/data/dataset.py``, 4af2b622) slices *every* statistic listed
        for a column by the modality.json ``start:end`` range, so each needs the feature's
        width (a ``"count": [N]`` there raises IndexError in its loader)."""
        doc = self._json(L.STATS, required=False)
        if doc is None:
            return
        if not isinstance(doc, dict):
            self.r.error(L.STATS, "must be a JSON object of features")
            return
        columns = {"observation.state", "action"}
        for section in ("state", "action"):
            for entry in ((self.modality or {}).get(section) or {}).values():
                columns.add(entry.get("original_key") or DEFAULT_COLUMN[section])
        for key in sorted(columns):
            feat = self.features.get(key)
            if feat is None:
                continue
            entry = doc.get(key)
            if not isinstance(entry, dict):
                self.r.error(L.STATS, "has no entry for this feature", key=key)
                continue
            missing = [s for s in GROOT_STATS if s not in entry]
            if missing:
                self.r.error(L.STATS, f"lacks {missing} (GR00T normalises with them)", key=key)
                continue
            width = int(np.prod(feat.get("shape", [1])))
            for s in entry:
                n = np.asarray(entry[s]).size
                if n != width:
                    fix = "; rewrite it with `groot dataset stats --write`"
                    self.r.error(
                        L.STATS,
                        f"'{s}' has {n} values, the feature {width} (GR00T N1.5 slices every "
                        f"statistic by the modality.json ranges){fix}",
                        key=key,
                    )
                    break

    # -- episodes ---------------------------------------------------------------------------
    def _check_episode(self, ep: dict[str, Any], offset: int, stats: dict[int, Any]) -> int:
        r = self.r
        i = int(ep["episode_index"])
        length = int(ep.get("length", -1))
        path = self.layout.data_file(i)
        rel = self.layout.rel(path)
        if not path.exists():
            r.error(rel, "data file is missing", i)
            return offset + max(length, 0)
        cols = read_columns(path)
        expected = [k for k, f in self.features.items() if f.get("dtype") != "video"]
        for key in expected:
            if key not in cols:
                similar = [
                    c
                    for c in cols
                    if c.startswith(key + ".")
                    or key.startswith(c + ".")
                    or c.split(".")[-1] == key.split(".")[-1]
                ]
                hint = f"; found {similar} instead" if similar else ""
                r.error(rel, f"column is missing{hint} (GR00T raises KeyError: '{key}')", i, key)
        for key in cols:
            if key not in self.features:
                r.error(rel, "column is not declared in meta/info.json features", i, key)
        rows = len(next(iter(cols.values()))) if cols else 0
        if rows != length:
            r.error(rel, f"has {rows} rows but meta/episodes.jsonl says length {length}", i)
        for key in expected:
            if key not in cols:
                continue
            values = cols[key]
            shape = [int(s) for s in self.features[key].get("shape", [1])]
            per_row = list(values.shape[1:]) or [1]
            if per_row != shape:
                r.error(rel, f"rows have shape {per_row}, meta/info.json says {shape}", i, key)
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                r.error(rel, "has NaN or infinite values", i, key)
        if "episode_index" in cols and (cols["episode_index"] != i).any():
            r.error(rel, f"has rows of another episode (expected {i})", i, "episode_index")
        if "frame_index" in cols and (cols["frame_index"] != np.arange(rows)).any():
            r.error(rel, "must run 0..length-1", i, "frame_index")
        if "index" in cols and (cols["index"] != np.arange(offset, offset + rows)).any():
            r.error(rel, f"must run {offset}..{offset + rows - 1} (global frame index)", i, "index")
        if "timestamp" in cols and rows:
            self._check_timestamps(cols["timestamp"].astype(np.float64), rel, i)
        if "task_index" in cols:
            for t in np.unique(cols["task_index"]):
                if int(t) not in self.tasks:
                    r.error(rel, f"task index {int(t)} has no task in {L.TASKS}", i, "task_index")
        if self.modality is not None:
            for section in ("state", "action"):
                for key, entry in (self.modality.get(section) or {}).items():
                    column = entry.get("original_key", DEFAULT_COLUMN[section])
                    if (
                        column in cols
                        and cols[column].ndim == 2
                        and int(entry.get("end", 0)) > cols[column].shape[1]
                    ):
                        r.error(
                            rel,
                            f"modality {section}.{key} ends at {entry['end']} but "
                            f"the column has {cols[column].shape[1]} values",
                            i,
                            column,
                        )
        if self.check_videos:
            for key in self.video_keys:
                self._check_video(i, key, rows)
        return offset + rows

    def _check_timestamps(self, ts: np.ndarray, rel: str, i: int) -> None:
        r = self.r
        dt = 1.0 / self.fps
        if abs(ts[0]) > TOLERANCE_S:
            r.warn(rel, f"starts at {ts[0]:.4f}s, not 0", i, "timestamp")
        diffs = np.diff(ts)
        if (diffs <= 0).any():
            k = int(np.argmax(diffs <= 0)) + 1
            r.error(
                rel,
                f"is not increasing at frame {k} ({ts[k - 1]:.4f} -> {ts[k]:.4f})",
                i,
                "timestamp",
            )
            return
        off = np.abs(diffs - dt) > TOLERANCE_S
        if off.any():
            k = int(np.argmax(off)) + 1
            r.error(
                rel,
                f"step at frame {k} is {diffs[k - 1]:.5f}s; at {self.fps:g} fps it must "
                f"be {dt:.5f}s (video frames are looked up by timestamp)",
                i,
                "timestamp",
            )

    def _check_video(self, i: int, key: str, rows: int) -> None:
        r = self.r
        path = self.layout.video_file(i, key)
        rel = self.layout.rel(path)
        if not path.exists():
            r.error(rel, "video is missing", i, key)
            return
        try:
            v = probe(path)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is the finding
            r.error(rel, f"cannot be read: {exc}", i, key)
            return
        if v.frames != rows:
            short = "short" if v.frames < rows else "extra"
            r.error(
                rel,
                f"has {v.frames} frames but the episode has {rows} rows "
                f"({abs(rows - v.frames)} {short})",
                i,
                key,
            )
        shape = self.features[key].get("shape", [])
        if len(shape) == 3 and (v.height, v.width) != (int(shape[0]), int(shape[1])):
            r.error(
                rel, f"is {v.width}x{v.height}, meta/info.json says {shape[1]}x{shape[0]}", i, key
            )
        if v.frames and abs(v.first_time) > 0.5 / self.fps:
            r.error(rel, f"first frame is at {v.first_time:.4f}s, timestamps start at 0", i, key)
        if v.frames > 1 and abs(v.fps - self.fps) > 0.01 * self.fps:
            r.error(rel, f"is {v.fps:g} fps, the dataset {self.fps:g} fps", i, key)

    def _check_orphans(self, episodes: list[dict[str, Any]]) -> None:
        listed = {
            self.layout.rel(self.layout.data_file(int(e["episode_index"])))
            for e in episodes
            if "episode_index" in e
        }
        for path in sorted(self.root.glob("data/*/*.parquet")):
            rel = self.layout.rel(path)
            if rel not in listed:
                self.r.warn(
                    rel, f"is not listed in {L.EPISODES} (left from an interrupted recording?)"
                )
        if (self.root / L.INCOMPLETE).exists():
            self.r.warn(L.INCOMPLETE, "holds an unfinished episode (ignored by loaders)")
