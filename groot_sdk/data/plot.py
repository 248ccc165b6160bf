"""Plot one episode's state and action trajectories, one line per joint (matplotlib, lazily)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from groot_sdk.data.reader import Dataset
from groot_sdk.data.writer import DatasetError
from groot_sdk.errors import require


def plot_episode(root: str | Path, episode: int, out: str | Path) -> Path:
    """Write a PNG with one panel per modality.json state/action key."""
    ds = Dataset(root)
    if episode not in ds.episode_indices:
        raise DatasetError(f"{root}: no episode {episode} (it has {len(ds.episodes)})")
    matplotlib = require("matplotlib", "plot", "plotting")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", "plot", "plotting")
    cols = ds.episode(episode)
    t = cols["timestamp"].astype(np.float64)
    panels = []
    modality = ds.modality or {
        "state": {"state": {"start": 0, "end": cols["observation.state"].shape[1]}},
        "action": {"action": {"start": 0, "end": cols["action"].shape[1]}},
    }
    for section, default in (("state", "observation.state"), ("action", "action")):
        column = default
        names = ds.features.get(column, {}).get("names") or []
        for key, entry in modality.get(section, {}).items():
            column = entry.get("original_key", default)
            names = ds.features.get(column, {}).get("names") or []
            s, e = int(entry["start"]), int(entry["end"])
            labels = names[s:e] if len(names) >= e else [f"{key}[{j}]" for j in range(e - s)]
            panels.append((f"{section}.{key}", cols[column][:, s:e], labels))
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, 2.2 * len(panels)), sharex=True, squeeze=False
    )
    for ax, (title, values, labels) in zip(axes[:, 0], panels, strict=True):
        for j in range(values.shape[1]):
            ax.plot(t, values[:, j], label=str(labels[j]), linewidth=1.2)
        ax.set_title(title, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
        if values.shape[1] <= 12:
            ax.legend(fontsize=7, loc="upper right", ncol=min(4, values.shape[1]))
    axes[-1, 0].set_xlabel("time (s)")
    task = ", ".join(ds.episodes[episode].get("tasks", []))
    fig.suptitle(f"{ds.root.name}: episode {episode} ({len(t)} frames) {task}", fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
