"""The wire codec: msgpack maps with numpy arrays as ``.npy`` bytes, as Isaac-GR00T sends them.

An array travels as ``{"__ndarray_class__": True, "as_npy": <bytes of np.save(arr,
allow_pickle=False)>}``. Decoding never unpickles: the ``.npy`` header is parsed by numpy's
own header reader (a literal parser, no pickle), object dtypes are refused, and the declared
shape must match the bytes that follow before any memory is allocated for it. Every size is
capped (:class:`Limits`) so a hostile message cannot exhaust memory.

Encoding and decoding cache ``.npy`` headers by dtype and shape: a control loop sends the same
shapes every step, and header formatting/parsing otherwise dominates the codec's cost.
"""

from __future__ import annotations

import hmac
import io
import json
import math
import struct
from collections.abc import Callable
from typing import Any, Literal

import msgpack
import numpy as np
from attrs import frozen

from groot_sdk.errors import GrootError

NDARRAY_TAG = "__ndarray_class__"
MODALITY_CONFIG_TAG = "__ModalityConfig_class__"
JPEG_TAG = "__groot_sdk_jpeg__"  #: the groot-sdk JPEG extension (see groot_sdk.remote.jpeg)
MODALITY_CONFIG_N17_TAG = "__ModalityConfig__"  #: Isaac-GR00T N1.7's marker
#: how arrays travel: ``.npy`` maps (N1.5, N1.6) or msgpack-numpy maps (N1.7)
ARRAY_ENCODINGS = ("npy", "msgpack_numpy")
_NPY_MAGIC = b"\x93NUMPY"
_HEADER_CACHE_SIZE = 256
MiB = 1 << 20


class CodecError(GrootError, ValueError):
    """A message could not be encoded or decoded (names the key or limit at fault)."""


@frozen
class Limits:
    """Caps applied while decoding one message.

    ``max_containers`` bounds the number of msgpack maps and arrays: a few bytes of msgpack
    can otherwise unpack into gigabytes of empty Python lists. ``max_items`` bounds the
    elements of all of them together: 30 MB of short strings would otherwise become ~750 MB
    of Python objects. ``max_decoded_bytes`` bounds all arrays of one message together (JPEG
    frames expand ~10x). With these, one message never decodes into much more than its own
    size plus ``max_items`` small objects.
    """

    max_message_bytes: int = 32 * MiB
    max_array_bytes: int = 32 * MiB
    max_containers: int = 10_000
    max_container_len: int = 4_096
    max_items: int = 100_000
    max_str_bytes: int = 1 * MiB
    max_npy_header_bytes: int = 4_096
    max_decoded_bytes: int = 128 * MiB

    @classmethod
    def from_mb(cls, max_message_mb: float) -> Limits:
        size = int(max_message_mb * MiB)
        return cls(max_message_bytes=size, max_array_bytes=size, max_decoded_bytes=4 * size)


DEFAULT_LIMITS = Limits()


# -- arrays --------------------------------------------------------------------------------
_encode_headers: dict[tuple[np.dtype, tuple[int, ...]], bytes] = {}
_decode_headers: dict[bytes, tuple[np.dtype, tuple[int, ...], bool, int]] = {}


def _remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) >= _HEADER_CACHE_SIZE:
        cache.clear()  # shapes are few in practice; a flood of new ones just resets the cache
    cache[key] = value


def _npy_parts(arr: np.ndarray) -> tuple[bytes, memoryview] | None:
    """(header, data) of the .npy form of a plain-dtype array; None for structured dtypes."""
    if arr.dtype.hasobject:
        raise CodecError(f"cannot send an array of dtype {arr.dtype}: object arrays are refused")
    if arr.dtype.fields is not None or arr.dtype.subdtype is not None:
        return None
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")  # (np.ascontiguousarray would turn 0-d into 1-d)
    key = (arr.dtype, arr.shape)
    header = _encode_headers.get(key)
    if header is None:
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buf,
            {
                "descr": np.lib.format.dtype_to_descr(arr.dtype),
                "fortran_order": False,
                "shape": arr.shape,
            },
        )
        header = buf.getvalue()
        _remember(_encode_headers, key, header)
    return header, arr.reshape(-1).view(np.uint8).data


def encode_npy(arr: np.ndarray) -> bytes:
    """The bytes ``np.save(arr, allow_pickle=False)`` writes (header cached per dtype/shape)."""
    parts = _npy_parts(arr)
    if parts is None:
        out = io.BytesIO()  # rare structured dtypes: let numpy write the header
        np.save(out, arr, allow_pickle=False)
        return out.getvalue()
    return b"".join(parts)


