"""The modality layout a policy consumes and produces: keys and widths, no values."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from groot_sdk.spec import LANGUAGE_KEY, EmbodimentSpec


@frozen
class KeyDim:
    key: str
    dim: int
    names: tuple[str, ...] = ()  #: joint names, where known


@frozen
class VideoKey:
    name: str
    height: int = 224
    width: int = 224


@frozen
class ModalityLayout:
    """What a :class:`~groot_sdk.policy.PolicyBackend` expects and returns.

    ``state``/``action`` are in concatenation order; observations use ``state.<key>`` /
    ``video.<name>`` and action chunks ``action.<key>`` with shape (action_horizon, dim).
    """

    state: tuple[KeyDim, ...]
    action: tuple[KeyDim, ...]
    video: tuple[VideoKey, ...] = ()
    language_key: str = LANGUAGE_KEY
    action_horizon: int = 16
    embodiment_tag: str = "new_embodiment"

    @classmethod
    def from_spec(cls, spec: EmbodimentSpec) -> ModalityLayout:
        return cls(
            state=tuple(
                KeyDim(g.key, g.size, spec.state_names[g.slice]) for g in spec.observed_state_groups
            ),
            action=tuple(
                KeyDim(g.key, g.size, spec.joint_names[g.slice]) for g in spec.action_groups
            ),
            video=tuple(VideoKey(c.name, c.model_height, c.model_width) for c in spec.cameras),
            language_key=spec.language_key,
            action_horizon=spec.action_horizon,
            embodiment_tag=spec.embodiment_tag,
        )

    @property
    def state_dim(self) -> int:
        return sum(k.dim for k in self.state)

    @property
    def action_dim(self) -> int:
        return sum(k.dim for k in self.action)

    def action_keys(self) -> list[str]:
        return [f"action.{k.key}" for k in self.action]

    def describe_action(self) -> str:
        """``single_arm 6 + gripper 1``: how the layout reads in error messages."""
        return " + ".join(f"{k.key} {k.dim}" for k in self.action)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": [{"key": k.key, "dim": k.dim, "names": list(k.names)} for k in self.state],
            "action": [{"key": k.key, "dim": k.dim, "names": list(k.names)} for k in self.action],
            "video": [{"name": v.name, "height": v.height, "width": v.width} for v in self.video],
            "language_key": self.language_key,
            "action_horizon": self.action_horizon,
            "embodiment_tag": self.embodiment_tag,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModalityLayout:
        return cls(
            state=tuple(
                KeyDim(d["key"], int(d["dim"]), tuple(d.get("names", ()))) for d in data["state"]
            ),
            action=tuple(
                KeyDim(d["key"], int(d["dim"]), tuple(d.get("names", ()))) for d in data["action"]
            ),
            video=tuple(
                VideoKey(d["name"], d["height"], d["width"]) for d in data.get("video", [])
            ),
            language_key=data.get("language_key", LANGUAGE_KEY),
            action_horizon=int(data.get("action_horizon", 16)),
            embodiment_tag=data.get("embodiment_tag", "new_embodiment"),
        )
