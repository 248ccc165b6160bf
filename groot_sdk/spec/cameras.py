"""Cameras: native capture resolution and the resolution the model consumes."""

from __future__ import annotations

import enum

from attrs import field, frozen, validators


class ColorOrder(str, enum.Enum):
    RGB = "rgb"
    BGR = "bgr"  #: OpenCV captures; converted to RGB during observation assembly


@frozen
class CameraSpec:
    """A camera and how its frames reach the model (uint8 (H, W, 3) RGB)."""

    name: str = field(validator=validators.matches_re(r"^[A-Za-z_][A-Za-z0-9_]*$"))
    width: int = 640
    height: int = 480
    model_width: int = 224
    model_height: int = 224
    fps: float = 30.0
    color_order: ColorOrder = field(default=ColorOrder.RGB, converter=ColorOrder)

    @property
    def original_key(self) -> str:
        """The LeRobot dataset column that stores this camera."""
        return f"observation.images.{self.name}"

    @property
    def model_shape(self) -> tuple[int, int, int]:
        return (self.model_height, self.model_width, 3)

    @property
    def native_shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, 3)
