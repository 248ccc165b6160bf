"""The codec against numpy's own .npy writer/reader (what Isaac-GR00T uses on the other end)."""

from __future__ import annotations

import io

import msgpack
import numpy as np
import pytest

from groot_sdk.remote.codec import (
    CodecError,
    Encoder,
    Limits,
    decode,
    decode_npy,
    encode,
    encode_npy,
)

ARRAYS = [
    np.zeros((1, 224, 224, 3), np.uint8),
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.arange(6).reshape(2, 3).T,  # Fortran-ordered view
    np.array(3.5),  # 0-d
    np.zeros((0, 5), np.float64),
    np.array(["ab", "c"]),
    np.array([1, 2], ">i4"),
    np.array([True, False]),
    np.zeros(2, dtype=[("a", "<f4"), ("b", "<i2")]),
    np.arange(4, dtype=np.complex64),
]


@pytest.mark.parametrize("arr", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_npy_round_trips_with_numpy(arr):
    ours = encode_npy(arr)
    back = np.load(io.BytesIO(ours), allow_pickle=False)
    assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)
    theirs = io.BytesIO()
    np.save(theirs, arr, allow_pickle=False)
    if arr.flags.c_contiguous:
        assert ours == theirs.getvalue()  # byte for byte what np.save writes
    mine = decode_npy(theirs.getvalue())
    assert mine.dtype == arr.dtype and mine.shape == arr.shape and np.array_equal(mine, arr)
    assert mine.flags.writeable  # np.load semantics


def test_message_round_trip_and_numpy_scalars():
    msg = {"a": np.ones((2, 2), np.float32), "b": [np.int64(3), np.float32(0.5)], "c": "x"}
    out = decode(encode(msg))
    np.testing.assert_array_equal(out["a"], msg["a"])
    assert out["b"] == [3, 0.5] and out["c"] == "x"
    enc = Encoder()
    assert bytes(enc.encode(msg)) == encode(msg)
    assert bytes(enc.encode({"x": 1})) == msgpack.packb({"x": 1})  # the buffer is reused


def test_object_arrays_are_refused_both_ways():
    with pytest.raises(CodecError, match="object"):
        encode({"x": np.array([{}], dtype=object)})
    buf = io.BytesIO()
    np.save(buf, np.array([None], dtype=object), allow_pickle=True)
    with pytest.raises(CodecError, match="object"):
        decode(msgpack.packb({"__ndarray_class__": True, "as_npy": buf.getvalue()}))


def test_limits():
    big = encode({"x": np.zeros(2000, np.uint8)})
    with pytest.raises(CodecError, match="exceeds"):
        decode(big, Limits(max_message_bytes=1000))
    with pytest.raises(CodecError, match="exceeds"):
        decode(big, Limits(max_array_bytes=1000))
    with pytest.raises(CodecError, match="maps/lists"):
        decode(msgpack.packb([[1]] * 50), Limits(max_containers=10))
    with pytest.raises(CodecError):
        decode(msgpack.packb("x" * 100), Limits(max_str_bytes=10))
    with pytest.raises(CodecError, match="malformed"):
        decode(b"\x92\x01")  # truncated
    with pytest.raises(CodecError):
        encode({"x": object()})


def test_modality_config_tag_decodes_to_a_dict():
    n16 = {"__ModalityConfig_class__": True, "as_json": {"modality_keys": ["a"]}}
    n15 = {"__ModalityConfig_class__": True, "as_json": '{"modality_keys": ["a"]}'}
    assert decode(msgpack.packb([n16, n15])) == [{"modality_keys": ["a"]}] * 2
