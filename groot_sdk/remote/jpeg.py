"""EXTENSION (groot-sdk only; Isaac-GR00T does not know it): JPEG-compressed camera frames.

For WiFi links: two 224x224 RGB frames are ~300 kB raw and ~20-40 kB as JPEG. A client only
sends this after the server said it accepts it (``groot_sdk.extensions`` endpoint, asked once
per connection); against an official server the client keeps sending raw arrays.

On the wire a video array becomes ``{"__groot_sdk_jpeg__": True, "shape": [..., H, W, 3],
"frames": [<jpeg bytes>, ...]}`` (one JPEG per H x W frame, row-major over the leading dims).
Decoding checks the declared shape against the size caps and each JPEG's header size against
the declared H x W before decompressing, so a small message cannot expand into a huge image.
Needs Pillow: ``pip install 'groot-sdk[jpeg]'``.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from groot_sdk.errors import require
from groot_sdk.remote.codec import JPEG_TAG


def available() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def require_pillow():
    return require("PIL.Image", "jpeg", "JPEG image compression")


def encode_video(video: np.ndarray, quality: int = 90) -> dict[str, Any]:
    """uint8 (..., H, W, 3) -> the extension map (one JPEG per frame)."""
    image = require_pillow()
    if video.dtype != np.uint8 or video.ndim < 3 or video.shape[-1] != 3:
        raise ValueError(f"JPEG needs uint8 (..., H, W, 3) frames, got {video.dtype} {video.shape}")
    frames = video.reshape(-1, *video.shape[-3:])
    out = []
    for frame in frames:
        buf = io.BytesIO()
        image.fromarray(np.ascontiguousarray(frame), "RGB").save(
            buf, format="JPEG", quality=int(quality)
        )
        out.append(buf.getvalue())
    return {JPEG_TAG: True, "shape": list(video.shape), "frames": out}


def decode_video(obj: dict[str, Any], max_bytes: int) -> np.ndarray:
    """The extension map -> uint8 (..., H, W, 3). Raises ValueError naming what is wrong."""
    shape = obj.get("shape")
    frames = obj.get("frames")
    if (
        not isinstance(shape, list)
        or len(shape) < 3
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
        or shape[-1] != 3
    ):
        raise ValueError(f"JPEG video 'shape' must be positive ints [..., H, W, 3], got {shape!r}")
    if math.prod(shape) > max_bytes:
        raise ValueError(f"JPEG video of shape {shape} exceeds the {max_bytes}-byte cap")
    count = math.prod(shape[:-3])
    if not isinstance(frames, list) or len(frames) != count:
        raise ValueError(f"JPEG video of shape {shape} needs {count} frames")
    h, w = shape[-3], shape[-2]
    image = require_pillow()
    out = np.empty((count, h, w, 3), np.uint8)
    for i, data in enumerate(frames):
        if not isinstance(data, bytes):
            raise ValueError(f"JPEG frame {i} must be bytes, got {type(data).__name__}")  # noqa: TRY004
        try:
            with image.open(io.BytesIO(data), formats=["JPEG"]) as im:
                if im.size != (w, h):  # header only: nothing decompressed yet
                    raise ValueError(
                        f"JPEG frame {i} is {im.size[0]}x{im.size[1]}, declared {w}x{h}"
                    )
                out[i] = np.asarray(im.convert("RGB"))
        except ValueError:
            raise
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad data
            raise ValueError(f"JPEG frame {i} cannot be decoded: {exc}") from None
    return out.reshape(shape)
