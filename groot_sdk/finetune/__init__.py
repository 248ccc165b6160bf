"""``groot finetune``: GR00T N1.5 fine-tuning inside the SDK (flow matching, Hugging Face
``accelerate`` for one process, many GPUs or many nodes).

Nothing heavy is imported here: torch, accelerate and peft load when a run starts.
"""

from __future__ import annotations

from groot_sdk.errors import GrootError


class FinetuneError(GrootError, ValueError):
    """A fine-tuning option, dataset or checkpoint is unusable (the message names it)."""


__all__ = ["FinetuneError"]
