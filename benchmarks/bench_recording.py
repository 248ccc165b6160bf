"""Recording throughput: how many times faster than real time LeRobotRecorder writes one
224x224 camera at 30 fps (goal >= 10x), and what an add_step costs the control loop.

Rows:
* ``loop 100 Hz``     a 100 Hz control loop (fixed numpy work per tick) with add_step every tick
  vs the same loop without recording: per-tick p99 of add_step, of the whole tick and of the
  wake-up lateness, and their ratio to the loop without recording (a worker thread that holds
  the GIL while encoding shows up as ticks stalled behind it)
* ``recorder``        the full path: add_step -> queue -> H.264 encode -> parquet -> commit
* ``recorder noise``  the same with random-noise frames (the encoder's worst case)
* ``recorder process`` the full path with the process worker (shared-memory ring)
* ``writer only``     the same dataset written synchronously (no queue, no worker thread)
* ``encode only``     the baseline measured in the same run: PyAV encoding alone, no recorder

Writes out/bench/recording.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from groot_sdk.data.recorder import LeRobotRecorder
from groot_sdk.data.video import VideoEncoder
from groot_sdk.spec import CameraSpec, ControlRates, EmbodimentSpec, Group, Joint

FPS = 30.0
SIZE = 224


def bench_spec() -> EmbodimentSpec:
    joints = tuple(Joint(f"j{i}", -3.14, 3.14) for i in range(7))
    return EmbodimentSpec(
        name="bench_arm",
        joints=joints,
        action_groups=(Group("arm", 0, 6), Group("gripper", 6, 7)),
        cameras=(CameraSpec("front", SIZE, SIZE, SIZE, SIZE, fps=FPS),),
        rates=ControlRates(policy_hz=FPS, low_level_hz=FPS),
        robot_type="bench_arm",
    )


def scene_frames(n: int) -> np.ndarray:
    """A moving textured scene (what a robot camera looks like to the encoder)."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    rng = np.random.default_rng(0)
    out = np.empty((n, SIZE, SIZE, 3), np.uint8)
    for k in range(n):
        cx, cy = 112 + 60 * np.sin(k / 20), 112 + 40 * np.cos(k / 15)
        blob = 120 * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 800)
        base = 60 + 0.3 * xs + 0.2 * ys
        img = np.stack([base + blob, base * 0.8, base * 0.6 + blob / 2], -1)
        out[k] = np.clip(img + rng.normal(0, 3, img.shape[:2])[..., None], 0, 255)
    return out


def run_recorder(
    root: Path, frames: np.ndarray, steps: int, episode_len: int, backend: str = "thread"
) -> dict:
    spec = bench_spec()
    rng = np.random.default_rng(1)
    states = rng.normal(size=(steps, 7)).astype(np.float32)
    calls = []
    t0 = time.perf_counter()
    rec = LeRobotRecorder(root, spec, fps=FPS, task="bench", max_pending=steps, backend=backend)
    for k in range(steps):
        if k % episode_len == 0:
            rec.start_episode("bench")
        c0 = time.perf_counter()
        rec.add_step({"front": frames[k % len(frames)]}, states[k], states[k], k / FPS)
        calls.append(time.perf_counter() - c0)
        if k % episode_len == episode_len - 1:
            rec.end_episode(True)
    loop_done = time.perf_counter()
    rec.close()
    wall = time.perf_counter() - t0
    calls_ms = np.array(calls) * 1e3
    return {
        "frames": steps,
        "episodes": rec.episodes_written,
        "wall_s": wall,
        "loop_s": loop_done - t0,
        "realtime_x": steps / FPS / wall,
        "fps": steps / wall,
        "add_step_ms_p50": float(np.percentile(calls_ms, 50)),
        "add_step_ms_p99": float(np.percentile(calls_ms, 99)),
        "add_step_ms_max": float(calls_ms.max()),
        "dropped": rec.dropped,
        "mb_per_min": sum(f.stat().st_size for f in root.rglob("*.mp4")) / 1e6 / (steps / FPS / 60),
    }


