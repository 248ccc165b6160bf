"""The steady-state fast paths (issue 18 item 2) decide exactly as the slow ones: a request or
reply of the last one's layout (codec.Template) decodes to what :func:`decode` makes of it; the
Encoder, reusing the last message's layout, writes what :func:`encode` writes; the server's
one-pass check of a flat observation (forms.ExactFlat) takes only what conform and validation
take, and every hostile request through a warmed server gets the very reply a fresh one gives."""

from __future__ import annotations

import math

import msgpack
import numpy as np
import pytest

from groot_sdk.errors import ObservationError
from groot_sdk.policy.observation import validate_observation
from groot_sdk.policy.simple import ZeroPolicy
from groot_sdk.remote import forms
from groot_sdk.remote.codec import (
    CodecError,
    Encoder,
    Limits,
    Template,
    decode,
    encode,
)
from groot_sdk.remote.server import PolicyServer


def _same(a, b) -> bool:
    """Equal values of equal types, arrays by dtype, shape and bytes."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _observation(layout, value=0.25) -> dict:
    obs = {f"video.{v.name}": np.full((1, v.height, v.width, 3), 9, np.uint8) for v in layout.video}
    obs |= {f"state.{k.key}": np.full((1, k.dim), value, np.float32) for k in layout.state}
    obs[layout.language_key] = ["pick the cube"]
    return obs


def _request(layout, **kw) -> dict:
    return {"endpoint": "get_action", "data": _observation(layout, **kw)}


# -- codec.Template --------------------------------------------------------------------------
def test_a_template_decodes_what_decode_decodes_or_declines():
    """Every one-byte change of a message: the template either declines it or decodes it as
    decode() does; a change inside an array's data is always taken (that is the point)."""
    message = encode(
        {
            "endpoint": "get_action",
            "n": 7,
            "f": -0.5,
            "data": {
                "a": np.arange(12.0).reshape(3, 4),
                "b": np.ones((2, 2), np.uint8),
                "t": ["go"],
                "z": None,
                "ok": True,
                "raw": b"\x01",
            },
        }
    )
    template = Template.make(message, decode(message))
    assert template is not None
    rng = np.random.default_rng(0)
    taken = 0
    for at in range(len(message)):
        for byte in {message[at] ^ 1, int(rng.integers(0, 256))} - {message[at]}:
            changed = message[:at] + bytes([byte]) + message[at + 1 :]
            got = template.match(changed)
            try:
                want = decode(changed)
            except CodecError:
                assert got is None, at
                continue
            assert got is None or _same(got, want), at
            taken += got is not None
    assert taken >= 12 * 8 + 4  # each byte of both arrays' data, at least once
    assert template.match(message[:-1]) is None and template.match(message + b"\0") is None


def _npy_v2() -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ones(3), version=(2, 0))
    return buf.getvalue()


@pytest.mark.parametrize(
    "message",
    [
        b"\x82\xa1a\x01\xa1a\x02",  # duplicate keys: decode keeps the last
        b"\x81\xa1a\xca\x3f\x80\x00\x00",  # a float32-encoded float: re-encodes as float64
        b"\x81\xa1a\xd1\x00\x01",  # a non-minimal int
        b"\x81\xd9\x01a\x01",  # a str8 header for a 1-byte key
        msgpack.packb({"a": {"__ndarray_class__": True, "as_npy": _npy_v2()}}),
    ],
    ids=["duplicate-keys", "float32", "non-minimal-int", "long-str-header", "npy-v2"],
)
def test_no_template_from_a_message_the_encoder_would_not_write(message):
    try:
        decoded = decode(message)
    except CodecError:
        return
    assert Template.make(message, decoded) is None


def test_no_template_for_fortran_order_structured_or_config_messages():
    def npy(arr):
        import io

        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        return {"__ndarray_class__": True, "as_npy": buf.getvalue()}

    for obj in (
        {"a": npy(np.asfortranarray(np.ones((2, 3))))},
        {"a": npy(np.zeros(2, dtype=[("x", "<f4")]))},
        {"c": {"__ModalityConfig_class__": True, "as_json": "{}"}},
    ):
        message = msgpack.packb(obj)
        assert Template.make(message, decode(message)) is None


