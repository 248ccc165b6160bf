"""The ``remote`` backend: a policy served over Isaac-GR00T's ZeroMQ protocol.

Talks to ``groot serve`` and to Isaac-GR00T's own inference servers (N1.5 ``service.py``,
N1.6 and N1.7 ``server_client.py``), telling them apart by what they send (see
:func:`detect_dialect`). Unlike the official client it has send/receive timeouts, rebuilds
its REQ socket after a missed reply (a REQ socket that missed a reply can never send again),
so it reconnects by itself when the server comes back, and measures every round trip.

A timeout raises :class:`PolicyTimeoutError` (a :class:`BackendError`): the deployer holds
position, then stops safely.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import zmq

from groot_sdk.errors import BackendError, GrootError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.remote import forms
from groot_sdk.remote.codec import (
    DEFAULT_LIMITS,
    MODALITY_CONFIG_N17_TAG,
    CodecError,
    Encoder,
    Limits,
    Template,
    WireModalityConfig,
    decode,
)
from groot_sdk.remote.server import DEFAULT_PORT, EXTENSIONS_ENDPOINT, LAYOUT_ENDPOINT
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)

DIALECTS = ("auto", "n1.5", "n1.6", "n1.7")
FORMS = ("nested", "flat")


class PolicyTimeoutError(BackendError, TimeoutError):
    """The policy server did not answer within the configured time."""


class RemoteError(BackendError):
    """The policy server answered with an error (its text is in the message)."""


def detect_dialect(config: Any) -> str | None:
    """Which Isaac-GR00T version wrote a ``get_modality_config`` reply, from how it is written:
    the ``__ModalityConfig__`` marker is N1.7's; ``as_json`` as a JSON string, or keys prefixed
    with their modality (``state.eef_position``), N1.5's; maps of bare keys N1.6's. None when
    the reply says nothing (``{}``: an N1.6/N1.7 server around a policy without a config)."""
    if not isinstance(config, Mapping):
        return None
    parts = [part for part in config.values() if isinstance(part, WireModalityConfig)]
    if not parts:
        return None
    if any(part.tag == MODALITY_CONFIG_N17_TAG for part in parts):
        return "n1.7"
    if any(part.as_string for part in parts):
        return "n1.5"
    for section in ("state", "action", "video"):
        part = config.get(section)
        keys = part.get("modality_keys") if isinstance(part, Mapping) else None
        if (
            isinstance(keys, list)
            and keys
            and all(isinstance(k, str) and k.startswith(f"{section}.") for k in keys)
        ):
            return "n1.5"
    return "n1.6"


def parse_target(target: str) -> tuple[str, int]:
    """``"host:port"``, ``"tcp://host:port"``, ``"[::1]:5555"`` or ``"host"`` -> (host, port)."""
    text = target.strip().removeprefix("tcp://").rstrip("/")
    if not text:
        raise ValueError("remote target is empty; use host:port (e.g. 127.0.0.1:5555)")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        raise ValueError(f"remote target '{target}': port '{port_text}' is not a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"remote target '{target}': port {port} is out of range")
    return host, port


class RttStats:
    """Round-trip times of recent calls (seconds in, milliseconds out)."""

    def __init__(self, window: int = 1000) -> None:
        self._times: deque[float] = deque(maxlen=window)
        self.calls = 0
        self.timeouts = 0
        self.errors = 0

    def add(self, seconds: float) -> None:
        self._times.append(seconds)
        self.calls += 1

    def to_json(self) -> dict[str, Any]:
        times = np.asarray(self._times, np.float64) * 1e3
        pct = (
            (lambda q: round(float(np.percentile(times, q)), 3)) if times.size else (lambda q: None)
        )
        return {
            "calls": self.calls,
            "timeouts": self.timeouts,
            "errors": self.errors,
            "rtt_ms_last": round(float(times[-1]), 3) if times.size else None,
            "rtt_ms_p50": pct(50),
            "rtt_ms_p99": pct(99),
        }


class RemoteBackend(PolicyBackend):
    """A PolicyBackend whose model runs in another process or on another machine.

    Takes flat N1.5 observations like every backend and converts them to what the server
    speaks. ``dialect="auto"`` asks the server for ``get_modality_config`` and reads the
    dialect from the reply (:func:`detect_dialect`); a server without the endpoint ("Unknown
    endpoint": N1.5's ``BaseInferenceServer``) is N1.5. ``observation_form`` picks what
    N1.6 and N1.7 servers get:
    ``"nested"`` for Isaac-GR00T's ``Gr00tPolicy`` (the default server), ``"flat"`` for one
    run with ``--use_sim_policy_wrapper``.
    """

    dialect = "n1.5"
    batched = False

    def __init__(
        self,
        spec: EmbodimentSpec,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        dialect: str = "auto",
        timeout_ms: int = 2000,
        connect_timeout_ms: int | None = None,
        api_token: str | None = None,
        observation_form: str = "nested",
        limits: Limits = DEFAULT_LIMITS,
        compression: str = "none",
        jpeg_quality: int = 90,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"remote: unknown dialect '{dialect}'; use one of {DIALECTS}")
        if observation_form not in FORMS:
            raise ValueError(f"remote: unknown observation_form '{observation_form}'; use {FORMS}")
        if compression not in ("none", "jpeg"):
            raise ValueError(f"remote: unknown compression '{compression}'; use none or jpeg")
        if timeout_ms <= 0:
            raise ValueError(f"remote: timeout_ms must be positive, got {timeout_ms}")
        self.spec = spec
        self.address = f"tcp://{host}:{port}" if ":" not in host else f"tcp://[{host}]:{port}"
        self.timeout_ms = int(timeout_ms)
        self.connect_timeout_ms = int(connect_timeout_ms or max(timeout_ms, 5000))
        self.api_token = api_token or None
        self.observation_form = observation_form
        self.limits = limits
        self.stats = RttStats()
        self.jpeg_quality = int(jpeg_quality)
        #: JPEG frames in use (extension; only after the server said it accepts them)
        self.jpeg = False
        self._lock = threading.Lock()
        self._encoder = Encoder("msgpack_numpy" if dialect == "n1.7" else "npy")
        self._context = zmq.Context()
        self._socket: zmq.Socket | None = None
        self._rcvtimeo = 0
        #: the last get_action reply's layout (decodes the next one without msgpack)
        self._reply: Template | None = None
        #: the action chunk's shapes by key, once the layout is known
        self._want: dict[str, tuple[int, int]] | None = None
        self._connect()
        try:
            self.wire_dialect, self._layout = self._handshake(dialect)
            if self.wire_dialect == "n1.7":  # N1.7 reads msgpack-numpy arrays only
                self._encoder = Encoder("msgpack_numpy")
            if compression == "jpeg":
                self.jpeg = self._negotiate_jpeg()
        except BaseException:
            self.close()
            raise
        self.stats = RttStats()  # the handshake's probes are not policy calls
        log.info(
            "remote policy at %s: dialect %s, actions %s",
            self.address,
            self.wire_dialect,
            self._layout.describe_action(),
        )

    # -- PolicyBackend -------------------------------------------------------------------------
    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    def get_action(self, observation: Observation) -> ActionChunk:
        if self.wire_dialect == "n1.5":
            reply = self.call("get_action", self._compress(dict(observation)))
            action = reply
        else:
            wire_obs = self._compress(self._to_n16(observation))
            reply = self.call("get_action", {"observation": wire_obs, "options": None})
            if not isinstance(reply, (list, tuple)) or len(reply) != 2:
                raise RemoteError(
                    f"{self.address}: {self.wire_dialect.upper()} get_action reply must be "
                    f"[action, info], got {type(reply).__name__}"
                )
            action = reply[0]
        if self._want is not None and forms.is_exact_chunk(action, self._want):
            return action  # what action_from_wire and _checked would return unchanged
        if not isinstance(action, Mapping):
            raise RemoteError(f"{self.address}: action reply is {type(action).__name__}, not a map")
        try:
            return self._checked(forms.action_from_wire(action))
        except RemoteError:
            raise  # already names the address
        except GrootError as exc:
            raise RemoteError(f"{self.address}: {exc}") from None

    def _checked(self, chunk: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every key of the layout, each (horizon, dim); a 1-D group may come as (horizon,)."""
        layout = self._layout
        if self._want is None:
            self._want = {f"action.{k.key}": (layout.action_horizon, k.dim) for k in layout.action}
        want = self._want
        for key, value in chunk.items():
            shape = want.get(key)
            if shape is None:
                raise RemoteError(
                    f"{self.address}: server sent '{key}', which the layout "
                    f"({layout.describe_action()}) does not have"
                )
            if value.shape == shape[:1] and shape[1] == 1:
                chunk[key] = value = value.reshape(shape)
            if value.shape != shape:
                raise RemoteError(
                    f"{self.address}: server sent '{key}' with shape {value.shape}, want {shape} "
                    f"(horizon {layout.action_horizon}; layout {layout.describe_action()})"
                )
        missing = [key for key in want if key not in chunk]
        if missing:
            raise RemoteError(f"{self.address}: server's action chunk lacks {missing}")
        return chunk

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        if self.wire_dialect in ("n1.6", "n1.7"):
            self.call("reset", {"options": dict(options) if options else None})

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close(linger=0)
                self._socket = None
            if not self._context.closed:
                self._context.term()

    # -- protocol ------------------------------------------------------------------------------
    def ping(self) -> bool:
        """Whether the server answers ``ping`` within the timeout."""
        try:
            return isinstance(self.call("ping"), dict)
        except BackendError:
            return False

    def call(self, endpoint: str, data: Any = None, *, timeout_ms: int | None = None) -> Any:
        """One request/reply; raises :class:`PolicyTimeoutError` or :class:`RemoteError`."""
        request: dict[str, Any] = {"endpoint": endpoint}
        if data is not None:
            request["data"] = data
        if self.api_token:
            request["api_token"] = self.api_token
        timeout = self.timeout_ms if timeout_ms is None else timeout_ms
        with self._lock:
            if self._socket is None:
                raise BackendError(f"remote backend for {self.address} is closed")
            try:
                payload = self._encoder.encode(request)
            except CodecError as exc:
                raise BackendError(f"remote: cannot send {endpoint}: {exc}") from None
            message = self._exchange(endpoint, payload, timeout)
        template = self._reply if endpoint == "get_action" else None
        if template is not None:  # a reply of the last one's layout: no msgpack pass
            reply = template.match(message)
            if reply is not None:
                return reply
        if message == b"ERROR":  # what Isaac-GR00T may send
            self.stats.errors += 1
            raise RemoteError(f"{self.address}: server error on {endpoint}")
        try:
            reply = decode(message, self.limits)
        except CodecError as exc:
            self.stats.errors += 1
            raise RemoteError(f"{self.address}: bad reply to {endpoint}: {exc}") from None
        if isinstance(reply, dict) and "error" in reply:
            self.stats.errors += 1
            raise RemoteError(f"{self.address}: server error on {endpoint}: {reply['error']}")
        if endpoint == "get_action":
            self._reply = Template.make(message, reply, self.limits)
        return reply

    def _exchange(self, endpoint: str, payload: memoryview, timeout_ms: int) -> bytes:
        assert self._socket is not None
        start = time.perf_counter()
        try:
            self._socket.send(payload)  # a copy beats zero-copy bookkeeping at these sizes
            left_ms = timeout_ms - int((time.perf_counter() - start) * 1e3)
            if left_ms <= 0:
                raise zmq.Again()
            if left_ms != self._rcvtimeo:
                self._socket.setsockopt(zmq.RCVTIMEO, left_ms)
                self._rcvtimeo = left_ms
            message = self._socket.recv()
        except zmq.ZMQError as exc:
            self.stats.timeouts += 1
            self._reconnect()
            what = "no reply" if isinstance(exc, zmq.Again) else f"socket error ({exc})"
            raise PolicyTimeoutError(
                f"remote policy at {self.address}: {what} to '{endpoint}' within {timeout_ms} ms"
            ) from None
        self.stats.add(time.perf_counter() - start)
        return message

    def _connect(self) -> None:
        sock = self._context.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDTIMEO, self.timeout_ms)
        sock.setsockopt(zmq.RCVTIMEO, self.timeout_ms)
        self._rcvtimeo = self.timeout_ms
        sock.setsockopt(zmq.MAXMSGSIZE, self.limits.max_message_bytes)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 0)  # retry every 100 ms, no backoff
        sock.connect(self.address)
        self._socket = sock

    def _reconnect(self) -> None:
        # a REQ socket that sent without a reply is stuck: drop it (linger 0) and start afresh
        if self._socket is not None:
            self._socket.close(linger=0)
        self._connect()

    def _handshake(self, dialect: str) -> tuple[str, ModalityLayout]:
        t = self.connect_timeout_ms
        config: Any = None
        try:
            config = self.call("get_modality_config", timeout_ms=t)
            detected = detect_dialect(config)
        except RemoteError as exc:
            if dialect in ("n1.6", "n1.7") or "Unknown endpoint" not in str(exc):
                raise
            detected = "n1.5"  # N1.5's BaseInferenceServer has no get_modality_config
        if dialect == "auto":
            if detected is None:
                log.warning(
                    "%s sent no modality config to tell N1.6 from N1.7: assuming N1.6 "
                    "(pass dialect=n1.7 for an N1.7 server)",
                    self.address,
                )
            dialect = detected or "n1.6"
        elif detected not in (None, dialect):
            raise RemoteError(
                f"{self.address} speaks {detected} (from its modality config), but "
                f"dialect={dialect} was asked for; drop the option to detect it"
            )
        try:
            layout = ModalityLayout.from_json(self.call(LAYOUT_ENDPOINT, timeout_ms=t))
        except RemoteError:  # not a groot-sdk server: use its modality config, or the spec
            layout = (
                forms.layout_from_modality_config(config, self.spec)
                if isinstance(config, Mapping) and config
                else ModalityLayout.from_spec(self.spec)
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RemoteError(f"{self.address}: bad layout from the server: {exc}") from None
        return dialect, layout

    def _negotiate_jpeg(self) -> bool:
        from groot_sdk.remote.jpeg import require_pillow

        require_pillow()  # fail early, naming the extra, when Pillow is missing here
        try:
            reply = self.call(EXTENSIONS_ENDPOINT, timeout_ms=self.connect_timeout_ms)
        except RemoteError:
            reply = None
        if isinstance(reply, dict) and reply.get("jpeg") is True:
            return True
        log.warning(
            "%s does not accept JPEG frames (a groot-sdk extension): sending raw", self.address
        )
        return False

    def _compress(self, obs: dict[str, Any]) -> dict[str, Any]:
        if not self.jpeg:
            return obs
        from groot_sdk.remote.jpeg import encode_video

        q = self.jpeg_quality
        if isinstance(obs.get("video"), Mapping):
            return {**obs, "video": {k: encode_video(v, q) for k, v in obs["video"].items()}}
        return {k: encode_video(v, q) if k.startswith("video.") else v for k, v in obs.items()}

    def _to_n16(self, observation: Observation) -> dict[str, Any]:
        if forms.is_nested(observation):
            return dict(observation)
        form = forms.detect_form(observation, self._layout)
        batch = dict(observation) if form.batched else forms.add_batch(observation)
        if self.observation_form == "nested":
            return forms.flat_to_nested(batch, self._layout)
        return batch


def make_remote(
    spec: EmbodimentSpec,
    target: str = f"127.0.0.1:{DEFAULT_PORT}",
    dialect: str = "auto",
    timeout_ms: int = 2000,
    api_token: str | None = None,
    observation_form: str = "nested",
    connect_timeout_ms: int | None = None,
    max_message_mb: float | None = None,
    compression: str = "none",
    jpeg_quality: int = 90,
    **ignored: Any,
) -> RemoteBackend:
    """Factory for ``--policy remote://host:port`` (options: dialect, timeout_ms, api_token,
    observation_form, connect_timeout_ms, max_message_mb, compression=jpeg, jpeg_quality).
    Model options that embodiments hand
    every backend (embodiment_tag, device, ...) belong to the server and are ignored here."""
    if ignored:
        log.debug("remote: ignoring server-side options %s", sorted(ignored))
    host, port = parse_target(str(target))
    limits = Limits.from_mb(max_message_mb) if max_message_mb else DEFAULT_LIMITS
    return RemoteBackend(
        spec,
        host,
        port,
        dialect=str(dialect),
        timeout_ms=int(timeout_ms),
        connect_timeout_ms=connect_timeout_ms,
        api_token=None if api_token is None else str(api_token),
        observation_form=observation_form,
        limits=limits,
        compression=str(compression),
        jpeg_quality=int(jpeg_quality),
    )