LOOP_HZ = 100.0


def _control_work(state: np.ndarray) -> np.ndarray:
    """What a controller does per tick, roughly (a few small matrix products)."""
    m = np.outer(state, state)
    for _ in range(4):
        m = np.tanh(m @ m * 1e-3)
    return m.sum(0)


def run_loop(
    root: Path | None, frames: np.ndarray, ticks: int, episode_len: int, backend: str = "thread"
) -> dict:
    """A 100 Hz loop; with ``root``, it records every tick (at 100 fps) into a dataset there
    through the ``backend`` worker."""
    spec = bench_spec()
    rng = np.random.default_rng(3)
    states = rng.normal(size=(ticks, 7)).astype(np.float32)
    rec = (
        LeRobotRecorder(root, spec, fps=LOOP_HZ, max_pending=4096, backend=backend)
        if root
        else None
    )
    add, tick, late = [], [], []
    period = 1.0 / LOOP_HZ
    t_next = time.perf_counter() + period
    for k in range(ticks):
        while (d := t_next - time.perf_counter()) > 0:
            time.sleep(d)
        t0 = time.perf_counter()
        late.append(t0 - t_next)
        _control_work(states[k])
        a0 = time.perf_counter()
        if rec is not None:
            if k % episode_len == 0:
                rec.start_episode("bench")
            rec.add_step({"front": frames[k % len(frames)]}, states[k], states[k], k / LOOP_HZ)
            if k % episode_len == episode_len - 1:
                rec.end_episode(True)
        a1 = time.perf_counter()
        add.append(a1 - a0)
        tick.append(a1 - t0)
        t_next += period
    if rec is not None:
        rec.close()
    ms = {n: np.array(v) * 1e3 for n, v in (("add_step", add), ("tick", tick), ("late", late))}
    out: dict = {"ticks": ticks, "hz": LOOP_HZ}
    for name, v in ms.items():
        out[f"{name}_ms_p50"] = float(np.percentile(v, 50))
        out[f"{name}_ms_p99"] = float(np.percentile(v, 99))
        out[f"{name}_ms_max"] = float(v.max())
    if rec is not None:
        out["dropped"] = rec.dropped
    return out


def run_writer_only(root: Path, frames: np.ndarray, steps: int, episode_len: int) -> dict:
    """The same files written synchronously (no queue, no thread): the recorder's floor."""
    from groot_sdk.data.writer import DatasetWriter

    t0 = time.perf_counter()
    writer = DatasetWriter.for_spec(root, bench_spec(), FPS)
    zeros = np.zeros((episode_len, 7), np.float32)
    for start in range(0, steps, episode_len):
        idx = [k % len(frames) for k in range(start, start + episode_len)]
        cols = {"observation.state": zeros, "action": zeros}
        writer.write_episode(cols, {"observation.images.front": frames[idx]}, "bench")
    wall = time.perf_counter() - t0
    return {"frames": steps, "wall_s": wall, "realtime_x": steps / FPS / wall, "fps": steps / wall}


