"""The policy server: any PolicyBackend behind Isaac-GR00T's ZeroMQ REQ/REP protocol.

Speaks the N1.5 dialect (``get_action`` data = the observation, reply = the action dict;
``get_modality_config`` as N1.5's ``RobotInferenceServer`` answers it: JSON-string configs with
prefixed keys), the N1.6 one (data = ``{"observation", "options"}``, reply = ``[action,
info]``, plus ``reset``; configs as maps) or the N1.7 one (N1.6's, with msgpack-numpy arrays
and the ``__ModalityConfig__`` marker), so official Isaac-GR00T clients work unchanged. Like
the official policy it takes float64 states, frames at another resolution and keys it does not
read (:func:`groot_sdk.remote.forms.conform`; each ignored key is logged once). Camera frames
reach the backend as read-only arrays (zero-copy views of the decoded message; a backend that
wants to write into one copies it first); states are the backend's own, writable.

Hardened where the official server is not: binds 127.0.0.1 unless told otherwise, compares
tokens in constant time before it decodes the payload, caps message size (ZeroMQ's MAXMSGSIZE
and a decode-time check), the receive queue (RCVHWM), what one message may decode into
(:class:`Limits`) and the batch size, never unpickles, validates every observation against
the backend's layout before the backend sees it, refuses ``kill`` unless allowed, and
answers every malformed request with ``{"error": ...}`` instead of dying. Extension
endpoints (unknown to Isaac-GR00T): ``groot_sdk.layout`` returns the backend's
:class:`ModalityLayout` as JSON, with dims; ``groot_sdk.extensions`` says whether JPEG
frames (:mod:`groot_sdk.remote.jpeg`) are accepted.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import zmq

from groot_sdk.errors import GrootError
from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.policy.observation import validate_observation
from groot_sdk.remote import forms
from groot_sdk.remote.codec import (
    DEFAULT_LIMITS,
    MODALITY_CONFIG_N17_TAG,
    MODALITY_CONFIG_TAG,
    CodecError,
    Encoder,
    Limits,
    Template,
    decode,
    encode,
    read_envelope,
)
from groot_sdk.remote.jpeg import available as jpeg_available
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)

DIALECTS = ("n1.5", "n1.6", "n1.7")
DEFAULT_PORT = 5555
LAYOUT_ENDPOINT = "groot_sdk.layout"
EXTENSIONS_ENDPOINT = "groot_sdk.extensions"
UNAUTHORIZED = "Unauthorized: Invalid API token"
#: batch elements one request may carry (an unbatched backend makes one call per element)
DEFAULT_MAX_BATCH = 256
#: requests ZeroMQ queues per connection while one is being answered; more wait in TCP buffers
RECEIVE_QUEUE = 2


def unmap_big_buffers(threshold: int = 1 << 20) -> bool:
    """Make this process give buffers over ``threshold`` bytes back to the OS when freed.

    glibc raises its mmap threshold (up to 32 MiB) each time it frees a big mapped buffer, so
    after a few 30 MB requests it keeps such buffers in its heaps: measured, the server stayed
    ~65 MB bigger after a flood of them. A fixed threshold ends that. Process-wide, so
    ``groot serve`` calls it, not :class:`PolicyServer`. False where there is no glibc.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(-3, int(threshold)))  # -3: M_MMAP_THRESHOLD


class RequestError(GrootError, ValueError):
    """A request the server refuses; its text goes back as ``{"error": ...}``."""


