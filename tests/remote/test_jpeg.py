"""The JPEG extension: negotiated, lossy within bounds, refused when not enabled, bomb-proof."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest

from groot_sdk.policy.observation import assemble_observation
from groot_sdk.policy.simple import ZeroPolicy
from groot_sdk.remote.client import RemoteBackend
from groot_sdk.remote.codec import CodecError, decode, encode
from groot_sdk.remote.jpeg import decode_video, encode_video
from groot_sdk.remote.server import PolicyServer

PIL = pytest.importorskip("PIL.Image", reason="the JPEG extension needs Pillow")


class Recording(ZeroPolicy):
    def get_action(self, observation):
        self.last = observation
        return super().get_action(observation)


def scene(h: int = 480, w: int = 640) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], -1).astype(np.uint8)
    img[h // 3 : h // 2, w // 3 : w // 2] = (200, 30, 30)
    return img


@pytest.fixture
def server(so101_spec):
    def start(jpeg: bool, dialect: str = "n1.6") -> PolicyServer:
        srv = PolicyServer(
            Recording(so101_spec, video=True), so101_spec, port=0, jpeg=jpeg, dialect=dialect
        )
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        started.append(srv)
        return srv

    started: list[PolicyServer] = []
    yield start
    for srv in started:
        srv.stop()


@pytest.mark.parametrize("dialect", ["n1.5", "n1.6"])
def test_jpeg_frames_arrive_close_to_the_originals(server, so101_spec, dialect):
    srv = server(jpeg=True, dialect=dialect)
    client = RemoteBackend(so101_spec, port=srv.port, compression="jpeg")
    try:
        assert client.jpeg and client.wire_dialect == dialect
        frames = {"front": scene(), "wrist": scene()[::-1].copy()}
        obs = assemble_observation(so101_spec, np.zeros(6, np.float32), frames, "pick")
        assert client.get_action(obs)["action.single_arm"].shape == (16, 5)
        seen = srv.backend.last
        assert seen["video.front"].dtype == np.uint8
        assert seen["video.front"].shape == obs["video.front"].shape == (1, 224, 224, 3)
        err = np.abs(seen["video.front"].astype(int) - obs["video.front"].astype(int)).mean()
        assert err < 3.0
    finally:
        client.close()


def test_client_falls_back_to_raw_when_the_server_declines(server, so101_spec, caplog):
    srv = server(jpeg=False)
    client = RemoteBackend(so101_spec, port=srv.port, compression="jpeg")
    try:
        assert not client.jpeg
        assert "does not accept JPEG" in caplog.text
        frames = {"front": scene(), "wrist": scene()}
        obs = assemble_observation(so101_spec, np.zeros(6, np.float32), frames, "pick")
        client.get_action(obs)
        np.testing.assert_array_equal(srv.backend.last["video.front"], obs["video.front"])
    finally:
        client.close()


def test_decoder_refuses_bad_and_oversized_frames():
    video = np.stack([scene(32, 48)] * 2)  # (2, 32, 48, 3)
    ok = encode_video(video)
    assert decode_video(ok, 1 << 20).shape == (2, 32, 48, 3)
    with pytest.raises(ValueError, match="declared"):
        decode_video({**ok, "shape": [2, 16, 48, 3]}, 1 << 20)  # header size != declared
    with pytest.raises(ValueError, match="cap"):
        decode_video({**ok, "shape": [2, 30000, 30000, 3]}, 1 << 20)
    with pytest.raises(ValueError, match="needs 2 frames"):
        decode_video({**ok, "frames": ok["frames"][:1]}, 1 << 20)
    with pytest.raises(ValueError, match="cannot be decoded"):
        decode_video({**ok, "frames": [b"\xff\xd8garbage", b"x"]}, 1 << 20)
    buf = io.BytesIO()
    PIL.fromarray(scene(32, 48)).save(buf, format="PNG")
    with pytest.raises(ValueError, match="cannot be decoded"):
        decode_video({**ok, "shape": [1, 32, 48, 3], "frames": [buf.getvalue()]}, 1 << 20)
    # a peer that did not enable the extension refuses it outright
    with pytest.raises(CodecError, match="extension"):
        decode(encode({"video.front": ok}))