def run_encode_only(path: Path, frames: np.ndarray, steps: int) -> dict:
    t0 = time.perf_counter()
    enc = VideoEncoder(path, SIZE, SIZE, FPS)
    for k in range(steps):
        enc.add(frames[k % len(frames)])
    enc.close()
    wall = time.perf_counter() - t0
    return {"frames": steps, "wall_s": wall, "realtime_x": steps / FPS / wall, "fps": steps / wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="robot time to record")
    ap.add_argument("--episode-seconds", type=float, default=10.0)
    ap.add_argument("--out", default="out/bench/recording.json")
    ap.add_argument("--loop-seconds", type=float, default=20.0, help="100 Hz loop duration")
    ap.add_argument("--quick", action="store_true", help="a few seconds: checks it runs")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.episode_seconds, args.loop_seconds = 2.0, 1.0, 1.0
    steps = int(args.seconds * FPS)
    episode_len = int(args.episode_seconds * FPS)
    scene = scene_frames(300)
    noise = np.random.default_rng(2).integers(0, 256, (64, SIZE, SIZE, 3), dtype=np.uint8)
    tmp = Path(tempfile.mkdtemp(prefix="bench_rec_"))
    loop_ticks = int(args.loop_seconds * LOOP_HZ)
    try:
        loop = {
            "without recording": run_loop(None, scene, loop_ticks, loop_ticks),
            "thread worker": run_loop(tmp / "ds_t", scene, loop_ticks, int(LOOP_HZ * 5)),
            "process worker": run_loop(
                tmp / "ds_p", scene, loop_ticks, int(LOOP_HZ * 5), backend="process"
            ),
        }
        results = {
            "encode only": run_encode_only(tmp / "enc.mp4", scene, steps),
            "writer only": run_writer_only(tmp / "ds_sync", scene, steps, episode_len),
            "recorder": run_recorder(tmp / "ds", scene, steps, episode_len),
            "recorder noise": run_recorder(tmp / "ds_noise", noise, steps, episode_len),
            "recorder process": run_recorder(
                tmp / "ds_proc", scene, steps, episode_len, backend="process"
            ),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = results["encode only"]["wall_s"]
    for r in results.values():
        r["vs_encode_only"] = r["wall_s"] / base
    print(
        f"Recording one {SIZE}x{SIZE} camera at {FPS:g} fps, {args.seconds:g} s of robot time "
        f"({steps} frames, {os.cpu_count()} CPUs)"
    )
    print(
        f"{'path':<16}{'wall s':>8}{'x real time':>13}{'frames/s':>10}{'wall/encode':>13}"
        f"{'add_step p50/p99/max ms':>26}{'dropped':>9}"
    )
    for name, r in results.items():
        lat = (
            f"{r['add_step_ms_p50']:.3f}/{r['add_step_ms_p99']:.3f}/{r['add_step_ms_max']:.2f}"
            if "add_step_ms_p50" in r
            else "-"
        )
        print(
            f"{name:<16}{r['wall_s']:>8.2f}{r['realtime_x']:>13.1f}{r['fps']:>10.0f}"
            f"{r['vs_encode_only']:>13.2f}{lat:>26}{r.get('dropped', '-'):>9}"
        )
    print(f"\n{LOOP_HZ:g} Hz control loop, {args.loop_seconds:g} s (add_step every tick):")
    print(f"{'loop':<20}{'add_step p50/p99 ms':>21}{'tick p50/p99 ms':>18}{'late p50/p99 ms':>18}")
    for name, r in loop.items():
        print(
            f"{name:<20}{r['add_step_ms_p50']:>10.3f}/{r['add_step_ms_p99']:<10.3f}"
            f"{r['tick_ms_p50']:>8.3f}/{r['tick_ms_p99']:<9.3f}"
            f"{r['late_ms_p50']:>8.3f}/{r['late_ms_p99']:<9.3f}"
        )
    base_loop = loop["without recording"]
    ratios = {
        f"{w} {m}_p99_ratio": loop[w][f"{m}_ms_p99"] / max(base_loop[f"{m}_ms_p99"], 1e-9)
        for w in ("thread worker", "process worker")
        for m in ("tick", "late")
    }
    for w in ("thread worker", "process worker"):
        print(
            f"p99 {w} / without recording: tick {ratios[f'{w} tick_p99_ratio']:.2f}x, "
            f"wake-up lateness {ratios[f'{w} late_p99_ratio']:.2f}x, "
            f"dropped {loop[w]['dropped']}"
        )
    goal = results["recorder"]["realtime_x"]
    proc = results["recorder process"]["realtime_x"]
    met = "met" if min(goal, proc) >= 10 else "NOT met"
    print(f"goal >= 10x real time: {met} (thread worker {goal:.1f}x, process worker {proc:.1f}x)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "recording",
        "camera": f"{SIZE}x{SIZE}", "fps": FPS, "robot_seconds": args.seconds,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "goal_realtime_x": 10, "results": results, "loop_100hz": {**loop, **ratios},
    }, indent=2))  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