class PolicyServer:
    """Serve ``backend`` on ``tcp://host:port`` (port 0: any free port, see :attr:`address`)."""

    def __init__(
        self,
        backend: PolicyBackend,
        spec: EmbodimentSpec | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        dialect: str = "n1.6",
        api_token: str | None = None,
        allow_kill: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        jpeg: bool | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        context: zmq.Context | None = None,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect '{dialect}'; use one of {DIALECTS}")
        if api_token is not None and not api_token.strip():
            raise ValueError("api_token is empty: pass a real token, or None to serve without one")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be a positive integer, got {max_batch!r}")
        self.max_batch = max_batch
        self.backend = backend
        self.spec = spec
        self.dialect = dialect
        self.allow_kill = allow_kill
        self.limits = limits
        #: accept JPEG frames (groot-sdk extension); default: when Pillow is installed
        self.jpeg = jpeg_available() if jpeg is None else jpeg
        self._token = api_token.encode() if api_token is not None else None
        self._arrays = "msgpack_numpy" if dialect == "n1.7" else "npy"
        self._encoder = Encoder(self._arrays)  # replies of one layout: only their data copied
        self._ignored: set[str] = set()
        #: the last request's layout (the next one that matches it skips msgpack), the one
        #: being answered, and one whose observation ExactFlat took (only values left to check)
        self._template: Template | None = None
        self._current: Template | None = None
        self._trusted: Template | None = None
        self._exact = forms.ExactFlat(backend.layout)
        self._stop = threading.Event()
        self.requests = 0
        self.errors = 0
        self._own_context = context is None
        self._context = context or zmq.Context()
        # ROUTER, not REP: libzmq's REP loses the next reply after a malformed request from a
        # peer that already left (its envelope rollback misses that case), which garbage TCP
        # connections trigger; here the envelope is handled in serve_forever
        self._socket = self._context.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.MAXMSGSIZE, limits.max_message_bytes)
        self._socket.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        # a ZAP domain makes libzmq refuse ZMTP 1.0/2.0 peers, as which random bytes often
        # parse; with one mid-handshake, closing a ROUTER aborts the process (libzmq 4.3.5,
        # zmtp_engine.cpp:422). ZMTP 3 peers (every current client) need no ZAP handler.
        self._socket.setsockopt(zmq.ZAP_DOMAIN, b"groot_sdk")
        bind_port = "*" if port == 0 else str(port)
        try:
            self._socket.bind(f"tcp://{host}:{bind_port}")
        except zmq.ZMQError as exc:
            self._close_socket()
            raise OSError(f"cannot listen on tcp://{host}:{port}: {exc}") from None
        self.address: str = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.port = int(self.address.rsplit(":", 1)[1])
        self._endpoints: dict[str, Callable[[Any], Any]] = {
            "ping": lambda _data: {"status": "ok", "message": "Server is running"},
            "kill": self._kill,
            "get_action": self._get_action_n15 if dialect == "n1.5" else self._get_action_n16,
            "get_modality_config": self._modality_config,
            LAYOUT_ENDPOINT: lambda _data: self.backend.layout.to_json(),
            EXTENSIONS_ENDPOINT: lambda _data: {"jpeg": self.jpeg},
        }
        if dialect != "n1.5":
            self._endpoints["reset"] = self._reset

    # -- lifecycle -----------------------------------------------------------------------------
    def serve_forever(self, poll_ms: int = 100) -> None:
        """Answer requests until :meth:`stop` (or an allowed ``kill``); then close the socket."""
        log.info(
            "serving %s on %s (dialect %s)", type(self.backend).__name__, self.address, self.dialect
        )
        try:
            sock = self._socket
            sock.setsockopt(zmq.RCVTIMEO, poll_ms)  # wake up to check for stop()
            while not self._stop.is_set():
                # recv_multipart, without its option look-up per frame (a frame knows)
                try:
                    frames = [sock.recv(copy=False)]
                except zmq.Again:
                    continue
                while frames[-1].more:  # a message's frames arrive together: no wait here
                    frames.append(sock.recv(copy=False))
                self._answer(frames)
                del frames  # before the next one arrives: ZeroMQ may reuse its memory
        finally:
            self._close_socket()

    def _answer(self, frames: list[Any]) -> None:  # zmq.Frame (its stub lacks the buffer API)
        # [peer id, (labels...), b"", body...] as a REQ (or a REQ behind a proxy) sends it.
        # memoryview(frame), not frame.buffer: the latter is cached on the frame, a reference
        # cycle that keeps every request's buffer alive until a full garbage collection
        bottom = next((i for i, f in enumerate(frames) if i and not len(f)), None)
        if bottom is None:  # no envelope: not a REQ peer, nowhere to send a reply
            self.requests += 1
            self.errors += 1
            return
        reply = self.handle([memoryview(f) for f in frames[bottom + 1 :]])
        for frame in frames[: bottom + 1]:  # send_multipart, without its type checks
            self._socket.send(frame, zmq.SNDMORE)
        self._socket.send(reply)

    def stop(self) -> None:
        """Ask :meth:`serve_forever` to return (thread- and signal-safe)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _close_socket(self) -> None:
        self._socket.close(linger=0)
        if self._own_context:
            self._context.term()

    # -- one request ---------------------------------------------------------------------------
    def handle(self, frames: list[Any]) -> bytes:
        """One request's frames -> the reply bytes. Never raises for bad input."""
        self.requests += 1
        try:
            if len(frames) != 1:
                raise RequestError(f"expected a single-frame message, got {len(frames)} frames")
            # arrays are decoded as read-only views of the message (a request of the last
            # one's layout: Template) or of the bytes msgpack made for them (which nothing
            # else holds): no second copy of the frames; conform copies the states
            template = self._template
            request = None if template is None else template.match(frames[0], copy=False)
            if request is None:
                request, template = self._decode(frames[0])
                if template is not None:
                    self._template = template
            self._current = template  # this request's layout (None: unknown), for _act
            try:
                result = self._dispatch(request)
            finally:
                self._current = None
            return bytes(self._encoder.encode(result))  # (a copy: the caller may keep it)
        except (CodecError, RequestError, GrootError) as exc:
            return self._error(str(exc))
        except Exception as exc:  # the backend failed: report it, keep serving
            log.exception("request failed")
            return self._error(f"{type(exc).__name__}: {exc}")

    def _decode(self, message: Any) -> tuple[Any, Template | None]:
        """The request, decoded after checking the token (if any), and its layout as a
        template the next request can be matched against (None if it makes none): the token,
        when there is one, is among the bytes a match compares, so only an authorized
        layout is ever kept."""
        if self._token is None:  # nothing to check before the payload: decode in one pass
            request = decode(message, self.limits, jpeg=self.jpeg, copy=False)
            if isinstance(request, dict) and not all(type(k) is str for k in request):
                raise RequestError("request map keys must be strings")
            return request, Template.make(message, request, self.limits)
        envelope = read_envelope(message, self.limits)  # payload not decoded yet
        self._authorize(envelope.fields.get("api_token"))
        request = dict(envelope.fields)
        if envelope.data is not None:
            request["data"] = decode(envelope.data, self.limits, jpeg=self.jpeg, copy=False)
        template = None
        if "data" in request and len(envelope.keys) == len(request):  # no duplicate keys
            in_order = {key: request[key] for key in envelope.keys}
            template = Template.make(message, in_order, self.limits)
        return request, template

    def _error(self, text: str) -> bytes:
        self.errors += 1
        log.debug("error reply: %s", text)
        return encode({"error": text})

    def _authorize(self, token: Any) -> None:
        if self._token is None:
            return
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self._token):
            raise RequestError(UNAUTHORIZED)

    def _dispatch(self, request: Any) -> Any:
        if not isinstance(request, dict):
            raise RequestError(f"request must be a map, got {type(request).__name__}")
        endpoint = request.get("endpoint", "get_action")
        if not isinstance(endpoint, str) or endpoint not in self._endpoints:
            raise RequestError(f"Unknown endpoint: {str(endpoint)[:64]}")
        return self._endpoints[endpoint](request.get("data"))

    # -- endpoints -----------------------------------------------------------------------------
    def _kill(self, _data: Any) -> Any:
        if not self.allow_kill:
            raise RequestError("kill is disabled on this server (start it with --allow-kill)")
        self.stop()
        return {"status": "ok", "message": "Server is stopping"}

    def _get_action_n15(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise RequestError(
                f"get_action data must be the observation map, got {type(data).__name__}"
            )
        if "observation" in data and not any(k.startswith(("video.", "state.")) for k in data):
            raise RequestError(
                "this server speaks the N1.5 dialect (data = the observation itself) but got "
                "N1.6-style {'observation', 'options'}; restart it with --dialect n1.6"
            )
        return self._act(data)

    def _get_action_n16(self, data: Any) -> Any:
        if not isinstance(data, dict) or "observation" not in data:
            raise RequestError(
                "get_action data must be {'observation': ..., 'options': ...} (N1.6 dialect)"
            )
        unknown = sorted(set(data) - {"observation", "options"})
        if unknown:
            raise RequestError(f"get_action got unexpected arguments {unknown}")
        observation = data["observation"]
        if not isinstance(observation, dict):
            raise RequestError(f"observation must be a map, got {type(observation).__name__}")
        return [self._act(observation), {}]

    def _act(self, observation: Mapping[str, Any]) -> dict[str, np.ndarray]:
        layout = self.backend.layout
        if self._exact.layout is not layout:
            self._exact, self._trusted = forms.ExactFlat(layout), None
        if not self.backend.batched:  # flat, unbatched and valid as it is: the common case
            current = self._current
            if current is not None and current is self._trusted and type(observation) is dict:
                exact = self._exact.values(observation)  # its layout was taken before
            else:
                exact = self._exact(observation)
                if exact is not None:
                    self._trusted = current
            if exact is not None:
                return self._checked(self.backend.get_action(exact))
        form = forms.detect_form(observation, layout)
        observation, ignored = forms.conform(observation, layout, form, self.limits.max_array_bytes)
        for key in ignored:
            if key not in self._ignored and len(self._ignored) < 256:
                self._ignored.add(key)
                log.info("ignoring observation key '%s': the served policy does not read it", key)
        validate_observation(
            observation, layout, dialect="n1.6" if form.nested else "n1.5", batched=form.batched
        )
        if not form.nested and not form.batched and not self.backend.batched:
            return self._checked(self.backend.get_action(observation))  # the common case
        flat = forms.nested_to_flat(observation) if form.nested else dict(observation)
        batch = flat if form.batched else forms.add_batch(flat)
        self._check_batch(batch)
        if self.backend.batched and self.backend.dialect == "n1.6":
            chunk = self._checked(self.backend.get_action(forms.flat_to_nested(batch, layout)))
            action = {
                f"{forms.ACTION_PREFIX}{k.removeprefix(forms.ACTION_PREFIX)}": v
                for k, v in chunk.items()
            }
        elif self.backend.batched:
            action = self._checked(self.backend.get_action(batch))
        else:
            items = forms.split_batch(batch)
            action = forms.stack_chunks([self._checked(self.backend.get_action(o)) for o in items])
        return forms.action_to_wire(action, form)

    def _check_batch(self, batch: Mapping[str, Any]) -> None:
        """Refuse batches over ``max_batch`` and language lists that do not match the batch."""
        size = forms.batch_size(batch)
        if size > self.max_batch:
            raise RequestError(
                f"batch of {size} exceeds this server's limit of {self.max_batch} (--max-batch)"
            )
        for key, value in batch.items():
            if isinstance(value, (list, tuple)) and len(value) != size:
                raise RequestError(f"'{key}' has {len(value)} strings for a batch of {size}")

    @staticmethod
    def _checked(chunk: Any) -> dict[str, np.ndarray]:
        if not isinstance(chunk, Mapping) or not chunk:
            raise RequestError(f"backend returned {type(chunk).__name__}, not an action dict")
        return {str(k): np.asarray(v) for k, v in chunk.items()}

    def _reset(self, data: Any) -> Any:
        if data is not None and not isinstance(data, dict):
            raise RequestError(f"reset data must be {{'options': ...}}, got {type(data).__name__}")
        options = (data or {}).get("options")
        if options is not None and not isinstance(options, dict):
            raise RequestError("reset options must be a map or nil")
        self.backend.reset(options)
        return {}

    def _modality_config(self, _data: Any) -> Any:
        layout = self.backend.layout
        if self.dialect == "n1.5":  # pydantic model_dump_json(): a JSON string
            return {
                name: {MODALITY_CONFIG_TAG: True, "as_json": json.dumps(config)}
                for name, config in forms.modality_config_n15(layout).items()
            }
        tag = MODALITY_CONFIG_N17_TAG if self.dialect == "n1.7" else MODALITY_CONFIG_TAG
        return {
            name: {tag: True, "as_json": config}
            for name, config in forms.modality_config(layout, self.spec).items()
        }
