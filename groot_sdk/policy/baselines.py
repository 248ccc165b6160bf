"""Generic baselines that need no model: a ``sinusoid`` test signal and ``replay`` of a
recorded trajectory (``.npz`` or JSON; never pickle).

Both are open-loop in time. They read the time of the observation from ``clock`` (seconds),
which the deployer sets to its control clock, so a simulator running faster or slower than
real time sees the same trajectory; on their own they use the wall clock since ``reset``.
"""

from __future__ import annotations

import json
import math
import struct
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import ActionError, BackendError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.spec import EmbodimentSpec, Representation, Unit


class _Timed(PolicyBackend):
    def __init__(self, spec: EmbodimentSpec) -> None:
        self.spec = spec
        base = ModalityLayout.from_spec(spec)
        # open-loop: no cameras needed
        self._layout = ModalityLayout(
            state=base.state,
            action=base.action,
            video=(),
            language_key=base.language_key,
            action_horizon=base.action_horizon,
            embodiment_tag=base.embodiment_tag,
        )
        self._t0 = time.monotonic()
        #: the deployer replaces this with its control clock (seconds)
        self.clock: Callable[[], float] = lambda: time.monotonic() - self._t0

    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        self._t0 = time.monotonic()

    def _split(self, targets: np.ndarray) -> ActionChunk:
        return {
            f"action.{g.key}": np.ascontiguousarray(targets[:, g.slice], np.float32)
            for g in self.spec.action_groups
        }


class SinusoidPolicy(_Timed):
    """Every joint swings around its default: ``default + a * sin(2 pi f t + phase_j)``.

    The amplitude is ``amplitude`` x the distance from the default to the nearer limit, so the
    targets stay inside the limits. Relative groups get the matching per-step deltas, normalized
    commands (e.g. Fetch's Cartesian deltas) the sinusoid itself scaled by ``amplitude``.
    """

    def __init__(
        self, spec: EmbodimentSpec, amplitude: float = 0.3, frequency: float = 0.5
    ) -> None:
        super().__init__(spec)
        if not 0 <= amplitude <= 1:
            raise BackendError(f"sinusoid: amplitude must be in [0, 1], got {amplitude}")
        self.amplitude, self.frequency = float(amplitude), float(frequency)
        d = np.array(spec.defaults)
        room = np.minimum(d - np.array(spec.lower), np.array(spec.upper) - d)
        self._center = d
        self._amp = self.amplitude * room
        self._phase = np.linspace(0, math.pi, spec.dof, endpoint=False)
        self._normalized = np.array([j.unit is Unit.NORMALIZED for j in spec.joints])
        self._amp[self._normalized] = self.amplitude
        self._center[self._normalized] = 0.0
        self._relative = np.zeros(spec.dof, bool)
        for g in spec.action_groups:
            self._relative[g.slice] = g.representation is Representation.RELATIVE

    def targets(self, t: float) -> np.ndarray:
        h = self._layout.action_horizon
        ts = t + np.arange(h) * self.spec.rates.policy_dt
        w = 2 * math.pi * self.frequency
        return self._center + self._amp * np.sin(w * ts[:, None] + self._phase)

    def get_action(self, observation: Observation) -> ActionChunk:
        t = float(self.clock())
        targets = self.targets(t)
        if self._relative.any():  # deltas from where the signal is at the observation
            targets[:, self._relative] -= targets[0, self._relative]
        return self._split(targets.astype(np.float32))


class ReplayPolicy(_Timed):
    """Plays back ``path``: ``.npz`` with an ``action`` array (N, dof) in joint order (and
    optionally ``fps``), or JSON ``{"action": [[...], ...], "fps": 30}``. After the end the
    last row is repeated (``loop=True`` starts over)."""

    def __init__(
        self, spec: EmbodimentSpec, path: str = "", fps: float | None = None, loop: bool = False
    ) -> None:
        super().__init__(spec)
        if not path:
            raise BackendError("replay: give the trajectory file, --policy-opt path=FILE")
        actions, file_fps = load_trajectory(path, spec)
        self.actions = actions
        self.fps = float(fps or file_fps or spec.rates.policy_hz)
        self.loop = bool(loop)

    def get_action(self, observation: Observation) -> ActionChunk:
        t = float(self.clock())
        h = self._layout.action_horizon
        idx = np.round((t + np.arange(h) * self.spec.rates.policy_dt) * self.fps).astype(int)
        n = len(self.actions)
        idx = idx % n if self.loop else np.clip(idx, 0, n - 1)
        return self._split(self.actions[idx])


#: a replay file larger than this is refused before it is read (a trajectory is small)
MAX_REPLAY_BYTES = 256 * 1024 * 1024
MAX_REPLAY_FPS = 10_000.0


