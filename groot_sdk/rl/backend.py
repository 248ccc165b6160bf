"""``residual``: a base policy plus a trained residual, as a backend ``groot run`` can deploy.

Each call asks the base for a chunk, takes its first step as absolute joint targets, and adds
``alpha * half_range * residual(state [+ base action])``, as :class:`ResidualWrapper` did in
training. It returns one-step chunks in the spec's own layout (relative groups back as
deltas), so the deployer decodes them like any other backend's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import BackendError, ObservationError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.actions import ActionDecoder
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.spec import EmbodimentSpec, Representation


class ResidualBackend(PolicyBackend):
    def __init__(
        self,
        spec: EmbodimentSpec,
        base: PolicyBackend,
        predict: Callable[[np.ndarray], np.ndarray],
        alpha: float,
        include_base_action: bool = True,
    ) -> None:
        self.spec, self.base, self.predict = spec, base, predict
        self.alpha, self.include_base_action = float(alpha), include_base_action
        self.dialect, self.batched = base.dialect, base.batched
        self.decoder = ActionDecoder(spec, base.layout)
        self.lower = np.asarray(spec.lower, np.float32)
        self.upper = np.asarray(spec.upper, np.float32)
        self.scale = (self.upper - self.lower) / 2.0
        self._defaults = np.asarray(spec.defaults, np.float32)
        self._relative = np.zeros(spec.dof, bool)
        for g in spec.action_groups:
            if g.representation is Representation.RELATIVE:
                self._relative[g.slice] = True
        own = ModalityLayout.from_spec(spec)
        have = {k.key for k in base.layout.state}
        self._layout = ModalityLayout(
            state=(*base.layout.state, *(k for k in own.state if k.key not in have)),
            action=own.action,
            video=base.layout.video,
            language_key=base.layout.language_key,
            action_horizon=1,
            embodiment_tag=base.layout.embodiment_tag,
        )
        self.policy_hz = getattr(base, "policy_hz", None)

    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    def _state(self, observation: Observation) -> np.ndarray:
        nested = observation.get("state") if isinstance(observation.get("state"), Mapping) else None
        parts = []
        for g in self.spec.observed_state_groups:
            value = nested.get(g.key) if nested is not None else observation.get(f"state.{g.key}")
            if value is None:
                raise ObservationError(f"residual: observation lacks state.{g.key}")
            parts.append(np.asarray(value, np.float32).reshape(-1, g.size)[-1])
        return np.concatenate(parts)

    def get_action(self, observation: Observation) -> ActionChunk:
        chunk = self.base.get_action(observation)
        if self.batched or self.dialect == "n1.6":
            chunk = {k: np.asarray(v)[0] for k, v in chunk.items()}
        state = self._state(observation)
        reference = state if self.spec.state_dims is None else self._defaults
        base = self.decoder.decode(chunk, reference)[0]
        x = np.concatenate([state, base]) if self.include_base_action else state
        residual = np.clip(np.asarray(self.predict(x), np.float32).reshape(-1), -1.0, 1.0)
        if residual.shape != (self.spec.action_dim,) or not np.isfinite(residual).all():
            raise BackendError(f"residual: the policy returned {residual.shape} / non-finite")
        total = np.clip(base + self.alpha * self.scale * residual, self.lower, self.upper)
        total[self._relative] -= reference[self._relative]
        out = {f"action.{g.key}": total[g.slice][None].copy() for g in self.spec.action_groups}
        if self.batched or self.dialect == "n1.6":
            out = {k: v[None] for k, v in out.items()}
        return out

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        self.base.reset(options)

    def close(self) -> None:
        self.base.close()


def residual(
    spec: EmbodimentSpec, path: str | None = None, base: str | None = None, **options: Any
) -> ResidualBackend:
    """Factory: ``path`` = a ``train-residual`` output directory or ``.safetensors`` file;
    the base (and the offset it was trained with) default to those recorded in its JSON."""
    from groot_sdk.policy.factory import make_backend
    from groot_sdk.rl.train import load_policy

    path = path or options.pop("target", None)
    if not path:
        raise BackendError("residual: give the trained residual (--policy-opt path=OUT_DIR)")
    if not Path(path).exists():
        raise BackendError(f"residual: '{path}' does not exist")
    predict, meta = load_policy(path)
    if meta.get("embodiment") not in (None, spec.name):
        raise BackendError(f"residual: trained on '{meta['embodiment']}', not '{spec.name}'")
    base_name = base or meta.get("base")
    if not base_name:
        raise BackendError("residual: the checkpoint names no base; give --policy-opt base=NAME")
    base_options = {**dict(meta.get("base_options") or {}), **options}
    backend = make_backend(base_name, spec, base_options)
    if meta.get("offset") is not None:
        from groot_sdk.rl.offset import OffsetBackend

        backend = OffsetBackend(backend, meta["offset"])
    return ResidualBackend(
        spec, backend, predict, float(meta["alpha"]), bool(meta.get("include_base_action", True))
    )
