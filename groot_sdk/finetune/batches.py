"""Samples -> model tensors, and the deterministic stream of micro-batches.

The inputs go through the same pre-processing as inference (:mod:`..models.gr00t_n15.processing`:
95 % centre crop + resize, SigLIP pixel normalisation, Eagle's chat template, per-key state and
action normalisation, zero padding to ``max_state_dim`` / ``max_action_dim``), so what the model
learns is what the backends feed it.

Which samples make micro-batch ``k`` and the flow-matching noise and timestep of each sample are
functions of ``(seed, k, position in the global batch)`` only: a run on one process and a run on
N processes with the same global batch see the same data and noise, and a resumed run continues
exactly where it stopped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from attrs import frozen

from groot_sdk.finetune.data import TrainingData
from groot_sdk.models.gr00t_n15.processing import Gr00tN15Processor, normalize


@frozen
class FlowSchedule:
    """N1.5's training-time distribution: t = (s - u) / s, u ~ Beta(alpha, beta)."""

    alpha: float = 1.5
    beta: float = 1.0
    s: float = 0.999

    @classmethod
    def from_head_cfg(cls, cfg: dict[str, Any]) -> FlowSchedule:
        return cls(
            float(cfg.get("noise_beta_alpha", 1.5)),
            float(cfg.get("noise_beta_beta", 1.0)),
            float(cfg.get("noise_s", 0.999)),
        )

    def sample(self, rng: np.random.Generator) -> float:
        return (self.s - float(rng.beta(self.alpha, self.beta))) / self.s


class SampleEncoder:
    """One dataset step -> the arrays of one training example."""

    def __init__(
        self,
        data: TrainingData,
        processor: Gr00tN15Processor,
        schedule: FlowSchedule,
        frame_cache_bytes: int = 2 << 30,
    ) -> None:
        self.data = data
        self.p = processor
        self.schedule = schedule
        self.frame_cache_bytes = frame_cache_bytes
        self.horizon = processor.action_horizon
        self.action_dim = sum(k.dim for k in processor.metadata.action)
        self._prompts: dict[str, tuple[np.ndarray, int]] = {}

    def _normalized(self, section: str, values: np.ndarray) -> np.ndarray:
        keys = self.p.metadata.state if section == "state" else self.p.metadata.action
        parts, start = [], 0
        for kd in keys:
            stats = self.p.metadata.stats(section, kd.key)
            mode = self.p.modes[f"{section}.{kd.key}"]
            parts.append(normalize(values[..., start : start + kd.dim], stats, mode))
            start += kd.dim
        return np.concatenate(parts, axis=-1)

    def _prompt(self, task: str, n_images: int) -> np.ndarray:
        if task not in self._prompts:
            ids, mask = self.p.tokenizer([self.p.prompt(task, n_images)])
            self._prompts[task] = (ids[0][mask[0] == 1], n_images)
        return self._prompts[task][0]

    def encode(self, position: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        episode, t = self.data.locate(position)
        n = len(episode.action)
        steps = np.minimum(np.arange(t, t + self.horizon), n - 1)  # repeat the last row
        state = self._normalized("state", episode.state[t : t + 1])
        action = self._normalized("action", episode.action[steps])
        pad_s = self.p.max_state_dim - state.shape[-1]
        pad_a = self.p.max_action_dim - action.shape[-1]
        mask = np.zeros((self.horizon, self.p.max_action_dim), np.float32)
        mask[:, : self.action_dim] = 1.0
        frames = self.data.frames(
            episode, self.p.image_size, self.p.crop_scale, self.frame_cache_bytes
        )
        pixels = frames[t].transpose(0, 3, 1, 2).astype(np.float32) / 255.0  # (V, 3, H, W)
        pixels = (pixels - self.p.image_mean) / self.p.image_std
        task = episode.task or "Perform the default behavior."
        return {
            "pixel_values": pixels.astype(np.float32),
            "input_ids": self._prompt(task, pixels.shape[0]),
            "state": np.pad(state, ((0, 0), (0, pad_s))).astype(np.float32),
            "action": np.pad(action, ((0, 0), (0, pad_a))).astype(np.float32),
            "action_mask": mask,
            "noise": rng.standard_normal((self.horizon, self.p.max_action_dim)).astype(np.float32),
            "t": np.float32(self.schedule.sample(rng)),
        }


def collate(items: list[dict[str, np.ndarray]], pad_id: int, embodiment_id: int):
    """Examples -> one batch of torch tensors (prompts left-padded, as at inference)."""
    import torch

    length = max(len(i["input_ids"]) for i in items)
    ids = np.full((len(items), length), pad_id, np.int64)
    mask = np.zeros((len(items), length), np.int64)
    for row, item in enumerate(items):
        seq = item["input_ids"]
        ids[row, length - len(seq) :] = seq
        mask[row, length - len(seq) :] = 1
    return {
        "pixel_values": torch.from_numpy(np.concatenate([i["pixel_values"] for i in items])),
        "input_ids": torch.from_numpy(ids),
        "attention_mask": torch.from_numpy(mask),
        "state": torch.from_numpy(np.stack([i["state"] for i in items])),
        "action": torch.from_numpy(np.stack([i["action"] for i in items])),
        "action_mask": torch.from_numpy(np.stack([i["action_mask"] for i in items])),
        "noise": torch.from_numpy(np.stack([i["noise"] for i in items])),
        "t": torch.from_numpy(np.array([i["t"] for i in items], np.float32)),
        "embodiment_id": torch.full((len(items),), embodiment_id, dtype=torch.long),
    }


class MicroBatches:
    """Micro-batch ``k`` of this process: a map-style dataset for a torch ``DataLoader``.

    The global micro-batch ``k`` is positions ``k*G .. k*G + G - 1`` of an endless stream that
    visits every sample once per epoch in a seeded order (``G`` = per-process batch x
    processes); process ``rank`` takes its contiguous share.
    """

    def __init__(
        self,
        encoder: SampleEncoder,
        batch_size: int,
        world_size: int,
        rank: int,
        seed: int,
        embodiment_id: int,
    ) -> None:
        self.encoder = encoder
        self.batch_size = batch_size
        self.world_size = world_size
        self.rank = rank
        self.seed = seed
        self.embodiment_id = embodiment_id
        self.n = len(encoder.data)
        self._perm: dict[int, np.ndarray] = {}

    def order(self, epoch: int) -> np.ndarray:
        if epoch not in self._perm:
            self._perm = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._perm[epoch]

    def positions(self, k: int) -> list[tuple[int, int]]:
        """(global slot, sample index) of this process's share of micro-batch ``k``."""
        g = self.batch_size * self.world_size
        out = []
        for j in range(self.rank * self.batch_size, (self.rank + 1) * self.batch_size):
            slot = k * g + j
            out.append((slot, int(self.order(slot // self.n)[slot % self.n])))
        return out

    def __len__(self) -> int:  # the stream is endless; the loader is given its range
        return 2**62

    def __getitem__(self, k: int):
        items = [
            self.encoder.encode(index, np.random.default_rng([self.seed, 1, slot]))
            for slot, index in self.positions(int(k))
        ]
        return collate(items, self.encoder.p.tokenizer.pad_id, self.embodiment_id)
