"""The fine-tuning loop on Hugging Face ``accelerate``.

One process by default; under ``accelerate launch`` / ``torchrun`` every process runs this same
loop and ``accelerate`` provides DDP (or FSDP / DeepSpeed ZeRO from an ``accelerate config``
file). ``--batch-size`` is per process, as in Isaac-GR00T: the global batch of an optimizer step
is batch size x processes x gradient-accumulation steps.

The output directory is a GR00T N1.5 checkpoint in the published layout (``config.json``,
``model.safetensors``, ``experiment_cfg/metadata.json``, the tokenizer files) plus ``logs/``
(CSV, TensorBoard, loss-curve PNG, summary.json) and ``checkpoints/step-N`` (accelerate states
for ``--resume``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any

from groot_sdk.errors import GrootError, require
from groot_sdk.finetune import FinetuneError
from groot_sdk.finetune.config import FinetuneConfig

log = logging.getLogger(__name__)

#: tokenizer / processor files copied from the base checkpoint (or --tokenizer) into the output
TOKENIZER_GLOBS = ("tokenizer*.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
                   "merges.txt", "chat_template.*", "preprocessor_config.json", "*.model")  # fmt: skip
STATE_FILE = "trainer_state.json"


class _Weights:
    """What :func:`save_checkpoint` needs of a model: its config and a state dict."""

    def __init__(self, config: Any, state: dict[str, Any]) -> None:
        self.config = config
        self._state = state

    def state_dict(self) -> dict[str, Any]:
        return self._state


def copy_tokenizer(source: Path, out: Path) -> list[str]:
    if not (source / "tokenizer.json").is_file():
        raise FinetuneError(
            f"no tokenizer.json in {source}: pass --tokenizer DIR (a local copy of the Eagle 2.5 "
            "tokenizer files); groot finetune never downloads them"
        )
    copied = []
    for pattern in TOKENIZER_GLOBS:
        for file in sorted(source.glob(pattern)):
            if file.is_file() and file.name != "config.json":
                shutil.copy2(file, out / file.name)
                copied.append(file.name)
    return copied


def checkpoints(out: Path) -> list[Path]:
    root = out / "checkpoints"
    found = [p for p in root.glob("step-*") if (p / STATE_FILE).is_file()] if root.is_dir() else []
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def _spec(name: str) -> Any:
    from groot_sdk.plugins import get_registry

    try:
        return get_registry().embodiment(name).spec
    except GrootError as exc:
        raise FinetuneError(f"-e {name}: {exc}") from None


def plan_steps(cfg: FinetuneConfig, samples: int, world: int) -> int:
    if cfg.max_steps is not None:
        return cfg.max_steps
    per_step = cfg.batch_size * world * cfg.grad_accum
    return max(1, math.ceil(float(cfg.epochs or 0) * samples / per_step))


def run(cfg: FinetuneConfig) -> dict[str, Any]:
    """Train; returns the summary (also written to ``OUT/logs/summary.json``)."""
    torch = require("torch", "torch", "groot finetune")
    require("accelerate", "finetune", "groot finetune")
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs
    from transformers import get_cosine_schedule_with_warmup

    from groot_sdk.finetune.batches import FlowSchedule, MicroBatches, SampleEncoder
    from groot_sdk.finetune.data import TrainingData
    from groot_sdk.finetune.logs import RunLog, peak_memory_mb, plot_loss
    from groot_sdk.finetune.objective import (
        FlowMatchingObjective,
        add_lora,
        frozen_to_eval,
        merge_lora,
        set_trainable,
    )
    from groot_sdk.modality.layout import ModalityLayout
    from groot_sdk.models.gr00t_n15.config import projector_index
    from groot_sdk.models.gr00t_n15.loading import (
        CheckpointError,
        load_config,
        load_model,
        resolve_checkpoint,
        save_checkpoint,
    )
    from groot_sdk.models.gr00t_n15.processing import build_processor

    if cfg.lora_rank:
        require("peft", "finetune", "LoRA fine-tuning")
    spec = _spec(cfg.embodiment)
    layout = ModalityLayout.from_spec(spec)
    tag = cfg.embodiment_tag or layout.embodiment_tag
    try:
        embodiment_id = projector_index(tag)
    except GrootError as exc:
        raise FinetuneError(f"--embodiment-tag: {exc}") from None
    try:
        base_dir = resolve_checkpoint(cfg.base)
        config = load_config(base_dir)
    except GrootError as exc:
        raise FinetuneError(f"--base {cfg.base}: {exc}") from None
    from groot_sdk.policy.gr00t_versions import detect

    if detect(base_dir) != "n1.5":
        raise FinetuneError(f"--base {cfg.base}: is GR00T {detect(base_dir)}; finetune trains N1.5")
    if layout.state_dim > config.max_state_dim or layout.action_dim > config.max_action_dim:
        raise FinetuneError(
            f"-e {cfg.embodiment}: state {layout.state_dim}-D / action {layout.action_dim}-D do "
            f"not fit GR00T N1.5's {config.max_state_dim} / {config.max_action_dim}"
        )
    out = Path(cfg.out)
    if not cfg.resume and (checkpoints(out) or (out / "model.safetensors").exists()):
        raise FinetuneError(
            f"--out {out}: already holds a fine-tuned model or checkpoints; add --resume to "
            "continue it or choose another directory"
        )
    if cfg.resume and not checkpoints(out):
        raise FinetuneError(f"--resume: {out}/checkpoints has no step-N checkpoint to resume")

    ddp = DistributedDataParallelKwargs(find_unused_parameters=cfg.tune_llm or cfg.tune_visual)
    accelerator = Accelerator(
        mixed_precision="bf16" if cfg.precision == "bf16" else "no",
        kwargs_handlers=[ddp],
        # without a GPU, processes started by accelerate launch / torchrun form a gloo group
        cpu=not torch.cuda.is_available(),
    )
    main = accelerator.is_main_process
    world, rank = accelerator.num_processes, accelerator.process_index

    data = TrainingData(cfg.datasets, layout)
    modes = {f"{s}.{k.key}": cfg.normalization for s, keys in
             (("state", layout.state), ("action", layout.action)) for k in keys}  # fmt: skip
    metadata = data.metadata(tag, modes)
    if main:
        (out / "experiment_cfg").mkdir(parents=True, exist_ok=True)
        copy_tokenizer(Path(cfg.tokenizer) if cfg.tokenizer else base_dir, out)
        (out / "experiment_cfg" / "metadata.json").write_text(json.dumps(metadata, indent=2))
        config.to_json_file(str(out / "config.json"))
    accelerator.wait_for_everyone()
    processor = build_processor(out, config, tag, embodiment_id=embodiment_id)

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    try:
        model = load_model(base_dir)
    except CheckpointError as exc:
        raise FinetuneError(f"--base {cfg.base}: {exc}") from None
    set_trainable(
        model, cfg.tune_llm, cfg.tune_visual, cfg.tune_projector, cfg.tune_diffusion_model
    )
    if cfg.lora_rank:
        add_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_llm)
    model.train()
    frozen_to_eval(model)
    params = [p for p in model.parameters() if p.requires_grad]
    n_train = sum(p.numel() for p in params)
    n_total = sum(p.numel() for p in model.parameters())

    max_steps = plan_steps(cfg, len(data), world)
    optimizer = torch.optim.AdamW(
        params, lr=cfg.lr, betas=(0.95, 0.999), eps=1e-8, weight_decay=cfg.weight_decay
    )
    warmup = math.ceil(cfg.warmup_ratio * max_steps)
    scheduler = get_cosine_schedule_with_warmup(optimizer, warmup, max_steps)
    objective = FlowMatchingObjective(model)
    objective, optimizer = accelerator.prepare(objective, optimizer)
    accelerator.register_for_checkpointing(scheduler)  # stepped here: once per optimizer step

    start = 0
    if cfg.resume:
        last = checkpoints(out)[-1]
        accelerator.load_state(str(last))
        state = json.loads((last / STATE_FILE).read_text())
        start = int(state["step"])
        if state.get("global_batch") != cfg.batch_size * world * cfg.grad_accum:
            log.warning("resuming with another global batch than %s: the data order differs",
                        state.get("global_batch"))  # fmt: skip
        if main:
            log.info("resumed from %s (step %d)", last, start)

    encoder = SampleEncoder(
        data, processor, FlowSchedule.from_head_cfg(config.action_head_cfg),
        int(cfg.frame_cache_gb * 2**30),
    )  # fmt: skip
    batches = MicroBatches(encoder, cfg.batch_size, world, rank, cfg.seed, embodiment_id)
    loader = torch.utils.data.DataLoader(
        batches,
        batch_size=None,
        sampler=range(start * cfg.grad_accum, max_steps * cfg.grad_accum),
        num_workers=cfg.workers,
        persistent_workers=cfg.workers > 0,
    )
    runlog = RunLog(out / "logs", main, cfg.resume)
    bar = None
    if main and cfg.progress:
        tqdm = require("tqdm", "data", "progress bars").tqdm
        bar = tqdm(total=max_steps, initial=start, desc="finetune", unit="step", dynamic_ncols=True)
    if main:
        log.info(
            "training %d of %d parameters, %d samples, %d steps x global batch %d (%d process(es))",
            n_train, n_total, len(data), max_steps, cfg.batch_size * world * cfg.grad_accum, world,
        )  # fmt: skip

    device = accelerator.device
    t0 = time.perf_counter()
    t_log, s_log = t0, start
    losses: list[float] = []
    stream = iter(loader)
    step = start
    try:
        for step in range(start + 1, max_steps + 1):
            total = torch.zeros((), device=device)
            for micro in range(cfg.grad_accum):
                batch = {k: v.to(device, non_blocking=True) for k, v in next(stream).items()}
                sync = micro == cfg.grad_accum - 1
                with contextlib.nullcontext() if sync else accelerator.no_sync(objective):
                    loss = objective(**batch)
                    accelerator.backward(loss / cfg.grad_accum)
                total += loss.detach() / cfg.grad_accum
            grad_norm = float("nan")
            if cfg.max_grad_norm > 0:
                grad_norm = float(accelerator.clip_grad_norm_(params, cfg.max_grad_norm))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            mean_loss = float(accelerator.reduce(total, reduction="mean"))
            losses.append(mean_loss)
            if not math.isfinite(mean_loss):
                raise FinetuneError(f"the loss became {mean_loss} at step {step}: lower --lr")
            if step % cfg.log_every == 0 or step == max_steps:
                now = time.perf_counter()
                rate = (step - s_log) / max(now - t_log, 1e-9)
                global_batch = cfg.batch_size * world * cfg.grad_accum
                runlog.write({
                    "step": step, "epoch": step * global_batch / len(data), "loss": mean_loss,
                    "lr": scheduler.get_last_lr()[0], "grad_norm": grad_norm,
                    "steps_per_s": rate, "samples_per_s": rate * global_batch,
                    "elapsed_s": now - t0,
                })  # fmt: skip
                t_log, s_log = now, step
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{mean_loss:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            if cfg.save_every and step % cfg.save_every == 0 and step < max_steps:
                _save_state(accelerator, out, step, cfg, world)
    finally:
        if bar is not None:
            bar.close()
        runlog.close()
    train_s = time.perf_counter() - t0
    _save_state(accelerator, out, step, cfg, world)

    accelerator.wait_for_everyone()
    if cfg.lora_rank:
        unwrapped = accelerator.unwrap_model(objective).model
        merge_lora(unwrapped)
        state = unwrapped.state_dict()
    else:
        full = accelerator.get_state_dict(objective)
        state = {k.removeprefix("model."): v for k, v in full.items()}
    summary: dict[str, Any] = {}
    if main:
        save_checkpoint(_Weights(config, state), out, metadata)
        png = plot_loss(out / "logs" / "train.csv", out / "logs" / "loss_curve.png",
                        f"{cfg.embodiment}: {Path(cfg.base).name}")  # fmt: skip
        tail = losses[-max(1, min(10, len(losses))) :] if losses else [float("nan")]
        summary = {
            "checkpoint": str(out),
            "steps": step,
            "resumed_from": start,
            "train_seconds": round(train_s, 2),
            "steps_per_s": round((step - start) / max(train_s, 1e-9), 3),
            "first_loss": losses[0] if losses else None,
            "final_loss": sum(tail) / len(tail),
            "samples": len(data),
            "episodes": len(data.episodes),
            "global_batch": cfg.batch_size * world * cfg.grad_accum,
            "processes": world,
            "precision": cfg.precision,
            "trainable_params": n_train,
            "total_params": n_total,
            "lora_rank": cfg.lora_rank,
            "peak_memory_mb": round(peak_memory_mb(device), 1),
            "embodiment_tag": tag,
            "embodiment_id": embodiment_id,
            "loss_curve": str(png) if png else None,
        }
        (out / "logs" / "summary.json").write_text(json.dumps(summary, indent=2))
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return summary


def _save_state(accelerator: Any, out: Path, step: int, cfg: FinetuneConfig, world: int) -> None:
    target = out / "checkpoints" / f"step-{step:07d}"
    accelerator.save_state(str(target))
    if accelerator.is_main_process:
        state = {
            "step": step,
            "global_batch": cfg.batch_size * world * cfg.grad_accum,
            "processes": world,
            "seed": cfg.seed,
        }
        (target / STATE_FILE).write_text(json.dumps(state))
        for old in checkpoints(out)[: -cfg.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
