"""What a run reports: a CSV of every logged step, TensorBoard scalars (when tensorboard is
installed), a loss-curve PNG at the end, and the peak memory."""

from __future__ import annotations

import csv
import logging
import math
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FIELDS = ("step", "epoch", "loss", "lr", "grad_norm", "steps_per_s", "samples_per_s", "elapsed_s")


def peak_memory_mb(device: Any = None) -> float:
    """The accelerator's peak allocated memory; on CPU the process's peak resident set."""
    try:
        import torch

        if device is not None and getattr(device, "type", "") == "cuda":
            return torch.cuda.max_memory_allocated(device) / 2**20
    except ImportError:  # pragma: no cover
        pass
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 2**20


class RunLog:
    """CSV (appended to on resume) and TensorBoard, written by the main process only."""

    def __init__(self, directory: Path, enabled: bool, resume: bool) -> None:
        self.directory = directory
        self.enabled = enabled
        self.csv_path = directory / "train.csv"
        self._tb: Any = None
        if not enabled:
            return
        directory.mkdir(parents=True, exist_ok=True)
        fresh = not (resume and self.csv_path.is_file())
        self._file = open(self.csv_path, "w" if fresh else "a", newline="")  # noqa: SIM115
        self._csv = csv.DictWriter(self._file, FIELDS)
        if fresh:
            self._csv.writeheader()
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(directory / "tensorboard"))
        except ImportError:
            log.info("tensorboard is not installed: CSV log only (pip install tensorboard)")

    def write(self, row: dict[str, float]) -> None:
        if not self.enabled:
            return
        self._csv.writerow({k: row.get(k, "") for k in FIELDS})
        self._file.flush()
        if self._tb is not None:
            for key in ("loss", "lr", "grad_norm", "steps_per_s"):
                if key in row and math.isfinite(row[key]):
                    self._tb.add_scalar(f"train/{key}", row[key], int(row["step"]))

    def close(self) -> None:
        if not self.enabled:
            return
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def read_losses(csv_path: Path) -> tuple[list[int], list[float]]:
    steps, losses = [], []
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            steps.append(int(row["step"]))
            losses.append(float(row["loss"]))
    return steps, losses


def plot_loss(csv_path: Path, png: Path, title: str = "") -> Path | None:
    """The loss curve (raw and smoothed) as a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.info("matplotlib is not installed: no loss-curve PNG")
        return None
    steps, losses = read_losses(csv_path)
    if not steps:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, losses, lw=0.8, alpha=0.5, label="loss")
    window = max(1, len(losses) // 20)
    if window > 1:
        smooth = [
            sum(losses[max(0, i - window + 1) : i + 1])
            / len(losses[max(0, i - window + 1) : i + 1])
            for i in range(len(losses))
        ]
        ax.plot(steps, smooth, lw=1.5, label=f"mean of {window}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("flow-matching loss")
    ax.set_yscale("log")
    ax.set_title(title or "groot finetune")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