def test_template_arrays_are_read_only_views_or_writable_copies():
    message = encode({"a": np.ones((2, 3), np.float32)})
    template = Template.make(message, decode(message))
    view = template.match(memoryview(bytearray(message)), copy=False)["a"]
    assert not view.flags.writeable
    copy = template.match(message)["a"]
    assert copy.flags.writeable and copy.flags.owndata


# -- Encoder ---------------------------------------------------------------------------------
def test_the_encoder_reusing_a_layout_writes_what_encode_writes():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    messages = [
        {"x": a, "f": 0.0, "t": ["go"], "b": True},
        {"x": a + 1, "f": 0.0, "t": ["go"], "b": True},  # same layout: only data copied
        {"x": a, "f": -0.0, "t": ["go"], "b": True},  # 0.0 == -0.0, not the same bytes
        {"x": a, "f": 0.0, "t": ["go"], "b": 1},  # True == 1, not the same bytes
        {"x": a.astype(">f4"), "f": 0.0, "t": ["go"], "b": True},  # byte order
        {
            "x": np.arange(12, dtype=np.float32).reshape(3, 4)[:2, :3],
            "f": 0.0,
            "t": ["go"],
            "b": True,
        },  # not contiguous
        {"x": a, "f": 0.0, "t": ("go",), "b": True},  # a tuple is an array too
        {"f": 0.0, "x": a, "t": ["go"], "b": True},  # key order
        {"x": a, "f": 0.0, "t": ["go!"], "b": True},
        {"x": a, "f": math.nan, "t": ["go"], "b": True},
        {"x": a, "f": math.nan, "t": ["go"], "b": True},
        {"x": np.array(["s"]), "f": 0.0},  # refused either way
    ]
    encoder = Encoder()
    for message in messages:
        try:
            want = encode(message)
        except CodecError:
            with pytest.raises(CodecError):
                encoder.encode(message)
            continue
        got = encoder.encode(message)
        assert bytes(got) == want, message
        assert got.readonly
    assert bytes(encoder.encode(messages[0])) == encode(messages[0])


# -- forms.ExactFlat -------------------------------------------------------------------------
def _variants(layout):
    """Observations the slow path must judge: valid ones and every kind of wrong one."""
    state = f"state.{layout.state[0].key}"
    video = f"video.{layout.video[0].name}"
    good = _observation(layout)
    ro = {k: v.copy() for k, v in good.items() if isinstance(v, np.ndarray)}
    for v in ro.values():
        v.flags.writeable = False
    yield "valid", good
    yield "read-only", {**good, **ro}
    yield "T=3", {**good, state: np.zeros((3, layout.state[0].dim), np.float32)}
    yield "T=0", {**good, state: np.zeros((0, layout.state[0].dim), np.float32)}
    yield "nan", {**good, state: np.full((1, layout.state[0].dim), np.nan, np.float32)}
    yield "inf", {**good, state: np.full((1, layout.state[0].dim), -np.inf, np.float32)}
    yield "float64", {**good, state: good[state].astype(np.float64)}
    yield "big-endian", {**good, state: good[state].astype(">f4")}
    yield "int", {**good, state: good[state].astype(np.int32)}
    yield "wide", {**good, state: np.zeros((1, layout.state[0].dim + 1), np.float32)}
    yield "batched", {**good, state: good[state][None]}
    yield "1-d", {**good, state: good[state][0]}
    yield "list-state", {**good, state: [0.0] * layout.state[0].dim}
    yield "small-frame", {**good, video: np.zeros((1, 8, 8, 3), np.uint8)}
    yield "float-frame", {**good, video: good[video].astype(np.float32)}
    yield "gray-frame", {**good, video: good[video][..., :1]}
    yield "missing", {k: v for k, v in good.items() if k != state}
    yield "extra", {**good, "state.extra": np.zeros((1, 2), np.float32)}
    yield "two-tasks", {**good, layout.language_key: ["a", "b"]}
    yield "no-task", {**good, layout.language_key: []}
    yield "bytes-task", {**good, layout.language_key: [b"a"]}
    yield "str-task", {**good, layout.language_key: "pick"}
    yield "tuple-task", {**good, layout.language_key: ("pick",)}
    yield "nested", {"video": {}, "state": {}, "language": {}}


@pytest.fixture
def layout(so101_spec):
    return ZeroPolicy(so101_spec, video=True).layout


