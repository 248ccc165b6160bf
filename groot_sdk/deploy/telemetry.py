"""Per-tick telemetry to JSON lines, written by a background thread so the loop never blocks."""

from __future__ import annotations

import json
import queue
import threading
from pathlib import Path
from typing import Any


class TelemetryWriter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w", encoding="utf-8")
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="groot-telemetry", daemon=True)
        self._thread.start()
        self.records = 0

    def write(self, record: dict[str, Any]) -> None:
        self._queue.put(record)
        self.records += 1

    def _run(self) -> None:
        while True:
            rec = self._queue.get()
            if rec is None:
                break
            self._fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self._fh.close()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(10.0)


def plot_timing(path: str | Path, starts, lateness, periods, nominal_period: float) -> Path:
    """Save a loop-timing figure: tick period and lateness over time, and their histograms."""
    from groot_sdk.errors import require

    matplotlib = require("matplotlib", "plot", "--plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    t = np.asarray(starts) - (starts[0] if len(starts) else 0.0)
    late = np.asarray(lateness) * 1e3
    per = np.asarray(periods) * 1e3
    fig, ax = plt.subplots(2, 2, figsize=(11, 6), gridspec_kw={"width_ratios": [3, 1]})
    ax[0, 0].plot(t[1 : len(per) + 1], per, lw=0.6)
    ax[0, 0].axhline(nominal_period * 1e3, color="k", ls="--", lw=0.8, label="nominal")
    ax[0, 0].set_ylabel("period [ms]")
    ax[0, 0].legend(loc="upper right")
    ax[1, 0].plot(t[: len(late)], late, lw=0.6, color="tab:red")
    ax[1, 0].set_ylabel("lateness [ms]")
    ax[1, 0].set_xlabel("time [s]")
    ax[0, 1].hist(per, bins=60)
    ax[1, 1].hist(late, bins=60, color="tab:red")
    ax[1, 1].set_xlabel("ms")
    p99 = float(np.percentile(late, 99)) if late.size else 0.0
    fig.suptitle(f"loop timing: {len(t)} ticks, lateness p99 {p99:.3f} ms")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
