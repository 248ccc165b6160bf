"""A crash-safe LeRobot v2.1 dataset writer.

An episode is written under ``.incomplete/`` first (parquet + one mp4 per camera), then its
files are renamed into ``data/`` and ``videos/``, and only then is the metadata committed: the
whole ``meta/`` folder is replaced in one step (:func:`~groot_sdk.data.layout.commit_meta`),
so no reader ever sees ``episodes.jsonl`` and ``info.json`` of different commits. A process
killed at any point leaves every earlier episode valid. The writer never deletes a file it did
not create in this run: reopening moves unfinished, stray and damaged episodes' files into
``quarantine/<stamp>/`` with a ``report.json``.
"""

from __future__ import annotations

import glob
import json
import logging
import shutil
import string
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.data import layout as L
from groot_sdk.data.layout import DatasetError
from groot_sdk.data.schema import check_int, parse_episode, parse_info, parse_task
from groot_sdk.data.stats import IMAGE_SAMPLES, aggregate, episode_stats, numeric_stats, to_json
from groot_sdk.data.video import VideoEncoder
from groot_sdk.errors import require
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)


#: up to this many frames, ``close`` recomputes ``meta/stats.json`` exactly from the parquet files
EXACT_STATS_MAX_FRAMES = 2_000_000


def _pa():
    return require("pyarrow", "data", "writing parquet")


def video_keys(features: Mapping[str, Any]) -> list[str]:
    return [k for k, f in features.items() if f.get("dtype") == "video"]


def spec_features(spec: EmbodimentSpec, fps: float) -> dict[str, Any]:
    """LeRobot features of ``spec`` with the video fps set to the recording rate."""
    from groot_sdk.modality import lerobot_features

    feats = lerobot_features(spec)
    for key in video_keys(feats):
        feats[key]["info"]["video.fps"] = float(fps)
    return feats


class PendingEpisode:
    """An episode being written under ``.incomplete/``; invisible to readers until committed."""

    def __init__(self, writer: DatasetWriter, index: int) -> None:
        self.writer = writer
        self.index = index
        self.dir = writer.root / L.INCOMPLETE / f"episode_{index:06d}"
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self._encoders: dict[str, VideoEncoder] = {}
        self._samples: dict[str, list[np.ndarray]] = {}
        self._stride: dict[str, int] = {}
        #: videos taken over already encoded (key -> frames, their stats or None)
        self._adopted: dict[str, tuple[int, dict[str, Any] | None]] = {}

    def add_frame(self, key: str, image: np.ndarray) -> None:
        """Encode the next frame of video feature ``key`` (uint8 (H, W, 3) RGB)."""
        enc = self._encoders.get(key)
        if enc is None:
            feat = self.writer.features.get(key)
            if feat is None or feat.get("dtype") != "video":
                raise DatasetError(f"episode {self.index}: '{key}' is not a video feature")
            h, w = int(feat["shape"][0]), int(feat["shape"][1])
            enc = VideoEncoder(
                self.dir / f"{key}.mp4", w, h, self.writer.fps, self.writer.video_options
            )
            self._encoders[key] = enc
            self._samples[key], self._stride[key] = [], 1
        n = enc.frames
        enc.add(image)
        # keep an evenly spaced subsample (at most 2 * IMAGE_SAMPLES) for image statistics
        if n % self._stride[key] == 0:
            samples = self._samples[key]
            samples.append(image[::4, ::4].copy())
            if len(samples) >= 2 * IMAGE_SAMPLES:
                self._samples[key] = samples[::2]
                self._stride[key] *= 2

    def adopt_video(
        self, key: str, path: Path, frames: int, stats: Mapping[str, Any] | None = None
    ) -> None:
        """Use an already encoded mp4 of ``frames`` frames for ``key`` (copied, not re-encoded:
        conversions, merges and splits keep every frame bit for bit). ``stats``: its image
        statistics (LeRobot's per-channel form); None samples frames from the file."""
        feat = self.writer.features.get(key)
        if feat is None or feat.get("dtype") != "video":
            raise DatasetError(f"episode {self.index}: '{key}' is not a video feature")
        if key in self._encoders or key in self._adopted:
            raise DatasetError(f"episode {self.index}: video '{key}' was already given")
        shutil.copyfile(path, self.dir / f"{key}.mp4")
        self._adopted[key] = (int(frames), dict(stats) if stats is not None else None)

    def frames(self, key: str) -> int:
        if key in self._adopted:
            return self._adopted[key][0]
        enc = self._encoders.get(key)
        return 0 if enc is None else enc.frames

    def adopted_stats(self, length: int) -> dict[str, dict[str, np.ndarray]]:
        """Image statistics of the adopted videos (given, or from sampled decoded frames)."""
        from groot_sdk.data.stats import image_stats, sample_indices
        from groot_sdk.data.video import iter_frames

        out = {}
        for key, (_, given) in self._adopted.items():
            if given is not None:
                out[key] = {s: np.asarray(v) for s, v in given.items()}
                continue
            keep = set(sample_indices(length))
            samples = [
                img[::4, ::4]
                for k, (_, img) in enumerate(iter_frames(self.dir / f"{key}.mp4"))
                if k in keep
            ]
            if samples:
                out[key] = image_stats(samples, length)
        return out

    def close_videos(self) -> None:
        for enc in self._encoders.values():
            enc.close()

    def discard(self) -> None:
        for enc in self._encoders.values():
            enc.abort()
        shutil.rmtree(self.dir, ignore_errors=True)