def test_exact_flat_takes_only_what_conform_and_validation_take_unchanged(layout):
    exact = forms.ExactFlat(layout)
    taken = []
    for name, obs in _variants(layout):
        got = exact(obs)
        if got is None:
            continue
        taken.append(name)
        form = forms.detect_form(obs, layout)
        slow, ignored = forms.conform(obs, layout, form, 1 << 30)
        validate_observation(slow, layout, batched=form.batched)
        assert not ignored and not form.batched and not form.nested, name
        assert _same(got, slow), name
        assert all(v.flags.writeable for k, v in got.items() if k.startswith("state.")), name
    assert sorted(taken) == ["T=0", "T=3", "read-only", "valid"]


def test_exact_flat_values_agrees_with_the_full_check_on_a_layout_it_took(layout):
    """values() is what the server runs for a request that matched a template whose
    observation the full check took: same result for the same layout, None for NaN/inf."""
    exact = forms.ExactFlat(layout)
    variants = dict(_variants(layout))
    for name in ("valid", "read-only", "T=3", "T=0"):
        obs = variants[name]
        assert _same(exact.values(obs), exact(obs)), name
    for name in ("nan", "inf"):
        assert exact.values(variants[name]) is None


def test_exact_flat_declines_non_finite_states_so_validation_names_them(layout):
    for name, obs in _variants(layout):
        if name in ("nan", "inf"):
            assert forms.ExactFlat(layout)(obs) is None
            with pytest.raises(ObservationError, match="non-finite value"):
                validate_observation(obs, layout)


# -- the server, warmed and fresh ------------------------------------------------------------
def _server(spec, **kw) -> PolicyServer:
    return PolicyServer(ZeroPolicy(spec, video=True), spec, port=0, dialect="n1.5", **kw)


@pytest.mark.parametrize("token", [None, "tok"])
def test_a_warmed_server_answers_every_request_as_a_fresh_one(so101_spec, layout, token):
    """A warmed server holds the last valid request's template; each variant, sent as a
    request of the same layout where it can be, gets byte for byte the reply a fresh
    server (slow path only) gives it, errors included."""
    extra = {"api_token": token} if token else {}
    warm = _server(so101_spec, api_token=token)
    try:
        valid = encode({**_request(layout), **extra})
        assert "error" not in decode(warm.handle([memoryview(valid)]))
        matched = 0
        for name, obs in _variants(layout):
            message = encode({"endpoint": "get_action", "data": obs, **extra})
            matched += warm._template is not None and warm._template.match(message) is not None
            fresh = _server(so101_spec, api_token=token)
            try:
                want = fresh.handle([memoryview(message)])
            finally:
                fresh._close_socket()
            assert warm.handle([memoryview(message)]) == want, name
            assert warm.handle([memoryview(valid)]) == fresh_reply(so101_spec, valid, token)
        assert matched >= 4  # valid, read-only, nan, inf: same layout as the warm-up request
        if token:  # a wrong token of the same length: the same layout but for the token
            wrong = encode({**_request(layout), "api_token": "tox"})
            assert len(wrong) == len(valid) and warm._template.match(wrong) is None
            assert decode(warm.handle([memoryview(wrong)]))["error"].startswith("Unauthorized")
    finally:
        warm._close_socket()


def fresh_reply(spec, message: bytes, token) -> bytes:
    fresh = _server(spec, api_token=token)
    try:
        return fresh.handle([memoryview(message)])
    finally:
        fresh._close_socket()


def test_the_server_takes_nan_through_the_template_and_refuses_it_by_name(so101_spec, layout):
    server = _server(so101_spec)
    try:
        server.handle([memoryview(encode(_request(layout)))])
        message = encode(_request(layout, value=float("nan")))
        assert server._template.match(message) is not None  # the fast decode takes it
        error = decode(server.handle([memoryview(message)]))["error"]
        assert error == f"state.{layout.state[0].key}: non-finite value (NaN/inf) at index [0, 0]"
    finally:
        server._close_socket()


def test_a_template_is_held_to_the_limits_it_was_made_under(so101_spec, layout):
    """A request over the cap never becomes a template, so no later one passes by matching."""
    message = encode(_request(layout))
    server = _server(so101_spec, limits=Limits(max_array_bytes=1024))
    try:
        assert "exceeds the 1024-byte cap" in decode(server.handle([memoryview(message)]))["error"]
        assert server._template is None
        assert "exceeds" in decode(server.handle([memoryview(message)]))["error"]
    finally:
        server._close_socket()


