"""The SDK's client and server together (in-process server thread), and their edges."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from groot_sdk.errors import BackendError, ObservationError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.factory import make_backend
from groot_sdk.policy.observation import assemble_observation
from groot_sdk.remote import forms
from groot_sdk.remote.client import RemoteError, parse_target
from groot_sdk.remote.server import PolicyServer


@pytest.fixture
def serve(so101_spec):
    started = []

    def start(**kwargs) -> PolicyServer:
        server = PolicyServer(
            make_backend("hold", so101_spec, {"video": True}), so101_spec, port=0, **kwargs
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.stop()
        thread.join(5)


def _obs(spec, arm=0.1):
    frames = {c.name: np.zeros((c.height, c.width, 3), np.uint8) for c in spec.cameras}
    state = np.full(spec.state_dim, arm, np.float32)
    return assemble_observation(spec, state, frames, "pick")


@pytest.mark.parametrize(
    ("dialect", "form"), [("n1.5", "nested"), ("n1.6", "nested"), ("n1.6", "flat")]
)
def test_auto_detects_dialect_and_takes_the_servers_layout(serve, so101_spec, dialect, form):
    server = serve(dialect=dialect)
    backend = make_backend(
        f"remote://127.0.0.1:{server.port}", so101_spec, {"observation_form": form}
    )
    try:
        assert backend.wire_dialect == dialect
        assert backend.layout == ModalityLayout.from_spec(so101_spec)
        chunk = backend.get_action(_obs(so101_spec, 0.3))
        np.testing.assert_allclose(chunk["action.single_arm"], 0.3)
        backend.reset()
        stats = backend.stats.to_json()
        assert stats["calls"] == (2 if dialect == "n1.6" else 1)
        assert stats["rtt_ms_p50"] > 0 and stats["rtt_ms_p99"] >= stats["rtt_ms_p50"]
    finally:
        backend.close()


def test_observation_errors_come_back_naming_the_key(serve, so101_spec):
    server = serve(dialect="n1.6")
    backend = make_backend(f"remote://127.0.0.1:{server.port}", so101_spec)
    try:
        obs = _obs(so101_spec)
        obs["state.gripper"] = np.array([[np.nan]], np.float32)
        with pytest.raises(RemoteError, match="state.gripper: non-finite"):
            backend.get_action(obs)
        assert backend.get_action(_obs(so101_spec))  # the connection is still usable
    finally:
        backend.close()


def test_n15_server_explains_an_n16_request(serve, so101_spec):
    server = serve(dialect="n1.5")
    backend = make_backend(f"remote://127.0.0.1:{server.port}", so101_spec, {"dialect": "n1.5"})
    try:
        with pytest.raises(RemoteError, match="--dialect n1.6"):
            backend.call("get_action", {"observation": {}, "options": None})
    finally:
        backend.close()


def test_forced_n16_against_n15_server_fails_clearly(serve, so101_spec):
    server = serve(dialect="n1.5")
    with pytest.raises(BackendError, match="speaks n1.5.*dialect=n1.6"):
        make_backend(f"remote://127.0.0.1:{server.port}", so101_spec, {"dialect": "n1.6"})


def test_layout_from_modality_config_names_what_the_robot_lacks(so101_spec):
    config = forms.modality_config(ModalityLayout.from_spec(so101_spec), so101_spec)
    assert forms.layout_from_modality_config(config, so101_spec) == ModalityLayout.from_spec(
        so101_spec
    )
    config["state"]["modality_keys"] = ["single_arm", "left_hand"]
    with pytest.raises(ObservationError, match=r"state\.left_hand"):
        forms.layout_from_modality_config(config, so101_spec)


def test_parse_target():
    assert parse_target("10.0.0.2:6000") == ("10.0.0.2", 6000)
    assert parse_target("tcp://gpu-box:5555") == ("gpu-box", 5555)
    assert parse_target("gpu-box") == ("gpu-box", 5555)
    assert parse_target("[::1]:7000") == ("::1", 7000)
    with pytest.raises(ValueError, match="port"):
        parse_target("host:http")
    with pytest.raises(ValueError, match="out of range"):
        parse_target("host:70000")


def test_server_refuses_bad_options_and_busy_ports(serve, so101_spec):
    server = serve(dialect="n1.6")
    with pytest.raises(OSError, match="cannot listen"):
        PolicyServer(
            make_backend("hold", so101_spec, {"video": True}), so101_spec, port=server.port
        )
    with pytest.raises(ValueError, match="dialect"):
        PolicyServer(
            make_backend("hold", so101_spec, {"video": True}), so101_spec, port=0, dialect="n2"
        )
