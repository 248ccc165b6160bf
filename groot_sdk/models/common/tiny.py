"""Pieces of the tiny test checkpoints every GR00T version writes the same way."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def write_word_tokenizer(
    directory: Path, special_tokens: Sequence[str], words: Sequence[str], newline: bool = False
) -> Path:
    """A word-level ``tokenizer.json`` (special tokens, then ``words``, ``"\\n"`` if
    ``newline``, ``[UNK]``) plus a left-padding ``tokenizer_config.json``; built locally."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {tok: i for i, tok in enumerate(special_tokens)}
    for word in words:
        vocab[word] = len(vocab)
    if newline:
        vocab["\n"] = len(vocab)
    vocab["[UNK]"] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    tok.add_special_tokens(list(special_tokens))
    path = Path(directory) / "tokenizer.json"
    tok.save(str(path))
    (Path(directory) / "tokenizer_config.json").write_text(
        json.dumps({"pad_token": "<|endoftext|>", "padding_side": "left"})
    )
    return path


def random_stats(
    shape: int | tuple[int, ...], rng: np.random.Generator, low: float, high: float
) -> dict[str, Any]:
    """min/max/mean/std/q01/q99 of a made-up distribution inside [low, high]."""
    lo = rng.uniform(low, (low + high) / 2, shape)
    hi = rng.uniform((low + high) / 2, high, shape)
    return {
        "min": lo.tolist(),
        "max": hi.tolist(),
        "mean": ((lo + hi) / 2).tolist(),
        "std": ((hi - lo) / 4).tolist(),
        "q01": (lo + 0.01 * (hi - lo)).tolist(),
        "q99": (hi - 0.01 * (hi - lo)).tolist(),
    }