def load_trajectory(path: str | Path, spec: EmbodimentSpec) -> tuple[np.ndarray, float | None]:
    """Read ``(actions (N, dof) float32, fps or None)`` from ``.npz`` or ``.json``."""
    p = Path(path)
    if not p.is_file():
        raise BackendError(f"replay: no file '{p}'")
    fps: float | None = None
    if p.stat().st_size > MAX_REPLAY_BYTES:
        raise BackendError(
            f"replay: '{p}' is {p.stat().st_size} bytes, over the {MAX_REPLAY_BYTES}-byte limit"
        )
    if p.suffix == ".npz":
        arrays = _read_npz(p, ("action", "fps"))
        if "action" not in arrays:
            raise BackendError(f"replay: '{p}' has no 'action' array")
        actions = arrays["action"]
        if "fps" in arrays:
            if arrays["fps"].size != 1 or arrays["fps"].dtype.kind not in "fiu":
                raise BackendError(f"replay: '{p}' 'fps' must be one number")
            fps = float(arrays["fps"].reshape(()))
    elif p.suffix == ".json":
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise BackendError(f"replay: '{p}' is not valid JSON ({exc})") from exc
        if not isinstance(doc, dict) or "action" not in doc:
            raise BackendError(f"replay: '{p}' must be a JSON object with an 'action' list")
        try:
            actions = np.asarray(doc["action"], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"replay: '{p}' 'action' must be a list of number rows ({exc})"
            ) from exc
        raw_fps = doc.get("fps")
        if raw_fps is not None:
            if isinstance(raw_fps, bool) or not isinstance(raw_fps, (int, float)):
                raise BackendError(f"replay: '{p}' 'fps' must be a number, got {raw_fps!r}")
            fps = float(raw_fps)
    else:
        raise BackendError(f"replay: '{p}' must be .npz or .json")
    if actions.dtype.kind not in "fiu" or actions.ndim != 2 or actions.shape[1] != spec.dof:
        raise BackendError(
            f"replay: '{p}' action has shape {actions.shape} ({actions.dtype}), expected "
            f"(N, {spec.dof}) for '{spec.name}' {list(spec.joint_names)}"
        )
    if len(actions) == 0:
        raise BackendError(f"replay: '{p}' has no rows")
    if not np.isfinite(actions).all():
        row = int(np.argwhere(~np.isfinite(actions))[0][0])
        raise ActionError(f"replay: '{p}' has a non-finite value in row {row}")
    if fps is not None and not (math.isfinite(fps) and 0 < fps <= MAX_REPLAY_FPS):
        raise BackendError(f"replay: '{p}' fps must be finite in (0, {MAX_REPLAY_FPS}], got {fps}")
    return actions.astype(np.float32), fps


def _read_npz(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Read the named arrays of an ``.npz`` after checking each header against its stored size.

    ``np.load`` trusts the header's shape and allocates it before reading, so a crafted file
    claiming petabytes fails with a MemoryError (or worse, succeeds slowly); the header must
    describe exactly the bytes the member holds, and objects (pickle) are refused.
    """
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name in names:
                try:
                    info = archive.getinfo(f"{name}.npy")
                except KeyError:
                    continue
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    header = {
                        (1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0,
                    }.get(version)
                    if header is None:
                        raise BackendError(f"replay: '{path}' '{name}' has .npy version {version}")
                    shape, fortran, dtype = header(member, max_header_size=10_000)
                    if dtype.hasobject:
                        raise BackendError(
                            f"replay: '{path}' '{name}' holds object arrays (pickle refused)"
                        )
                    want = math.prod(shape) * dtype.itemsize
                    have = info.file_size - member.tell()
                    if want != have:
                        raise BackendError(
                            f"replay: '{path}' '{name}' header says shape {shape} {dtype} "
                            f"({want} bytes) but the file holds {have} bytes"
                        )
                    data = np.frombuffer(member.read(want), dtype=dtype)
                    out[name] = data.reshape(shape, order="F" if fortran else "C")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as exc:
        raise BackendError(f"replay: '{path}' is not a readable .npz ({exc})") from exc
    return out


def sinusoid(
    spec: EmbodimentSpec,
    amplitude: float = 0.3,
    frequency: float = 0.5,
    embodiment_tag: str | None = None,
) -> SinusoidPolicy:
    """Options by name, so a misspelled one is refused naming the valid ones."""
    return SinusoidPolicy(spec, amplitude=amplitude, frequency=frequency)


def replay(
    spec: EmbodimentSpec,
    path: str = "",
    fps: float | None = None,
    loop: bool = False,
    target: str | None = None,
    embodiment_tag: str | None = None,
) -> ReplayPolicy:
    """``target`` is the path of ``replay://PATH``; options by name (a misspelled one is
    refused naming the valid ones)."""
    return ReplayPolicy(spec, path=target if target is not None else path, fps=fps, loop=loop)


__all__ = ["ReplayPolicy", "SinusoidPolicy", "load_trajectory", "replay", "sinusoid"]
