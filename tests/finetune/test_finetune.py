"""groot finetune: the checkpoint it writes, the recipe it follows, its errors, resuming."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from .conftest import ROOT, groot
from .n15_checkpoint_rules import check_config, load_policy_metadata


def _n15_dataset_standin():
    """tests/data/groot_n15_loader.py: Isaac-GR00T N1.5's LeRobotSingleDataset rules."""
    spec = importlib.util.spec_from_file_location(
        "groot_n15_loader", ROOT / "tests" / "data" / "groot_n15_loader.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.N15Dataset


def test_checkpoint_follows_n15_loader_rules(trained, demos):
    """config.json and experiment_cfg/metadata.json pass N1.5's schema (stand-in, see
    n15_checkpoint_rules.py); the statistics are those of the dataset as N1.5's dataset loader
    reads it (tests/data stand-in); the tokenizer files travel with the checkpoint."""
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (trained / name).is_file(), name
    check_config(trained)
    meta = load_policy_metadata(trained, "new_embodiment")
    assert list(meta.modalities.state) == [
        "eef_position", "gripper_qpos", "eef_velocity", "gripper_qvel", "object_position",
        "goal_position",
    ]  # fmt: skip
    assert meta.modalities.video["front"].resolution == (224, 224)
    N15Dataset = _n15_dataset_standin()
    ds = N15Dataset(demos, {"state.goal_position": [0], "action.eef_delta": list(range(16))})
    for section, key in (("state", "goal_position"), ("action", "eef_delta")):
        ours = getattr(meta.statistics, section)[key]
        theirs = ds.statistics[section][key]
        for stat in ("min", "max", "mean"):
            np.testing.assert_allclose(getattr(ours, stat), theirs[stat], rtol=1e-5, atol=1e-6)
    # every training sample's action chunk is what N1.5's loader serves (last row repeated)
    from groot_sdk.finetune.data import TrainingData
    from groot_sdk.modality.layout import ModalityLayout
    from groot_sdk.plugins import get_registry

    layout = ModalityLayout.from_spec(get_registry().embodiment("fetch").spec)
    data = TrainingData([demos], layout)
    episode, step = data.locate(len(data.episodes[0].action) - 3)
    chunk = ds.state_or_action(episode.index, "action", "eef_delta", step)
    last = np.minimum(np.arange(step, step + 16), len(episode.action) - 1)
    np.testing.assert_allclose(episode.action[last, :3], chunk, atol=1e-6)


def test_checkpoint_loads_through_automodel_and_backends(trained):
    import torch
    from safetensors import safe_open
    from transformers import AutoModel

    import groot_sdk.models  # noqa: F401  (registers gr00t_n1_5)
    from groot_sdk.models.gr00t_n15 import GR00TN15
    from groot_sdk.plugins import get_registry

    model = AutoModel.from_pretrained(str(trained))
    assert isinstance(model, GR00TN15)
    with safe_open(str(trained / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
        assert not [k for k in keys if "lora" in k or k.startswith("model.")]
        w = f.get_tensor("action_head.action_decoder.layer2.W")
    assert torch.equal(model.action_head.action_decoder.layer2.W.detach(), w)
    spec = get_registry().embodiment("fetch").spec
    backend = get_registry().backend("torch").create(spec, checkpoint=str(trained), seed=0)
    assert [k.key for k in backend.layout.action] == ["eef_delta", "gripper"]


def test_training_changes_the_tuned_parts_only(trained, tiny_base):
    """Default flags (N1.5's): projector + DiT + VL layers train, the backbone stays frozen."""
    from safetensors.torch import load_file

    before = load_file(str(tiny_base / "model.safetensors"))
    after = load_file(str(trained / "model.safetensors"))
    changed = {k for k in before if not np.array_equal(before[k].numpy(), after[k].numpy())}
    assert not [k for k in changed if k.startswith("backbone.")]
    for prefix in ("action_head.model.", "action_head.state_encoder.", "action_head.action_encoder.",
                   "action_head.action_decoder.", "action_head.vl_self_attention."):  # fmt: skip
        assert any(k.startswith(prefix) for k in changed), prefix


def test_logs_and_summary(trained):
    summary = json.loads((trained / "logs" / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["global_batch"] == 4
    assert summary["peak_memory_mb"] > 0
    rows = (trained / "logs" / "train.csv").read_text().strip().splitlines()
    assert rows[0].startswith("step,epoch,loss,lr") and len(rows) == 5
    assert (trained / "logs" / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_flow_schedule_is_n15s():
    """t = (s - u) / s with u ~ Beta(1.5, 1), s = 0.999 (N1.5's sample_time): E[t] = (s - 0.6) / s."""
    from groot_sdk.finetune.batches import FlowSchedule
    from groot_sdk.models.gr00t_n15.config import DEFAULT_ACTION_HEAD_CFG

    sched = FlowSchedule.from_head_cfg(DEFAULT_ACTION_HEAD_CFG)
    assert (sched.alpha, sched.beta, sched.s) == (1.5, 1.0, 0.999)
    rng = np.random.default_rng(0)
    t = np.array([sched.sample(rng) for _ in range(40_000)])
    assert abs(t.mean() - (0.999 - 0.6) / 0.999) < 0.005
    assert t.min() > -0.002 and t.max() <= 1.0


def test_objective_is_the_masked_velocity_error(tiny_base):
    """The loss equals N1.5's formula computed by hand from the head's own velocity()."""
    import torch

    from groot_sdk.finetune.objective import FlowMatchingObjective
    from groot_sdk.models.gr00t_n15.loading import load_model

    model = load_model(tiny_base).eval()
    torch.manual_seed(0)
    b, h, d = 3, 16, 32
    batch = {
        "pixel_values": torch.randn(b, 3, 28, 28),
        "input_ids": torch.randint(0, 20, (b, 9)),
        "attention_mask": torch.ones(b, 9, dtype=torch.long),
        "state": torch.randn(b, 1, 64),
        "embodiment_id": torch.full((b,), 31),
        "action": torch.rand(b, h, d) * 2 - 1,
        "action_mask": torch.zeros(b, h, d),
        "noise": torch.randn(b, h, d),
        "t": torch.tensor([0.1, 0.5, 0.97]),
    }
    batch["action_mask"][..., :4] = 1
    with torch.no_grad():
        loss = FlowMatchingObjective(model)(**batch)
        head = model.action_head
        feats = head.process_backbone_features(
            model.backbone(batch["pixel_values"], batch["input_ids"], batch["attention_mask"])
        )
        t = batch["t"][:, None, None]
        x = (1 - t) * batch["noise"] + t * batch["action"]
        v = head.velocity(
            x,
            (batch["t"] * 1000).long(),
            head.state_encoder(batch["state"], batch["embodiment_id"]),
            feats,
            batch["embodiment_id"],
        )
        want = (((v - (batch["action"] - batch["noise"])) ** 2)[..., :4]).mean()
    assert torch.allclose(loss, want, rtol=1e-5)


def test_resume_continues_exactly(demos, tiny_base, tmp_path):
    """A run cut after step 2 and resumed with --resume ends where an uncut run ends: same
    losses at steps 3-4 (data order, noise, optimizer and lr schedule restored) and weights
    (to 1e-5: multi-threaded CPU sums are not bit-reproducible between processes)."""
    import shutil

    from safetensors.torch import load_file

    common = ["finetune", "-e", "fetch", "--dataset", str(demos), "--base", str(tiny_base),
              "--batch-size", "4", "--no-progress", "--json", "--lr", "1e-3", "--max-steps", "4",
              "--save-every", "2", "--keep-checkpoints", "3"]  # fmt: skip
    for name in ("a", "b"):
        done = groot(*common, "--out", str(tmp_path / name))
        assert done.returncode == 0, done.stderr[-2000:]
    cut = tmp_path / "b"  # make b look like a run killed right after its step-2 checkpoint
    shutil.rmtree(cut / "checkpoints" / "step-0000004")
    (cut / "model.safetensors").unlink()
    log = cut / "logs" / "train.csv"
    log.write_text("\n".join(log.read_text().splitlines()[:3]) + "\n")
    again = groot(*common, "--out", str(cut), "--resume")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["resumed_from"] == 2
    a = [r.split(",")[2] for r in (tmp_path / "a" / "logs" / "train.csv").read_text().splitlines()]
    b = [r.split(",")[2] for r in log.read_text().splitlines()]
    assert len(a) == len(b) == 5
    np.testing.assert_allclose([float(x) for x in b[1:]], [float(x) for x in a[1:]], rtol=1e-5)
    wa = load_file(str(tmp_path / "a" / "model.safetensors"))
    wb = load_file(str(cut / "model.safetensors"))
    for key in wa:
        if key.endswith("to_k.bias"):  # zero true gradient: Adam-scaled rounding noise
            continue
        np.testing.assert_allclose(wb[key].numpy(), wa[key].numpy(), atol=1e-5, err_msg=key)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-steps", "2", "--epochs", "1"], "exactly one of --max-steps and --epochs"),
        (["--max-steps", "2", "--dataset", "/nonexistent/ds"], "/nonexistent/ds"),
        (["--max-steps", "2", "--embodiment-tag", "mystery_bot"], "mystery_bot"),
        (["--max-steps", "2", "--lora-llm"], "--lora-llm needs --lora-rank"),
        (["--max-steps", "2", "--lr", "nan"], "--lr"),
        (["--max-steps", "2", "--weight-decay", "inf"], "--weight-decay"),
        (["--epochs", "nan"], "--epochs"),
        (
            ["--max-steps", "2", "--no-tune-projector", "--no-tune-diffusion-model"],
            "nothing to train",
        ),
    ],
)
def test_bad_options_give_one_line_errors(demos, tiny_base, tmp_path, args, message):
    done = groot("finetune", "-e", "fetch", "--dataset", str(demos), "--base", str(tiny_base),
                 "--out", str(tmp_path / "o"), "--no-progress", *args)  # fmt: skip
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and message in errors[0], done.stderr[-2000:]


def test_dataset_of_another_embodiment_is_named(demos, tiny_base, tmp_path):
    import shutil

    ds = tmp_path / "ds"
    shutil.copytree(demos, ds)
    mod = json.loads((ds / "meta" / "modality.json").read_text())
    del mod["state"]["goal_position"]
    (ds / "meta" / "modality.json").write_text(json.dumps(mod))
    done = groot("finetune", "-e", "fetch", "--dataset", str(ds), "--base", str(tiny_base),
                 "--out", str(tmp_path / "o"), "--max-steps", "1", "--no-progress")  # fmt: skip
    assert done.returncode != 0
    assert "state.goal_position" in done.stderr and str(ds) in done.stderr


def test_out_with_a_model_needs_resume(trained, demos, tiny_base):
    done = groot("finetune", "-e", "fetch", "--dataset", str(demos), "--base", str(tiny_base),
                 "--out", str(trained), "--max-steps", "1", "--no-progress")  # fmt: skip
    assert done.returncode != 0 and "--resume" in done.stderr


def test_lora_is_merged_into_released_names(demos, tiny_base, tmp_path):
    pytest.importorskip("peft", reason="LoRA needs peft (the finetune extra)")
    from safetensors.torch import load_file

    out = tmp_path / "lora"
    done = groot("finetune", "-e", "fetch", "--dataset", str(demos), "--base", str(tiny_base),
                 "--out", str(out), "--max-steps", "3", "--batch-size", "4", "--lora-rank", "4",
                 "--no-tune-projector", "--lr", "1e-2", "--no-progress", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["trainable_params"] < summary["total_params"] / 4
    before = load_file(str(tiny_base / "model.safetensors"))
    after = load_file(str(out / "model.safetensors"))
    assert set(before) == set(after)
    q = "action_head.model.transformer_blocks.0.attn1.to_q.weight"
    assert not np.allclose(before[q].numpy(), after[q].numpy())  # the adapter, merged
    enc = "action_head.state_encoder.layer1.W"
    assert np.array_equal(before[enc].numpy(), after[enc].numpy())  # projector frozen


def test_lerobot_v30_dataset_trains_like_its_v21_source(demos, tiny_base, tmp_path):
    """The same episodes packed into LeRobot v3.0 (groot_sdk.data.v30, many episodes per file)
    give the same statistics and the same loss curve as the v2.1 dataset they came from."""
    from groot_sdk.data import v30

    packed = tmp_path / "v30"
    v30.pack(demos, packed)
    assert v30.version_of(packed) == "v3.0"
    common = ["finetune", "-e", "fetch", "--base", str(tiny_base), "--batch-size", "4",
              "--max-steps", "3", "--no-progress", "--json"]  # fmt: skip
    for name, ds in (("from21", demos), ("from30", packed)):
        done = groot(*common, "--dataset", str(ds), "--out", str(tmp_path / name))
        assert done.returncode == 0, done.stderr[-3000:]
    meta = [json.loads((tmp_path / n / "experiment_cfg" / "metadata.json").read_text())
            for n in ("from21", "from30")]  # fmt: skip
    assert meta[0] == meta[1]
    a, b = (
        (tmp_path / n / "logs" / "train.csv").read_text().splitlines() for n in ("from21", "from30")
    )
    assert a[0] == b[0] and len(a) == len(b)
    # the same samples and noise: equal up to float32 summation order (seen: 1.1e-7 relative)
    losses = [[float(r.split(",")[2]) for r in rows[1:]] for rows in (a, b)]
    assert np.allclose(losses[0], losses[1], rtol=1e-5, atol=0)


def test_bf16_mixed_precision_keeps_fp32_weights(demos, tiny_base, tmp_path):
    from safetensors import safe_open

    out = tmp_path / "bf16"
    done = groot("finetune", "-e", "fetch", "--dataset", str(demos), "--base", str(tiny_base),
                 "--out", str(out), "--max-steps", "2", "--batch-size", "4", "--precision",
                 "bf16", "--no-progress", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["precision"] == "bf16" and np.isfinite(summary["final_loss"])
    with safe_open(str(out / "model.safetensors"), framework="pt") as f:
        assert f.get_tensor("action_head.action_decoder.layer2.W").dtype.is_floating_point
        assert str(f.get_tensor("action_head.action_decoder.layer2.W").dtype) == "torch.float32"


def test_epochs_budget_counts_global_batches():
    from pathlib import Path

    from groot_sdk.finetune.config import FinetuneConfig
    from groot_sdk.finetune.trainer import plan_steps

    cfg = FinetuneConfig(datasets=(Path("d"),), base="b", out=Path("o"), embodiment="fetch",
                         epochs=1.5, batch_size=32, grad_accum=2)  # fmt: skip
    assert plan_steps(cfg, samples=1000, world=2) == 12  # ceil(1.5 * 1000 / (32 * 2 * 2))
    assert plan_steps(cfg, samples=1000, world=1) == 24


def test_loader_workers_do_not_change_the_stream(demos, tiny_base, tmp_path):
    """--workers N decodes in N processes; micro-batch k is still the same samples and noise."""
    curves = []
    for workers in ("0", "2"):
        out = tmp_path / f"w{workers}"
        done = groot("finetune", "-e", "fetch", "--dataset", str(demos), "--base", str(tiny_base),
                     "--out", str(out), "--max-steps", "3", "--batch-size", "4", "--workers",
                     workers, "--threads", "1", "--no-progress", "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        curves.append(
            [r.split(",")[2] for r in (out / "logs" / "train.csv").read_text().splitlines()]
        )
    assert curves[0] == curves[1] and len(curves[0]) == 4


def test_gradient_accumulation_matches_the_larger_batch(demos, tiny_base, tmp_path):
    """Batch 2 x 2 accumulation steps = batch 4: the same samples and noise per optimizer step,
    the gradient of the same mean (losses to 1e-5 relative)."""
    curves = []
    for batch, accum in (("4", "1"), ("2", "2")):
        out = tmp_path / f"b{batch}"
        done = groot("finetune", "-e", "fetch", "--dataset", str(demos), "--base", str(tiny_base),
                     "--out", str(out), "--max-steps", "4", "--batch-size", batch, "--grad-accum",
                     accum, "--lr", "1e-3", "--threads", "1", "--no-progress", "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        rows = (out / "logs" / "train.csv").read_text().splitlines()[1:]
        curves.append([float(r.split(",")[2]) for r in rows])
    assert len(curves[0]) == 4
    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-5)
