"""OpenCV capture with a video file as the source (written here with OpenCV's MJPEG codec)."""

import time

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2", reason="OpenCV (extra 'camera') is needed")

from groot_sdk.errors import HardwareError
from groot_sdk.hardware import State
from groot_sdk.hardware.opencv_camera import OpenCVCamera

W, H = 160, 120


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """10 frames at 20 fps: pure red in BGR order is (0, 0, 255); frame k has k in a corner."""
    path = tmp_path_factory.mktemp("cam") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (W, H))
    assert writer.isOpened()
    for k in range(10):
        bgr = np.zeros((H, W, 3), np.uint8)
        bgr[:, :] = (0, 0, 255)
        bgr[:16, :16] = 25 * k
        writer.write(bgr)
    writer.release()
    return str(path)


def test_frames_are_rgb_and_resized(video):
    cam = OpenCVCamera("front", video, resize=(64, 48), loop=True)
    with cam:
        frame = cam.read()
        assert frame.image.shape == (48, 64, 3) and frame.image.dtype == np.uint8
        r, g, b = frame.image[40, 50]
        assert r > 200 and g < 60 and b < 60  # BGR red came out as RGB red


def test_read_never_waits_for_the_camera(video):
    cam = OpenCVCamera("front", video, fps=5.0, loop=True)  # a slow camera: 5 fps
    with cam:
        first = cam.read()
        # many reads within one camera period return the latest frame instead of blocking
        indices = {cam.read().index for _ in range(200)}
        assert len(indices) <= 2 and first.index in indices | {first.index}
        time.sleep(0.5)
        assert cam.read().index > first.index  # the reader thread kept grabbing


def test_stalled_camera_is_reported(video):
    cam = OpenCVCamera("wrist", video, fps=100.0, loop=False, max_age_s=0.2)
    with cam:
        cam.read()
        time.sleep(0.6)  # 10 frames at 100 fps: the file is long over
        with pytest.raises(
            HardwareError, match=r"camera 'wrist': no new frame for .* \(end of file\)"
        ):
            cam.read()
        assert cam.state is State.INACTIVE  # reported, not latched: frames may come back


def test_camera_recovers_when_frames_return(video):
    cam = OpenCVCamera("wrist", video, fps=100.0, loop=False, max_age_s=0.2)
    with cam:
        time.sleep(0.5)
        with pytest.raises(HardwareError, match="no new frame"):
            cam.read()
        cam.loop = True  # the reader thread rewinds: the device delivers again
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                assert cam.read().image.shape == (H, W, 3)
                break
            except HardwareError:
                time.sleep(0.01)
        else:
            pytest.fail("the camera did not recover")


def test_missing_source_fails_connect(tmp_path):
    cam = OpenCVCamera("front", str(tmp_path / "nope.avi"), open_timeout_s=0.5)
    with pytest.raises(HardwareError, match="camera 'front'"):
        cam.connect()
