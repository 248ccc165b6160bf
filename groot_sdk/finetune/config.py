"""The options of a fine-tuning run, checked before anything heavy is loaded."""

from __future__ import annotations

import math
from pathlib import Path

from attrs import field, frozen

from groot_sdk.finetune import FinetuneError

PRECISIONS = ("fp32", "bf16")
NORMALIZATIONS = ("min_max", "q99", "mean_std")


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise FinetuneError(f"{name} must be a positive number, got {value!r}")


@frozen
class FinetuneConfig:
    """Defaults are Isaac-GR00T N1.5's ``gr00t_finetune.py`` ones where it has them (lr 1e-4,
    weight decay 1e-5, 5 % warm-up then cosine, AdamW betas (0.95, 0.999), gradient clipping at
    1.0, projector + diffusion model tuned, backbone frozen)."""

    datasets: tuple[Path, ...]
    base: str
    out: Path
    embodiment: str
    embodiment_tag: str | None = None
    tokenizer: Path | None = None
    max_steps: int | None = None
    epochs: float | None = None
    batch_size: int = 32
    grad_accum: int = 1
    lr: float = 1e-4
    weight_decay: float = 1e-5
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    seed: int = 42
    precision: str = "fp32"
    tune_llm: bool = False
    tune_visual: bool = False
    tune_projector: bool = True
    tune_diffusion_model: bool = True
    lora_rank: int = 0
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_llm: bool = False
    normalization: str = "min_max"
    save_every: int = 0
    keep_checkpoints: int = 2
    resume: bool = False
    workers: int = 0
    log_every: int = 1
    threads: int | None = None
    frame_cache_gb: float = 2.0
    progress: bool = True
    extra: dict = field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if not self.datasets:
            raise FinetuneError("--dataset: give at least one dataset directory")
        if (self.max_steps is None) == (self.epochs is None):
            raise FinetuneError("give exactly one of --max-steps and --epochs")
        if self.max_steps is not None and (
            not isinstance(self.max_steps, int) or self.max_steps < 1
        ):
            raise FinetuneError(f"--max-steps must be >= 1, got {self.max_steps!r}")
        if self.epochs is not None:
            _positive("--epochs", self.epochs)
        for name, value in (
            ("--batch-size", self.batch_size),
            ("--grad-accum", self.grad_accum),
            ("--log-every", self.log_every),
            ("--keep-checkpoints", self.keep_checkpoints),
        ):
            if not isinstance(value, int) or value < 1:
                raise FinetuneError(f"{name} must be an integer >= 1, got {value!r}")
        _positive("--lr", self.lr)
        _positive("--frame-cache-gb", self.frame_cache_gb)
        if not 0 <= self.warmup_ratio < 1:
            raise FinetuneError(f"--warmup-ratio must be in [0, 1), got {self.warmup_ratio}")
        if not (math.isfinite(self.weight_decay) and math.isfinite(self.max_grad_norm)):
            raise FinetuneError("--weight-decay and --max-grad-norm must be finite")
        if self.weight_decay < 0 or self.max_grad_norm < 0:
            raise FinetuneError("--weight-decay and --max-grad-norm must be >= 0")
        if self.precision not in PRECISIONS:
            raise FinetuneError(f"--precision must be one of {PRECISIONS}, got '{self.precision}'")
        if self.normalization not in NORMALIZATIONS:
            raise FinetuneError(
                f"--normalization must be one of {NORMALIZATIONS}, got '{self.normalization}'"
            )
        if self.lora_rank < 0 or self.save_every < 0 or self.workers < 0:
            raise FinetuneError("--lora-rank, --save-every and --workers must be >= 0")
        if self.lora_llm and not self.lora_rank:
            raise FinetuneError("--lora-llm needs --lora-rank > 0")
        if not (
            self.tune_llm
            or self.tune_visual
            or self.tune_projector
            or self.tune_diffusion_model
            or self.lora_rank
        ):
            raise FinetuneError("nothing to train: every --tune-* flag is off and --lora-rank is 0")