# -- the client's reply template -------------------------------------------------------------
class Scripted(ZeroPolicy):
    """Zero chunks, filled with the next scripted value; ``"wide"`` widens one key, an
    exception is raised."""

    def __init__(self, spec, script) -> None:
        super().__init__(spec, video=True)
        self.script = list(script)

    def get_action(self, observation):
        chunk = super().get_action(observation)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        if step == "wide":
            key = next(iter(chunk))
            chunk[key] = np.zeros((chunk[key].shape[0], chunk[key].shape[1] + 1), np.float32)
            return chunk
        return {k: np.full_like(v, step) for k, v in chunk.items()}


def test_the_client_decodes_each_reply_as_it_is_whatever_came_before(so101_spec, layout):
    import threading

    from groot_sdk.remote.client import RemoteBackend, RemoteError

    script = [1.0, 2.0, "wide", 3.0, RuntimeError("boom"), 4.0, 4.0]
    server = PolicyServer(Scripted(so101_spec, script), so101_spec, port=0, dialect="n1.5")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_ms": 20}, daemon=True)
    thread.start()
    backend = RemoteBackend(so101_spec, "127.0.0.1", server.port, dialect="n1.5")
    obs = _observation(layout)
    try:
        for want in (1.0, 2.0):
            chunk = backend.get_action(obs)
            assert all((v == want).all() and v.flags.writeable for v in chunk.values())
        assert backend._reply is not None  # the second reply was decoded by the template
        with pytest.raises(RemoteError, match="with shape") as wide:
            backend.get_action(obs)
        assert str(wide.value).count(backend.address) == 1  # named once, not once per layer
        assert (backend.get_action(obs)[next(iter(chunk))] == 3.0).all()
        with pytest.raises(RemoteError, match="boom"):
            backend.get_action(obs)
        first = backend.get_action(obs)
        second = backend.get_action(obs)
        assert first is not second and all((v == 4.0).all() for v in second.values())
        first[next(iter(first))][:] = 9  # the caller owns its chunk: the next one is untouched
        assert (second[next(iter(second))] == 4.0).all()
    finally:
        backend.close()
        server.stop()
        thread.join(5)


def test_template_frames_are_views_of_the_request_and_states_the_backends_own(so101_spec, layout):
    class Recorder(ZeroPolicy):
        seen: dict | None = None

        def get_action(self, observation):
            self.seen = dict(observation)
            return super().get_action(observation)

    backend = Recorder(so101_spec, video=True)
    server = PolicyServer(backend, so101_spec, port=0, dialect="n1.5")
    message = encode(_request(layout))
    try:
        for _ in range(2):  # the first decodes with msgpack, the second by the template
            assert "error" not in decode(server.handle([memoryview(message)]))
        assert server._template is not None
        assert backend.seen
        for key, value in backend.seen.items():
            if key.startswith("video."):
                assert not value.flags.writeable
                assert np.shares_memory(value, np.frombuffer(message, np.uint8))
            elif key.startswith("state."):
                assert value.flags.writeable
                assert not np.shares_memory(value, np.frombuffer(message, np.uint8))
    finally:
        server._close_socket()


def _chunk_variants(layout):
    h = layout.action_horizon
    good = {f"action.{k.key}": np.full((h, k.dim), 0.5, np.float32) for k in layout.action}
    first = next(iter(good))
    one = next((k for k in good if good[k].shape[1] == 1), None)
    yield "exact", good
    yield "float64", {k: v.astype(np.float64) for k, v in good.items()}
    yield "big-endian", {k: v.astype(">f4") for k, v in good.items()}
    yield "int", {k: v.astype(np.int16) for k, v in good.items()}
    yield "batched", {k: v[None] for k, v in good.items()}
    yield "unprefixed", {k.removeprefix("action."): v for k, v in good.items()}
    yield "short", {**good, first: good[first][:-1]}
    yield "missing", {k: v for k, v in good.items() if k != first}
    yield "extra", {**good, "action.extra": good[first]}
    yield "list", {**good, first: good[first].tolist()}
    if one is not None:
        yield "1-d", {**good, one: good[one][:, 0]}