class DatasetWriter:
    """Writes (or appends to) a LeRobot v2.1 dataset with GR00T's ``meta/modality.json``."""

    def __init__(
        self,
        root: str | Path,
        *,
        features: Mapping[str, Any],
        fps: float,
        robot_type: str = "",
        modality: Mapping[str, Any] | None = None,
        chunks_size: int = L.DEFAULT_CHUNKS_SIZE,
        video_options: Mapping[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.features = {k: dict(v) for k, v in features.items()}
        for key in L.INDEX_COLUMNS:
            if key not in self.features:
                raise DatasetError(f"features lack the index column '{key}'")
        self.fps = float(fps)
        if not self.fps > 0:
            raise DatasetError(f"fps must be positive, got {fps}")
        self.robot_type = robot_type
        self.modality = dict(modality) if modality is not None else None
        self.video_options = video_options
        self.video_keys = video_keys(self.features)
        self.layout = L.DatasetLayout(self.root, chunks_size)
        self.episodes: list[dict[str, Any]] = []
        self.episodes_stats: list[dict[str, Any]] = []
        self.tasks: dict[str, int] = {}
        self.total_frames = 0
        self._pending: PendingEpisode | None = None
        self._q: L.Quarantine | None = None
        self._new_modality = self.modality is not None
        L.recover_meta(self.root)
        if self.layout.meta(L.INFO).exists():
            self._resume()
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            self._write_meta()

    @classmethod
    def for_spec(
        cls, root: str | Path, spec: EmbodimentSpec, fps: float | None = None, **kw: Any
    ) -> DatasetWriter:
        from groot_sdk.modality import modality_json

        fps = float(fps or spec.rates.policy_hz)
        return cls(
            root,
            features=spec_features(spec, fps),
            fps=fps,
            robot_type=spec.robot_type or spec.name,
            modality=modality_json(spec),
            **kw,
        )

    # -- reopening --------------------------------------------------------------------------
    def _resume(self) -> None:
        """Reopen for appending. Never deletes a file this run did not create: a damaged
        episode (a file missing, a parquet that does not read back its length, no stats row)
        and files no metadata lists are moved into ``quarantine/<stamp>/`` with a report, and
        the intact episodes after a damaged one are renumbered to keep indices contiguous."""
        L.recover_meta(self.root)
        where = f"{self.root}: cannot append"
        try:
            info = parse_info(
                L.read_json(self.layout.meta(L.INFO)), need_version=L.CODEBASE_VERSION
            )
        except (ValueError, OSError) as exc:
            raise DatasetError(f"{where}: {exc}") from None
        if abs(info.fps - self.fps) > 1e-6:
            raise DatasetError(f"{where}: it is recorded at {info.fps:g} fps, not {self.fps:g}")
        theirs = info.features
        for key in sorted(set(theirs) | set(self.features)):
            a, b = theirs.get(key), self.features.get(key)
            if a is None or b is None:
                side = "dataset" if a is None else "recording"
                raise DatasetError(f"{where}: feature '{key}' is missing from the {side}")
            if a.get("dtype") != b.get("dtype") or list(a.get("shape", [])) != list(b["shape"]):
                raise DatasetError(
                    f"{where}: feature '{key}' is {a.get('dtype')} {a.get('shape')} in the "
                    f"dataset but {b.get('dtype')} {b['shape']} in this recording"
                )
        self.layout = L.DatasetLayout(
            self.root, info.chunks_size, info.data_path, info.video_path or L.VIDEO_PATH
        )
        mod_path = self.layout.meta(L.MODALITY)
        self._new_modality = False
        if self.modality is not None and mod_path.exists():
            try:
                same = L.read_json(mod_path) == self.modality
            except ValueError as exc:
                raise DatasetError(f"{where}: {exc}") from None
            if not same:
                raise DatasetError(f"{where}: meta/modality.json differs from this embodiment's")
        elif self.modality is not None:
            self._new_modality = True
        self.robot_type = info.robot_type or self.robot_type
        try:
            self.tasks = {
                t: i
                for i, t in (parse_task(r, n) for n, r in enumerate(self._read_rows(L.TASKS), 1))
            }
            plan_path = self.root / L.REPAIR_PLAN
            if plan_path.exists():  # a repair cut short: finish it before looking further
                self._apply_plan(L.read_json(plan_path))
            episodes = [parse_episode(r, n) for n, r in enumerate(self._read_rows(L.EPISODES), 1)]
            stats = {
                check_int(L.EPISODES_STATS, f"line {n} episode_index", r.get("episode_index")): r
                for n, r in enumerate(self._read_rows(L.EPISODES_STATS), 1)
            }
        except ValueError as exc:  # SchemaError and unreadable JSON lines
            raise DatasetError(f"{where}: {exc}") from None
        self._repair(episodes, stats)

    def _read_rows(self, name: str) -> list[dict[str, Any]]:
        path = self.layout.meta(name)
        return L.read_jsonl(path) if path.exists() else []

    def _quarantine(self) -> L.Quarantine:
        if self._q is None:
            self._q = L.Quarantine(self.root)
        return self._q

    def _damage(self, ep: dict[str, Any], stats: dict[int, Any]) -> list[str]:
        """Why episode ``ep`` cannot be kept as it is ([] when intact)."""
        i, length = int(ep["episode_index"]), int(ep["length"])
        reasons = []
        data = self.layout.data_file(i)
        if not data.is_file():
            reasons.append(f"{self.layout.rel(data)} is missing")
        else:
            rows = parquet_rows(data)
            if rows is None:
                reasons.append(f"{self.layout.rel(data)} cannot be read as parquet")
            elif rows != length:
                reasons.append(f"{self.layout.rel(data)} has {rows} rows, not {length}")
        for key in self.video_keys:
            video = self.layout.video_file(i, key)
            if not video.is_file() or video.stat().st_size == 0:
                reasons.append(f"{self.layout.rel(video)} is missing or empty")
        if i not in stats:
            reasons.append(f"{L.EPISODES_STATS} has no row for it")
        return reasons

    def _episode_files(self, i: int) -> list[Path]:
        return [self.layout.data_file(i)] + [self.layout.video_file(i, k) for k in self.video_keys]

    def _repair(self, episodes: list[dict[str, Any]], stats: dict[int, Any]) -> None:
        q = self._quarantine()
        # unfinished episodes of an earlier run
        incomplete = self.root / L.INCOMPLETE
        if incomplete.is_dir():
            for p in sorted(incomplete.iterdir()):
                q.move(p, "an unfinished episode of an interrupted recording")
            incomplete.rmdir()
        intact: list[dict[str, Any]] = []
        damaged: list[tuple[dict[str, Any], list[str]]] = []
        seen: set[int] = set()
        for ep in sorted(episodes, key=lambda e: int(e["episode_index"])):
            i = int(ep["episode_index"])
            if i in seen:
                damaged.append((ep, ["a second meta/episodes.jsonl row for this index"]))
                continue
            seen.add(i)
            reasons = self._damage(ep, stats)
            (damaged.append((ep, reasons)) if reasons else intact.append(ep))
        # files no metadata lists: a commit cut short between the rename and the metadata
        listed = {str(p) for i in seen for p in self._episode_files(i)}
        for template in [self.layout.data_path] + (
            [self.layout.video_path] if self.video_keys else []
        ):
            for path in sorted(self.root.glob(_template_glob(template))):
                if path.is_file() and str(path) not in listed:
                    q.move(path, f"not listed in {L.EPISODES} (left by an interrupted recording?)")
        renumber = any(int(e["episode_index"]) != j for j, e in enumerate(intact))
        if damaged or renumber:
            plan = self._plan(intact, damaged, stats)
            L.atomic_write_json(self.root / L.REPAIR_PLAN, plan)
            self._apply_plan(plan)
        else:
            self.episodes = intact
            self.episodes_stats = [stats[int(e["episode_index"])] for e in intact]
            self.total_frames = sum(int(e["length"]) for e in intact)
            self._write_meta()
        report = q.write_report()
        if report is not None:
            log.warning(
                "%s: moved %d damaged or stray files aside; see %s",
                self.root,
                len(q.items),
                self.layout.rel(report),
            )

    def _plan(self, intact, damaged, stats) -> dict[str, Any]:
        """The write-ahead plan of a repair: idempotent steps, then the metadata to commit."""
        steps: list[dict[str, Any]] = []
        for ep, reasons in damaged:
            i = int(ep["episode_index"])
            why = f"episode {i} is damaged: " + "; ".join(reasons)
            if reasons and reasons[0].startswith("a second"):
                continue  # its files belong to the first row
            for p in self._episode_files(i):
                steps.append(
                    {"op": "quarantine", "path": self.layout.rel(p), "reason": why, "episode": i}
                )
        rows, stat_rows, offset = [], [], 0
        for j, ep in enumerate(intact):
            i, length = int(ep["episode_index"]), int(ep["length"])
            if i != j:
                steps.append({
                    "op": "rewrite", "episode": j, "offset": offset,
                    "src": self.layout.rel(self.layout.data_file(i)),
                    "dst": self.layout.rel(self.layout.data_file(j)),
                })  # fmt: skip
                for key in self.video_keys:
                    steps.append({
                        "op": "move", "src": self.layout.rel(self.layout.video_file(i, key)),
                        "dst": self.layout.rel(self.layout.video_file(j, key)),
                    })  # fmt: skip
                steps.append({
                    "op": "quarantine", "path": self.layout.rel(self.layout.data_file(i)),
                    "episode": i, "reason": f"renumbered to episode {j}; its rewritten copy is "
                    f"{self.layout.rel(self.layout.data_file(j))}",
                })  # fmt: skip
            st = json.loads(json.dumps(stats[i]))
            st["episode_index"] = j
            if i != j:
                st["stats"]["episode_index"] = to_json({"x": numeric_stats(np.full(length, j))})[
                    "x"
                ]
                st["stats"]["index"] = to_json(
                    {"x": numeric_stats(np.arange(offset, offset + length))}
                )["x"]
            rows.append({**ep, "episode_index": j})
            stat_rows.append(st)
            offset += length
        return {
            "stamp": self._quarantine().stamp,
            "steps": steps,
            "episodes": rows,
            "episodes_stats": stat_rows,
            "damaged": [{"row": ep, "reasons": r} for ep, r in damaged],
        }

    def _apply_plan(self, plan: Any) -> None:
        """Run (or finish) a repair plan. Progress is saved after each step, so a crash
        redoes at most the step it interrupted, and every step is safe to redo."""
        try:
            steps, rows, stat_rows = plan["steps"], plan["episodes"], plan["episodes_stats"]
            if self._q is None:
                self._q = L.Quarantine(self.root, str(plan["stamp"]))
            done = int(plan.get("done", 0))
            for k, step in enumerate(steps):
                if k < done:  # finished before a crash; only the step after may be redone
                    continue
                op = step["op"]
                if op == "quarantine":
                    path = L.inside(self.root, self.root / step["path"], "a repair step")
                    self._q.move(path, str(step["reason"]), step.get("episode"))
                elif op == "rewrite":
                    src = L.inside(self.root, self.root / step["src"], "a repair step")
                    dst = L.inside(self.root, self.root / step["dst"], "a repair step")
                    if not dst.exists() and src.exists():
                        tmp = self.root / L.INCOMPLETE / "renumber" / dst.name
                        tmp.parent.mkdir(parents=True, exist_ok=True)
                        renumber_parquet(src, tmp, int(step["episode"]), int(step["offset"]))
                        L.move_into_place(tmp, dst)
                elif op == "move":
                    src = L.inside(self.root, self.root / step["src"], "a repair step")
                    dst = L.inside(self.root, self.root / step["dst"], "a repair step")
                    if src.exists() and not dst.exists():
                        L.move_into_place(src, dst)
                else:
                    raise ValueError(f"unknown step {op!r}")
                L.atomic_write_json(self.root / L.REPAIR_PLAN, {**plan, "done": k + 1})
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(
                f"{self.root / L.REPAIR_PLAN}: unusable repair plan ({exc})"
            ) from None
        shutil.rmtree(self.root / L.INCOMPLETE / "renumber", ignore_errors=True)
        self.episodes = [dict(r) for r in rows]
        self.episodes_stats = [dict(r) for r in stat_rows]
        self.total_frames = sum(int(e["length"]) for e in self.episodes)
        for d in plan.get("damaged", []):
            self._q.items.append({"damaged_episode": d.get("row"), "reasons": d.get("reasons")})
        self._write_meta()
        self._q.write_report()
        self._q.move(self.root / L.REPAIR_PLAN, "the finished repair plan")
        self._q.write_report()

    # -- writing ----------------------------------------------------------------------------
    @property
    def num_episodes(self) -> int:
        return len(self.episodes)

    def new_episode(self) -> PendingEpisode:
        if self._pending is not None:
            raise DatasetError(f"episode {self._pending.index} is still being written")
        self._pending = PendingEpisode(self, self.num_episodes)
        return self._pending

    def discard(self, pending: PendingEpisode) -> None:
        pending.discard()
        if self._pending is pending:
            self._pending = None

    def commit(
        self,
        pending: PendingEpisode,
        columns: Mapping[str, np.ndarray],
        tasks: str | Sequence[str],
        *,
        timestamps: np.ndarray | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Make ``pending`` part of the dataset; returns its ``episodes.jsonl`` row.

        ``columns``: every non-index, non-video feature as a (T, ...) array. ``tasks``: one
        task for the episode or one per frame. ``timestamps`` default to ``frame_index / fps``
        (the times the video frames are encoded at).
        """
        if pending is not self._pending:
            raise DatasetError(f"episode {pending.index} is not the one being written")
        try:
            row = self._commit(pending, columns, tasks, timestamps, extra or {})
        except BaseException:
            self.discard(pending)
            raise
        self._pending = None
        return row

    def _commit(self, pending, columns, tasks, timestamps, extra) -> dict[str, Any]:
        ep = pending.index
        where = f"episode {ep}"
        missing = [
            k
            for k, f in self.features.items()
            if f["dtype"] != "video" and k not in L.INDEX_COLUMNS and k not in columns
        ]
        if missing:
            raise DatasetError(f"{where}: no values for features {missing}")
        arrays = {k: np.asarray(v) for k, v in columns.items()}
        lengths = {k: len(v) for k, v in arrays.items()}
        length = next(iter(lengths.values()), 0)
        if length == 0:
            raise DatasetError(f"{where}: has no frames")
        if len(set(lengths.values())) != 1:
            raise DatasetError(f"{where}: columns have different lengths {lengths}")
        for key in self.video_keys:
            if pending.frames(key) != length:
                raise DatasetError(
                    f"{where}: video '{key}' has {pending.frames(key)} frames for {length} rows"
                )
        task_list = [tasks] * length if isinstance(tasks, str) else list(tasks)
        if len(task_list) != length:
            raise DatasetError(f"{where}: {len(task_list)} tasks for {length} frames")
        new_tasks = dict(self.tasks)
        for t in task_list:
            new_tasks.setdefault(t, len(new_tasks))
        if timestamps is None:
            ts = (np.arange(length) / self.fps).astype(np.float32)
        else:
            ts = np.asarray(timestamps, np.float32)
        index_cols: dict[str, np.ndarray] = {
            "timestamp": ts,
            "frame_index": np.arange(length, dtype=np.int64),
            "episode_index": np.full(length, ep, np.int64),
            "index": np.arange(self.total_frames, self.total_frames + length, dtype=np.int64),
            "task_index": np.array([new_tasks[t] for t in task_list], np.int64),
        }
        all_cols: dict[str, np.ndarray] = {**arrays, **index_cols}
        tmp_parquet = pending.dir / "data.parquet"
        write_parquet(tmp_parquet, all_cols, self.features, where)
        pending.close_videos()
        numeric = {k: v for k, v in all_cols.items() if self.features[k]["dtype"] != "string"}
        stats = episode_stats(numeric, pending._samples)
        stats.update(pending.adopted_stats(length))
        # files into place: videos, then data; the metadata below is the commit point. A file
        # already at a destination is not ours to overwrite: it goes to the quarantine.
        targets = [
            (pending.dir / f"{k}.mp4", self.layout.video_file(ep, k)) for k in self.video_keys
        ]
        targets.append((tmp_parquet, self.layout.data_file(ep)))
        for _, dst in targets:
            if dst.exists() and self._quarantine().move(dst, f"in the way of new episode {ep}"):
                self._quarantine().write_report()
        for src, dst in targets:
            L.move_into_place(src, dst)
        shutil.rmtree(pending.dir, ignore_errors=True)
        ep_tasks = list(dict.fromkeys(task_list))
        row = {"episode_index": ep, "tasks": ep_tasks, "length": length, **extra}
        self.tasks = new_tasks
        self.episodes.append(row)
        self.episodes_stats.append({"episode_index": ep, "stats": to_json(stats)})
        self.total_frames += length
        self._write_meta()
        return row

    def write_episode(
        self,
        columns: Mapping[str, np.ndarray],
        videos: Mapping[str, Iterable[np.ndarray]],
        tasks: str | Sequence[str],
        **kw: Any,
    ) -> dict[str, Any]:
        """Write a whole episode at once (converters): ``videos`` maps key -> its frames."""
        pending = self.new_episode()
        try:
            for key, frames in videos.items():
                for img in frames:
                    pending.add_frame(key, img)
        except BaseException:
            self.discard(pending)
            raise
        return self.commit(pending, columns, tasks, **kw)

    # -- metadata ---------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        n = self.num_episodes
        return {
            "codebase_version": L.CODEBASE_VERSION,
            "robot_type": self.robot_type,
            "total_episodes": n,
            "total_frames": self.total_frames,
            "total_tasks": len(self.tasks),
            "total_videos": n * len(self.video_keys),
            "total_chunks": (n + self.layout.chunks_size - 1) // self.layout.chunks_size,
            "chunks_size": self.layout.chunks_size,
            "fps": int(self.fps) if float(self.fps).is_integer() else self.fps,
            "splits": {"train": f"0:{n}"},
            "data_path": self.layout.data_path,
            "video_path": self.layout.video_path if self.video_keys else None,
            "features": self.features,
        }

    def _write_meta(self) -> None:
        """Commit the metadata: every file of ``meta/`` changes in one step."""
        tasks = sorted(self.tasks.items(), key=lambda x: x[1])
        files = {
            L.TASKS: L.jsonl_text({"task_index": i, "task": t} for t, i in tasks),
            L.EPISODES_STATS: L.jsonl_text(self.episodes_stats),
            L.EPISODES: L.jsonl_text(self.episodes),
            L.INFO: L.json_text(self.info()),
        }
        if self.episodes_stats:
            numeric = [
                {
                    k: v
                    for k, v in e["stats"].items()
                    if self.features.get(k, {}).get("dtype") not in ("video", None)
                }
                for e in self.episodes_stats
            ]
            files[L.STATS] = L.json_text(aggregate(numeric))
        if self._new_modality and self.modality is not None:
            files[L.MODALITY] = L.json_text(self.modality)
        L.commit_meta(self.root, files)
        self._new_modality = False

    def close(self) -> None:
        """Discard an unfinished episode; replace the per-commit approximate ``stats.json``
        quantiles with exact ones (what GR00T computes itself when the file is absent)."""
        if self._pending is not None:
            log.warning("%s: discarding unfinished episode %d", self.root, self._pending.index)
            self.discard(self._pending)
        shutil.rmtree(self.root / L.INCOMPLETE, ignore_errors=True)  # this run's own files
        if self.episodes and self.total_frames <= EXACT_STATS_MAX_FRAMES:
            from groot_sdk.data.stats import exact_feature_stats

            L.commit_meta(self.root, {L.STATS: L.json_text(exact_feature_stats(self.root))})


def _template_glob(template: str) -> str:
    """A path template as a glob: every ``{field}`` becomes ``*``."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(glob.escape(literal))
        if name is not None:
            parts.append("*")
    return "".join(parts)


# -- parquet ----------------------------------------------------------------------------------
def parquet_rows(path: Path) -> int | None:
    """Rows in a parquet file per its footer; None when it cannot be read (e.g. truncated)."""
    pq = require("pyarrow.parquet", "data", "reading parquet")
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # noqa: BLE001 - any failure to read the footer means damaged
        return None


def renumber_parquet(src: Path, dst: Path, episode: int, offset: int) -> None:
    """Copy an episode's parquet with new ``episode_index`` and global ``index`` columns."""
    pa = _pa()
    pq = require("pyarrow.parquet", "data", "writing parquet")
    table = pq.read_table(src)
    n = table.num_rows
    for name, values in (
        ("episode_index", np.full(n, episode, np.int64)),
        ("index", np.arange(offset, offset + n, dtype=np.int64)),
    ):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, table.schema.field(i), pa.array(values, pa.int64()))
    pq.write_table(table, dst)


_ARROW_TYPES = {
    "float32": "float32",
    "float64": "float64",
    "int64": "int64",
    "int32": "int32",
    "bool": "bool_",
    "string": "string",
}


def arrow_column(values: np.ndarray, feature: Mapping[str, Any], key: str, where: str):
    pa = _pa()
    dtype = feature["dtype"]
    if dtype not in _ARROW_TYPES:
        raise DatasetError(f"{where}: feature '{key}' has unsupported dtype '{dtype}'")
    atype = getattr(pa, _ARROW_TYPES[dtype])()
    shape = [int(s) for s in feature.get("shape", [1])]
    if dtype == "string":
        return pa.array([str(v) for v in values], atype)
    arr = np.asarray(values)
    if shape == [1]:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise DatasetError(f"{where}: '{key}' should be a scalar per frame, got {arr.shape}")
        return pa.array(arr.astype(np.dtype(dtype)), atype)
    if arr.ndim != 1 + len(shape) or list(arr.shape[1:]) != shape:
        raise DatasetError(
            f"{where}: '{key}' has shape {list(arr.shape[1:])} per frame, features say {shape}"
        )
    if dtype.startswith("float") and not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise DatasetError(f"{where}: '{key}' has a non-finite value at frame {bad}")
    flat = pa.array(arr.astype(np.dtype(dtype)).reshape(-1), atype)
    width = shape[-1]
    offsets = pa.array(np.arange(0, arr.size + 1, width, dtype=np.int32), pa.int32())
    col = pa.ListArray.from_arrays(offsets, flat)
    for dim in reversed(shape[:-1]):  # nested lists for (T, A, B) features
        offsets = pa.array(np.arange(0, len(col) + 1, dim, dtype=np.int32), pa.int32())
        col = pa.ListArray.from_arrays(offsets, col)
    return col


def write_parquet(
    path: Path, columns: Mapping[str, np.ndarray], features: Mapping[str, Any], where: str
) -> None:
    pa = _pa()
    pq = require("pyarrow.parquet", "data", "writing parquet")
    names = [k for k, f in features.items() if f["dtype"] != "video"]
    arrays = [arrow_column(columns[k], features[k], k, where) for k in names]
    pq.write_table(pa.table(arrays, names=names), path)