def _parse_npy_header(
    data: bytes | bytearray | memoryview, limits: Limits
) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    if len(data) < 8 or data[:6] != _NPY_MAGIC:
        raise CodecError("array payload is not .npy data (bad magic)")
    major = data[6]
    if major not in (1, 2):
        raise CodecError(f"unsupported .npy format version {major}")
    start = 10 if major == 1 else 12  # v1: 2-byte header length, v2: 4-byte
    if len(data) < start:
        raise CodecError(f".npy v{major} preamble is truncated ({len(data)} of {start} bytes)")
    (hlen,) = struct.unpack_from("<H" if major == 1 else "<I", data, 8)
    if hlen > limits.max_npy_header_bytes:
        raise CodecError(f".npy header of {hlen} bytes exceeds {limits.max_npy_header_bytes}")
    end = start + hlen
    raw = bytes(data[:end])
    cached = _decode_headers.get(raw)
    if cached is not None:
        return cached
    if len(data) < end:
        raise CodecError(".npy header is truncated")
    fp = io.BytesIO(raw)
    np.lib.format.read_magic(fp)
    reader = (
        np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    )
    try:
        shape, fortran, dtype = reader(fp, max_header_size=limits.max_npy_header_bytes)
    except Exception as exc:  # noqa: BLE001 - numpy's parser raises ValueError, TokenError...
        raise CodecError(f"bad .npy header: {type(exc).__name__}: {exc}") from None
    if dtype.hasobject:
        raise CodecError(f"refusing .npy array of dtype {dtype}: object arrays are never loaded")
    if dtype.itemsize == 0:
        raise CodecError(f"refusing .npy array of zero-size dtype {dtype}")
    parsed = (dtype, tuple(int(n) for n in shape), bool(fortran), end)
    _remember(_decode_headers, raw, parsed)
    return parsed


#: a known v1 header (raw bytes, all 10 + hlen of them) -> dtype, shape, order, offset, count,
#: data bytes: a control loop sends the same few headers every step, so the common case is one
#: dict lookup and the same checks against the payload's length and the cap
_Known = tuple[np.dtype, tuple[int, ...], Literal["C", "F"], int, int, int]
_known_npy: dict[bytes, _Known] = {}