def test_is_exact_chunk_takes_only_what_the_slow_path_keeps_as_is(layout):
    from groot_sdk.errors import GrootError

    want = {f"action.{k.key}": (layout.action_horizon, k.dim) for k in layout.action}
    taken = []
    for name, chunk in _chunk_variants(layout):
        if not forms.is_exact_chunk(chunk, want):
            continue
        taken.append(name)
        try:
            slow = forms.action_from_wire(chunk)
        except GrootError:
            pytest.fail(f"{name}: taken, but the slow path refuses it")
        assert _same(slow, chunk) and all(slow[k] is chunk[k] for k in chunk), name
        assert {k: v.shape for k, v in slow.items()} == want, name
    assert taken == ["exact"]


def test_the_client_returns_the_same_chunk_whichever_path_a_reply_takes(so101_spec, layout):
    """Each reply variant after a warm-up (fast paths armed), against what a fresh client,
    which decodes and checks it the slow way, makes of it."""
    import threading

    from groot_sdk.remote.client import RemoteBackend, RemoteError

    def served(script):
        server = PolicyServer(Scripted(so101_spec, []), so101_spec, port=0, dialect="n1.5")
        server.backend.get_action = lambda obs: script.pop(0)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_ms": 20})
        thread.start()
        return server, thread

    variants = list(_chunk_variants(layout))
    exact = variants[0][1]
    results = {}
    for warm in (False, True):
        script = [exact, exact] * warm
        for _, chunk in variants:
            script += [chunk, exact] if warm else [chunk]
        server, thread = served(script)
        backend = RemoteBackend(so101_spec, "127.0.0.1", server.port, dialect="n1.5")
        obs = _observation(layout)
        try:
            if warm:
                backend.get_action(obs), backend.get_action(obs)
                assert backend._reply is not None and backend._want is not None
            for name, _ in variants:
                try:
                    got = backend.get_action(obs)
                except RemoteError as exc:
                    got = str(exc).replace(backend.address, "<server>")
                results.setdefault(name, []).append(got)
                if warm:
                    assert _same(backend.get_action(obs), forms.action_from_wire(exact))
        finally:
            backend.close()
            server.stop()
            thread.join(5)
    for name, (fresh, warmed) in results.items():
        assert _same(fresh, warmed), name
        assert isinstance(fresh, str) or all(v.dtype == np.float32 for v in fresh.values()), name


def test_no_template_or_plan_for_a_message_of_many_values():
    """Building one costs per value; a large (or hostile) message just takes the full path."""
    small = {"a": list(range(1000)), "x": np.ones(3)}
    large = {"a": list(range(1100)), "x": np.ones(3)}
    for message, kept in ((small, True), (large, False)):
        data = encode(message)
        assert (Template.make(data, decode(data)) is not None) == kept
        encoder = Encoder()
        assert bytes(encoder.encode(message)) == data
        assert (encoder._last is not None) == kept
        assert bytes(encoder.encode(message)) == data


def test_a_request_without_a_template_is_judged_in_full_and_keeps_the_last_layout(
    so101_spec, layout
):
    """A request that makes no template (here: a float written as float32, which the
    encoder would not write) is checked in full, whatever layout was trusted before, and
    leaves the last template in place; so does a request with a wrong token."""
    from groot_sdk.remote.codec import _default

    def odd(obs, **extra):
        request = {"endpoint": "get_action", "f": 0.5, "data": obs, **extra}
        return msgpack.packb(request, default=_default, use_bin_type=True, use_single_float=True)

    for token in (None, "tok"):
        extra = {"api_token": token} if token else {}
        server = _server(so101_spec, api_token=token)
        try:
            valid = encode({**_request(layout), **extra})
            for _ in range(2):
                assert "error" not in decode(server.handle([memoryview(valid)]))
            kept = server._template
            assert kept is not None and server._trusted is kept
            missing = {k: v for k, v in _observation(layout).items() if k != "state.gripper"}
            for message, error in (
                (odd(missing, **extra), True),
                (odd(_observation(layout), **extra), False),
            ):
                reply = server.handle([memoryview(message)])
                assert reply == fresh_reply(so101_spec, message, token)
                assert ("error" in decode(reply)) == error
                assert server._template is kept
            if token:
                wrong = encode({**_request(layout), "api_token": "tox"})
                assert "Unauthorized" in decode(server.handle([memoryview(wrong)]))["error"]
                assert server._template is kept
            assert kept.match(valid) is not None
            assert server.handle([memoryview(valid)]) == fresh_reply(so101_spec, valid, token)
        finally:
            server._close_socket()