def decode_npy(data: Any, limits: Limits = DEFAULT_LIMITS, *, copy: bool = True) -> np.ndarray:
    """An array from ``.npy`` bytes, with np.load(allow_pickle=False) semantics.

    The shape is checked against the payload length before anything is allocated.
    ``copy=False`` returns a read-only view of ``data`` (saves one copy of large images).
    """
    if type(data) is bytes and len(data) > 10 and data[6] == 1:
        known = _known_npy.get(data[: 10 + (data[8] | data[9] << 8)])
        if known is not None:
            dtype, shape, order, offset, count, nbytes = known
            if (
                nbytes <= limits.max_array_bytes
                and offset - 10 <= limits.max_npy_header_bytes
                and len(data) - offset == nbytes
            ):
                arr = np.frombuffer(data, dtype, count, offset).reshape(shape, order=order)
                return arr.copy(order="K") if copy else arr
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CodecError(f"'as_npy' must be bytes, got {type(data).__name__}")
    dtype, shape, fortran, offset = _parse_npy_header(data, limits)
    count = 1
    for n in shape:
        if n < 0:
            raise CodecError(f".npy shape {shape} has a negative dimension")
        count *= n
    nbytes = count * dtype.itemsize
    if nbytes > limits.max_array_bytes:
        raise CodecError(
            f"array of shape {shape} ({nbytes} bytes) exceeds the {limits.max_array_bytes}-byte cap"
        )
    if len(data) - offset != nbytes:
        raise CodecError(
            f".npy data is {len(data) - offset} bytes but shape {shape} of {dtype} needs {nbytes}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    arr = arr.reshape(shape, order="F" if fortran else "C")
    if data[6] == 1 and len(data) > 10:  # all checks passed: remember the header (v1 only)
        entry: _Known = (dtype, shape, "F" if fortran else "C", offset, count, nbytes)
        _remember(_known_npy, bytes(data[:offset]), entry)
    return arr.copy(order="K") if copy else arr


# -- msgpack-numpy arrays (Isaac-GR00T N1.7) -------------------------------------------------
def encode_mnp(arr: np.ndarray) -> dict[bytes, Any]:
    """An array as msgpack-numpy 0.4.8 writes it (bytes keys, raw C-order data): what N1.7's
    ``MsgSerializer`` reads. Object and structured dtypes are refused."""
    if arr.dtype.hasobject:
        raise CodecError(f"cannot send an array of dtype {arr.dtype}: object arrays are refused")
    if arr.dtype.fields is not None or arr.dtype.subdtype is not None:
        raise CodecError(f"cannot send a structured array ({arr.dtype}) as msgpack-numpy")
    return {
        b"nd": True,
        b"type": arr.dtype.str,
        b"kind": b"",
        b"shape": list(arr.shape),
        b"data": arr.tobytes(),
    }


def _is_mnp(obj: dict) -> bool:
    return b"nd" in obj or ("nd" in obj and "type" in obj and "data" in obj)


def decode_mnp(obj: dict, limits: Limits = DEFAULT_LIMITS, *, copy: bool = True) -> Any:
    """An array (or numpy scalar) from a msgpack-numpy map. Never unpickles: kind ``O``,
    object and structured dtypes are refused, and the shape must match the data's length
    before anything is allocated."""

    def get(name: str) -> Any:
        return obj[name.encode()] if name.encode() in obj else obj.get(name)

    descr, kind, data = get("type"), get("kind"), get("data")
    if kind in (b"O", "O"):
        raise CodecError("refusing a msgpack-numpy object array (it would be unpickled)")
    if kind in (b"V", "V") or isinstance(descr, list):
        raise CodecError("refusing a structured msgpack-numpy array")
    if not isinstance(descr, str) or len(descr) > 16:
        raise CodecError(f"msgpack-numpy 'type' must be a dtype string, got {descr!r:.40}")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError):
        raise CodecError(f"msgpack-numpy 'type' {descr!r} is not a dtype") from None
    if dtype.hasobject:
        raise CodecError(f"refusing msgpack-numpy array of dtype {dtype}: object arrays")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.itemsize == 0:
        raise CodecError(f"refusing a structured msgpack-numpy array ({dtype})")
    if not isinstance(data, (bytes, bytearray)):
        raise CodecError(f"msgpack-numpy 'data' must be bytes, got {type(data).__name__}")
    if get("nd") is not True:  # a numpy scalar
        if len(data) != dtype.itemsize:
            raise CodecError(f"msgpack-numpy scalar of {dtype} has {len(data)} bytes of data")
        return np.frombuffer(data, dtype=dtype)[0]
    shape = get("shape")
    if (
        not isinstance(shape, (list, tuple))
        or len(shape) > 32
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise CodecError(f"msgpack-numpy 'shape' must be non-negative ints, got {shape!r:.60}")
    count = 1
    for n in shape:
        count *= n
    nbytes = count * dtype.itemsize
    if nbytes > limits.max_array_bytes:
        raise CodecError(
            f"array of shape {tuple(shape)} ({nbytes} bytes) exceeds the "
            f"{limits.max_array_bytes}-byte cap"
        )
    if len(data) != nbytes:
        raise CodecError(
            f"msgpack-numpy data is {len(data)} bytes but shape {tuple(shape)} of {dtype} "
            f"needs {nbytes}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=count).reshape(shape)
    return arr.copy() if copy else arr


class WireModalityConfig(dict):
    """A decoded ModalityConfig (a plain map) that remembers how it travelled, which tells
    the Isaac-GR00T versions apart: ``tag`` (N1.5/N1.6 ``__ModalityConfig_class__``, N1.7
    ``__ModalityConfig__``) and ``as_string`` (N1.5 sends JSON text, later versions a map)."""

    tag: str = MODALITY_CONFIG_TAG
    as_string: bool = False


# -- messages ------------------------------------------------------------------------------
def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {NDARRAY_TAG: True, "as_npy": encode_npy(obj)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    raise CodecError(
        f"cannot encode a {type(obj).__name__} (send arrays, numbers, str, lists, maps)"
    )


def _default_mnp(obj: Any) -> Any:
    return encode_mnp(obj) if isinstance(obj, np.ndarray) else _default(obj)


def encode(obj: Any, *, arrays: str = "npy") -> bytes:
    """One msgpack message; numpy arrays become ``.npy`` maps (``arrays="msgpack_numpy"``:
    msgpack-numpy maps, for N1.7 peers), numpy scalars plain numbers."""
    default = _default_mnp if arrays == "msgpack_numpy" else _default
    try:
        return msgpack.packb(obj, default=default, use_bin_type=True)
    except CodecError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise CodecError(f"cannot encode message: {exc}") from None


_NPY_MAP_HEAD = msgpack.packb({NDARRAY_TAG: True, "as_npy": b""})[:-2]  # up to the bin header
_WALK_DEPTH = 64  #: deeper than this, msgpack packs the rest itself (and applies its limit)


def _bin_header(size: int) -> bytes:
    if size < 1 << 8:
        return b"\xc4" + size.to_bytes(1, "big")
    if size < 1 << 16:
        return b"\xc5" + size.to_bytes(2, "big")
    return b"\xc6" + size.to_bytes(4, "big")


_PLAIN = (str, bytes, int, float, bool, type(None))


class _ArraySpec:
    """An array's place in an :class:`Encoder`'s plan: any array of this dtype and shape."""

    __slots__ = ("dtype", "shape")

    def __init__(self, arr: np.ndarray) -> None:
        self.dtype, self.shape = arr.dtype, arr.shape


class _NoPlan(Exception):
    pass


#: a message with more values than this in its maps and lists gets no plan or template: what
#: they save is per message, and building one costs per value (a flood of large hostile
#: messages must not cost the server more than decoding them)
_PLAN_VALUES = 1024


def _few_values(obj: Any, budget: int = _PLAN_VALUES) -> bool:
    """Whether ``obj``'s maps and lists hold ``budget`` values or fewer (stops counting past)."""
    stack = [obj]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            budget -= len(node)
            stack.extend(node.values())
        elif kind is list or kind is tuple:
            budget -= len(node)
            stack.extend(node)
        else:
            continue
        if budget < 0:
            return False
    return True


def _plan(obj: Any, depth: int = 0) -> Any:
    """``obj`` with each array replaced by its :class:`_ArraySpec`; raises :class:`_NoPlan`
    for anything but exact dicts, lists and tuples, plain-dtype arrays and plain scalars."""
    kind = type(obj)
    if depth > _WALK_DEPTH:
        raise _NoPlan
    if kind is dict:
        return {key: _plan(value, depth + 1) for key, value in obj.items()}
    if kind is list or kind is tuple:
        return kind(_plan(value, depth + 1) for value in obj)
    if kind is np.ndarray:
        if obj.dtype.hasobject or obj.dtype.fields is not None or obj.dtype.subdtype is not None:
            raise _NoPlan
        return _ArraySpec(obj)
    if kind in _PLAIN:
        return obj
    raise _NoPlan


def _fits(node: Any, obj: Any, arrays: list[np.ndarray]) -> bool:
    """Whether ``obj`` encodes to its plan's bytes but for array data (appended to ``arrays``):
    the same keys in the same order, scalars of the same type and value, arrays of the same
    dtype and shape."""
    kind = type(obj)
    if kind is np.ndarray:
        if type(node) is not _ArraySpec or obj.shape != node.shape or obj.dtype != node.dtype:
            return False
        arrays.append(obj)
        return True
    if kind is not type(node):
        return False
    if kind is dict:
        if len(obj) != len(node):
            return False
        for (key, value), (want_key, want) in zip(obj.items(), node.items()):
            if type(key) is not type(want_key) or key != want_key:
                return False
            if type(value) is np.ndarray and type(want) is _ArraySpec:  # (inline: the most)
                if value.shape != want.shape or value.dtype != want.dtype:
                    return False
                arrays.append(value)
            elif not _fits(want, value, arrays):
                return False
        return True
    if kind is list or kind is tuple:
        return len(obj) == len(node) and all(_fits(n, v, arrays) for n, v in zip(node, obj))
    if kind is float:  # 0.0 == -0.0, but msgpack writes them differently
        return obj == node and math.copysign(1.0, obj) == math.copysign(1.0, node)
    return obj == node  # a plain scalar (the plan holds no other kind)


class Encoder:
    """Encodes into one reused buffer, each array's data copied once, straight from the array:
    a control loop sends the same shapes every step, and fresh 300 kB buffers cost more in page
    faults than the copy itself. When a message has the last one's layout (same keys, dtypes,
    shapes and scalars), only the arrays' data is copied into the buffer: the rest is already
    there. The bytes are those :func:`encode` writes. The returned (read-only) view is valid
    until the next :meth:`encode`; one Encoder per thread."""

    def __init__(self, arrays: str = "npy") -> None:
        if arrays not in ARRAY_ENCODINGS:
            raise ValueError(f"unknown array encoding '{arrays}'; use one of {ARRAY_ENCODINGS}")
        self._npy = arrays == "npy"
        default = _default if self._npy else _default_mnp
        self._small = msgpack.Packer(default=default, use_bin_type=True)  # returns bytes
        self._buf = bytearray()
        self._view: memoryview | None = None
        #: the last message's plan and, per array, where its data goes in the buffer
        self._last: tuple[Any, list[np.ndarray]] | None = None

    def _walk(self, obj: Any, parts: list[Any], depth: int) -> None:
        """The message as a list of buffers: msgpack headers and scalars, each array's .npy
        header and its data (a view, not a copy). Exact dicts, lists and tuples are walked;
        anything else is packed by msgpack itself."""
        kind = type(obj)
        if depth > _WALK_DEPTH:
            parts.append(self._small.pack(obj))
        elif kind is dict:
            parts.append(self._small.pack_map_header(len(obj)))
            for key, value in obj.items():
                self._walk(key, parts, depth + 1)
                self._walk(value, parts, depth + 1)
        elif kind is list or kind is tuple:
            parts.append(self._small.pack_array_header(len(obj)))
            for value in obj:
                self._walk(value, parts, depth + 1)
        elif kind is np.ndarray and (split := _npy_parts(obj)) is not None:
            header, data = split
            parts += (_NPY_MAP_HEAD, _bin_header(len(header) + data.nbytes), header, data)
        else:
            parts.append(self._small.pack(obj))

    def encode(self, obj: Any) -> memoryview:
        last = self._last
        if last is not None:
            arrays: list[np.ndarray] = []
            if _fits(last[0], obj, arrays):
                for target, arr in zip(last[1], arrays):
                    np.copyto(target, arr)
                assert self._view is not None
                return self._view
        self._last = None
        if self._view is not None:
            self._view.release()
            self._view = None
        if not self._npy:  # msgpack-numpy maps: tobytes() already made each array's copy
            self._view = memoryview(encode(obj, arrays="msgpack_numpy"))
            return self._view
        parts: list[Any] = []
        try:
            self._walk(obj, parts, 0)
        except CodecError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise CodecError(f"cannot encode message: {exc}") from None
        size = sum(len(part) for part in parts)
        if len(self._buf) < size or len(self._buf) > 4 * size + 4096:
            self._buf = bytearray(size)  # a new one: views of the old may still be alive
        view = memoryview(self._buf)
        at = 0
        data_at = []
        for part in parts:
            end = at + len(part)
            view[at:end] = part
            if type(part) is memoryview:  # an array's data
                data_at.append(at)
            at = end
        self._view = view[:size].toreadonly()
        view.release()
        self._last = self._plan(obj, data_at)
        return self._view

    def _plan(self, obj: Any, data_at: list[int]) -> tuple[Any, list[np.ndarray]] | None:
        if not _few_values(obj):
            return None
        try:
            plan = _plan(obj)
        except _NoPlan:
            return None
        arrays: list[np.ndarray] = []
        _fits(plan, obj, arrays)  # (collects the arrays in the order they were written)
        if len(arrays) != len(data_at):  # an array msgpack packed itself (too deep)
            return None
        targets = [np.ndarray(a.shape, a.dtype, self._buf, at) for a, at in zip(arrays, data_at)]
        return plan, targets


_CONST, _ARRAY, _CONTAINER = 0, 1, 2


def _recipe(obj: Any, depth: int = 0) -> tuple[bool, list[tuple[Any, ...]]]:
    """How to rebuild a decoded map or list around new arrays: ``(is_map, entries)``, each
    entry ``(key, kind, value)`` (maps) or ``(kind, value)`` (lists), ``kind`` one of
    constant, array or container (then ``value`` is its recipe). Raises :class:`_NoPlan` for
    anything a message of maps, lists, plain scalars and ``.npy`` arrays does not hold."""
    if depth > _WALK_DEPTH:
        raise _NoPlan

    def entry(value: Any) -> tuple[int, Any]:
        kind = type(value)
        if kind is dict or kind is list:
            return _CONTAINER, _recipe(value, depth + 1)
        if kind is np.ndarray:
            return _ARRAY, None
        if kind in _PLAIN:
            return _CONST, value
        raise _NoPlan

    if type(obj) is dict:
        return True, [(key, *entry(value)) for key, value in obj.items()]
    if type(obj) is list:
        return False, [entry(value) for value in obj]
    raise _NoPlan


def _rebuild(recipe: tuple[bool, list[tuple[Any, ...]]], arrays: Any) -> Any:
    is_map, entries = recipe
    if is_map:
        out = {}
        for key, kind, value in entries:
            out[key] = (
                value
                if kind == _CONST
                else next(arrays)
                if kind == _ARRAY
                else (_rebuild(value, arrays))
            )
        return out
    return [
        value if kind == _CONST else next(arrays) if kind == _ARRAY else _rebuild(value, arrays)
        for kind, value in entries
    ]


class Template:
    """A decoded message's bytes outside its arrays' data, to decode the next message of the
    same layout without msgpack: a control loop sends the same keys, dtypes, shapes and task
    text every step, and only the arrays' data changes.

    :meth:`match` decodes a message whose bytes equal the template's outside those data
    regions (compared in constant time per piece: a token may be among them) and returns None
    for any other. Such a message is what :func:`decode` would decode the same way, with the
    same result: msgpack's parse does not depend on the bytes inside a ``bin``, every cap
    depends only on the layout, and a template is only made when re-encoding the decoded
    message gives back its very bytes (so duplicate keys, non-minimal encodings, Fortran
    order, JPEG frames and config maps never make one).
    """

    def __init__(
        self,
        size: int,
        pieces: list[tuple[int, bytes]],
        slots: list[tuple[int, np.dtype, tuple[int, ...]]],
        skeleton: tuple[bool, list[tuple[Any, ...]]],
        limits: Limits,
    ) -> None:
        self.size, self.limits = size, limits
        self._pieces, self._slots, self._skeleton = pieces, slots, skeleton

    @classmethod
    def make(cls, message: Any, decoded: Any, limits: Limits = DEFAULT_LIMITS) -> Template | None:
        """The template of ``message``, which ``decode(message, limits)`` decoded into
        ``decoded``; None when the message is not exactly what :class:`Encoder` writes."""
        if not _few_values(decoded):
            return None
        try:
            skeleton = _recipe(decoded)
        except _NoPlan:
            return None
        parts: list[Any] = []
        try:
            Encoder()._walk(decoded, parts, 0)
        except (CodecError, TypeError, ValueError, OverflowError):
            return None
        view = memoryview(message).cast("B")
        pieces: list[tuple[int, bytes]] = []
        slots: list[tuple[int, np.dtype, tuple[int, ...]]] = []
        arrays = iter(_arrays(decoded))
        at, pending, start = 0, bytearray(), 0
        for part in parts:
            if isinstance(part, memoryview):  # an array's data: only its length is fixed
                if pending:
                    pieces.append((start, bytes(pending)))
                arr = next(arrays, None)
                if arr is None:
                    return None
                slots.append((at, arr.dtype, arr.shape))
                at += part.nbytes
                pending, start = bytearray(), at
            else:
                pending += part
                at += len(part)
        if pending:
            pieces.append((start, bytes(pending)))
        if next(arrays, None) is not None:  # an array msgpack packed itself (structured dtype)
            return None
        if at != view.nbytes or any(view[o : o + len(p)] != p for o, p in pieces):
            return None
        return cls(at, pieces, slots, skeleton, limits)

    def match(self, message: Any, *, copy: bool = True) -> Any:
        """``decode(message, limits, copy=copy)`` for a message of this layout, else None."""
        view = memoryview(message)
        if view.nbytes != self.size:
            return None
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        for offset, piece in self._pieces:
            if not hmac.compare_digest(view[offset : offset + len(piece)], piece):
                return None
        view = view.toreadonly()  # as decode's arrays: views of the message are read-only
        if copy:
            arrays = [np.ndarray(s, d, view, o).copy() for o, d, s in self._slots]
        else:
            arrays = [np.ndarray(s, d, view, o) for o, d, s in self._slots]
        return _rebuild(self._skeleton, iter(arrays))


def _arrays(obj: Any) -> list[np.ndarray]:
    """The arrays in a decoded message, in the order msgpack wrote them."""
    if type(obj) is dict:
        return [a for key, value in obj.items() for a in _arrays(key) + _arrays(value)]
    if type(obj) is list:
        return [a for value in obj for a in _arrays(value)]
    return [obj] if type(obj) is np.ndarray else []


def _count(limits: Limits, counter: list[int], items: int) -> None:
    """One more map/list of ``items`` elements (counter: [containers, items, array bytes])."""
    counter[0] += 1
    if counter[0] > limits.max_containers:
        raise CodecError(f"message has more than {limits.max_containers} maps/lists")
    counter[1] += items
    if counter[1] > limits.max_items:
        raise CodecError(f"message has more than {limits.max_items} elements in its maps/lists")


def _spend(limits: Limits, counter: list[int], arr: np.ndarray) -> np.ndarray:
    counter[2] += arr.nbytes
    if counter[2] > limits.max_decoded_bytes:
        raise CodecError(f"message decodes to more than {limits.max_decoded_bytes} bytes of arrays")
    return arr


def _object_hook(
    limits: Limits, counter: list[int], copy: bool, jpeg: bool
) -> Callable[[dict], Any]:
    max_containers, max_items = limits.max_containers, limits.max_items
    max_decoded = limits.max_decoded_bytes

    def hook(obj: dict) -> Any:
        counter[0] += 1
        counter[1] += len(obj)
        if counter[0] > max_containers or counter[1] > max_items:
            counter[0] -= 1
            counter[1] -= len(obj)
            _count(limits, counter, len(obj))  # raises, naming the cap
        if NDARRAY_TAG in obj:
            arr = decode_npy(obj.get("as_npy"), limits, copy=copy)
            counter[2] += arr.nbytes
            if counter[2] > max_decoded:
                raise CodecError(f"message decodes to more than {max_decoded} bytes of arrays")
            return arr
        if _is_mnp(obj):
            return _spend(limits, counter, decode_mnp(obj, limits, copy=copy))
        if MODALITY_CONFIG_TAG in obj:
            return _modality_config(obj.get("as_json"), MODALITY_CONFIG_TAG)
        if MODALITY_CONFIG_N17_TAG in obj or MODALITY_CONFIG_N17_TAG.encode() in obj:
            as_json = obj.get("as_json", obj.get(b"as_json"))
            return _modality_config(as_json, MODALITY_CONFIG_N17_TAG)
        if JPEG_TAG in obj:
            budget = min(limits.max_array_bytes, limits.max_decoded_bytes - counter[2])
            return _spend(limits, counter, _jpeg_video(obj, budget, jpeg))
        return obj

    return hook


def _jpeg_video(obj: dict, max_bytes: int, enabled: bool) -> np.ndarray:
    if not enabled:
        raise CodecError("JPEG frames are a groot-sdk extension this peer did not enable")
    from groot_sdk.remote.jpeg import decode_video

    try:  # the cap is checked against the declared shape before anything is decompressed
        return decode_video(obj, max_bytes)
    except ValueError as exc:
        raise CodecError(str(exc)) from None


def _modality_config(value: Any, tag: str) -> WireModalityConfig:
    # N1.5 sends a JSON string, N1.6 and N1.7 a map; either way a plain dict comes out
    as_string = isinstance(value, str)
    if as_string:
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise CodecError(f"bad ModalityConfig JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CodecError("ModalityConfig 'as_json' must be a map or a JSON string")
    config = WireModalityConfig(value)
    config.tag, config.as_string = tag, as_string
    return config


def _no_ext(code: int, data: bytes) -> Any:
    raise CodecError(f"msgpack extension type {code} is not accepted")


def decode(
    data: Any, limits: Limits = DEFAULT_LIMITS, *, copy: bool = True, jpeg: bool = False
) -> Any:
    """Decode one message; raises :class:`CodecError` for anything malformed or oversized.

    ``copy=False`` leaves large arrays as read-only views of the message buffer; ``jpeg``
    accepts the groot-sdk JPEG extension (:mod:`groot_sdk.remote.jpeg`).
    """
    size = len(data) if not isinstance(data, memoryview) else data.nbytes
    if size > limits.max_message_bytes:
        raise CodecError(f"message of {size} bytes exceeds the {limits.max_message_bytes}-byte cap")
    counter = [0, 0, 0]

    def list_hook(obj: list) -> list:
        _count(limits, counter, len(obj))
        return obj

    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            object_hook=_object_hook(limits, counter, copy, jpeg),
            list_hook=list_hook,
            ext_hook=_no_ext,
            max_str_len=limits.max_str_bytes,
            max_bin_len=limits.max_message_bytes,
            max_array_len=limits.max_container_len,
            max_map_len=limits.max_container_len,
            max_ext_len=0,
        )
    except CodecError:
        raise
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise CodecError(f"malformed msgpack: {exc}") from None
    except (ValueError, TypeError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        raise CodecError(f"malformed message: {type(exc).__name__}: {exc}") from None


# -- requests: the envelope before the payload ---------------------------------------------
_SCALARS = frozenset({"nil", "bool", "int", "float", "str", "bin"})
_READ_SIZE = 64 * 1024


def _kind(first: int) -> str:
    """The msgpack type a value has, from its first byte (nothing is decoded)."""
    if first <= 0x7F or first >= 0xE0 or 0xCC <= first <= 0xD3:
        return "int"
    if first <= 0x8F or first in (0xDE, 0xDF):
        return "map"
    if first <= 0x9F or first in (0xDC, 0xDD):
        return "array"
    if first <= 0xBF or 0xD9 <= first <= 0xDB:
        return "str"
    if first in (0xC4, 0xC5, 0xC6):
        return "bin"
    if first in (0xCA, 0xCB):
        return "float"
    if first in (0xC2, 0xC3):
        return "bool"
    if first == 0xC0:
        return "nil"
    return "invalid" if first == 0xC1 else "ext"


@frozen
class Skipped:
    """A map or list at the top level of a request that was skipped, not decoded."""

    kind: str

    def __str__(self) -> str:
        return f"<{self.kind}>"


@frozen
class Envelope:
    """A request's top level read without decoding its payload: the server checks the token
    before it spends time and memory on ``data`` (Isaac-GR00T clients put the token after it).

    ``fields``: the other top-level keys, scalars decoded, maps/lists as :class:`Skipped`;
    ``data``: the undecoded msgpack bytes of ``data`` (a view of the message), None if absent;
    ``keys``: every top-level key, ``data`` included, in the message's order.
    """

    fields: dict[str, Any]
    data: memoryview | None
    keys: tuple[str, ...] = ()


class _Reader:
    """file-like over a buffer, so that msgpack.Unpacker copies it in small pieces."""

    def __init__(self, view: memoryview) -> None:
        self._view, self._at = view, 0

    def read(self, n: int) -> bytes:
        chunk = bytes(self._view[self._at : self._at + n])
        self._at += len(chunk)
        return chunk


def read_envelope(message: Any, limits: Limits = DEFAULT_LIMITS) -> Envelope:
    """The top-level map of a request, its ``data`` value skipped (C speed, nothing built).

    Raises :class:`CodecError` for anything but a well-formed msgpack map of string keys.
    """
    view = memoryview(message).cast("B")
    size = view.nbytes
    if size > limits.max_message_bytes:
        raise CodecError(f"message of {size} bytes exceeds the {limits.max_message_bytes}-byte cap")
    kind = _kind(view[0]) if size else "nothing"
    if kind != "map":
        raise CodecError(f"request must be a msgpack map, got {kind}")
    unpacker = msgpack.Unpacker(
        _Reader(view),
        read_size=min(_READ_SIZE, size),
        max_buffer_size=size,
        raw=False,
        strict_map_key=True,
        ext_hook=_no_ext,
        max_str_len=limits.max_str_bytes,
        max_bin_len=limits.max_message_bytes,
        max_array_len=0,  # maps and lists are skipped, never built here
        max_map_len=0,
        max_ext_len=0,
    )
    fields: dict[str, Any] = {}
    data: memoryview | None = None
    keys: list[str] = []
    try:
        count = unpacker.read_map_header()
        if count > limits.max_container_len:
            raise CodecError(f"request map has {count} keys (more than {limits.max_container_len})")
        for _ in range(count):
            if _kind(view[unpacker.tell()]) != "str":
                raise CodecError("request map keys must be strings")
            key = unpacker.unpack()
            keys.append(key)
            start = unpacker.tell()
            kind = _kind(view[start])
            if key == "data" or kind in ("map", "array"):
                unpacker.skip()
                if key == "data":
                    data = view[start : unpacker.tell()]
                else:
                    fields[key] = Skipped(kind)
            elif kind in _SCALARS:
                fields[key] = unpacker.unpack()
            else:
                raise CodecError(f"request '{key:.64}' is a msgpack {kind}, which is not accepted")
        if unpacker.tell() != size:
            raise CodecError(f"{size - unpacker.tell()} extra bytes after the request map")
    except CodecError:
        raise
    except (msgpack.OutOfData, IndexError):
        raise CodecError("malformed msgpack: the message is truncated") from None
    except msgpack.StackError:
        raise CodecError("malformed msgpack: nested too deeply") from None
    except (msgpack.FormatError, ValueError, TypeError) as exc:
        raise CodecError(f"malformed msgpack: {type(exc).__name__}: {exc}") from None
    return Envelope(fields, data, tuple(keys))
