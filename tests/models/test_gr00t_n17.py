"""GR00T N1.7 (groot_sdk.models.gr00t_n17): tiny checkpoint, loading, backends, export, and
parity with the reference.

The reference is LeRobot 0.6.1's native N1.7 policy (PyPI ``lerobot==0.6.1``, Apache-2.0):
``lerobot/policies/groot/groot_n1_7.py`` and ``action_head/cross_attention_dit.py`` (model),
``utils.py`` (language formatting, statistics flattening, relative EEF decoding). nox's
``tests`` session downloads that wheel and diffusers (which the reference's DiT is built on)
without dependencies and unpacks them into a folder named by ``GROOT_N17_REFERENCE``; the
modules are imported from there by path, with LeRobot's package ``__init__``s (and its
import-availability / config helpers, which pull in LeRobot's whole training stack) replaced by
empty stand-ins. Without that folder the parity tests skip and say so.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest

REF_ENV = "GROOT_N17_REFERENCE"
LANG = "annotation.human.task_description"


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def n17_checkpoint(tmp_path_factory):
    from groot_sdk.models.gr00t_n17.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("n17") / "ckpt", seed=0)


@pytest.fixture(scope="module")
def relative_checkpoint(tmp_path_factory):
    from groot_sdk.models.gr00t_n17.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(
        tmp_path_factory.mktemp("n17rel") / "ckpt",
        cameras=("front", "wrist"),
        seed=1,
        relative=("single_arm",),
    )


@pytest.fixture(scope="module")
def n17_backend(n17_checkpoint):
    from groot_sdk.plugins import get_registry

    return get_registry().backend("torch").create(None, checkpoint=str(n17_checkpoint), seed=5)


@pytest.fixture(scope="module")
def n17_onnx(n17_checkpoint, tmp_path_factory):
    """``groot export-onnx`` of the tiny N1.7 checkpoint, through the CLI."""
    pytest.importorskip("onnxruntime", reason="needs the onnx extra")
    pytest.importorskip("onnxscript", reason="torch's ONNX exporter needs onnxscript")
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli

    out = tmp_path_factory.mktemp("n17_onnx") / "onnx"
    result = CliRunner().invoke(cli, ["export-onnx", str(n17_checkpoint), str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out


def observations(processor, n=2):
    from groot_sdk.models.gr00t_n17.runtime import synthetic_observation

    obs = [synthetic_observation(processor, seed=i) for i in range(n)]
    obs[-1][LANG] = ["Place it in the RED box, and pick up the blue cube!"]  # longer: padding
    return obs


def tensors(inputs):
    import torch

    return [
        torch.from_numpy(x)
        for x in (
            inputs.pixel_values,
            inputs.input_ids,
            inputs.attention_mask,
            inputs.position_ids,
            inputs.state,
            inputs.embodiment_id,
        )
    ]


# -- the reference -----------------------------------------------------------------------------
_REFERENCE: list = []


def reference():
    """LeRobot 0.6.1's N1.7 modules, imported by path without LeRobot's package init.

    Imported once; afterwards the ``lerobot`` names and the folder leave ``sys.modules`` and
    ``sys.path`` again, so later tests in this process still see no LeRobot installed."""
    if _REFERENCE:
        return _REFERENCE[0]
    root = os.environ.get(REF_ENV)
    if not root or not (Path(root) / "lerobot/policies/groot/groot_n1_7.py").is_file():
        pytest.skip(
            f"{REF_ENV} does not name an unpacked lerobot==0.6.1 + diffusers folder "
            "(nox -s tests prepares it)"
        )
    if "lerobot" in sys.modules or importlib.util.find_spec("lerobot") is not None:
        pytest.skip("a LeRobot is installed here: the 0.6.1 reference is loaded where none is")
    if root not in sys.path:
        sys.path.append(root)  # after the venv: only what the venv lacks comes from there
    pytest.importorskip("diffusers", reason=f"{REF_ENV} lacks diffusers")
    base = Path(root) / "lerobot"
    for name, path in [
        ("lerobot", base),
        ("lerobot.utils", base / "utils"),
        ("lerobot.policies", base / "policies"),
        ("lerobot.policies.groot", base / "policies/groot"),
    ]:
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [str(path)]
            sys.modules[name] = module
    flags = types.ModuleType("lerobot.utils.import_utils")
    flags._transformers_available = True
    flags._diffusers_available = True
    flags.require_package = lambda *a, **k: None
    sys.modules.setdefault(flags.__name__, flags)
    consts = types.ModuleType("lerobot.policies.groot.configuration_groot")
    consts.N1_7_DEFAULT_IMAGE_TARGET_SIZE = (256, 256)  # configuration_groot.py's values
    consts.N1_7_DEFAULT_IMAGE_CROP_SIZE = (230, 230)
    sys.modules.setdefault(consts.__name__, consts)
    try:
        model = importlib.import_module("lerobot.policies.groot.groot_n1_7")
        if not Path(model.__file__).is_relative_to(root):
            pytest.skip(f"another lerobot ({model.__file__}) is already imported")
        utils = importlib.import_module("lerobot.policies.groot.utils")
    finally:
        for name in [n for n in sys.modules if n == "lerobot" or n.startswith("lerobot.")]:
            del sys.modules[name]
        sys.path.remove(root)
    _REFERENCE.append((model, utils))
    return model, utils


def reference_model(ref, ours, tmp_path):
    """The reference N1.7 with our tiny config, our weights loaded strictly."""
    config = ours.config.to_dict()
    backbone_dir = tmp_path / "qwen3vl"
    backbone_dir.mkdir()
    (backbone_dir / "config.json").write_text(json.dumps(ours.config.qwen3_vl_config))
    config["model_name"] = str(backbone_dir)  # its Qwen3Backbone reads the config from there
    drop = ("model_type", "architectures", "transformers_version", "backbone_config")
    kwargs = {k: v for k, v in config.items() if k not in drop and not k.startswith("_")}
    saved = ref._register_with_transformers
    ref._register_with_transformers = lambda: None  # keep our Auto registration
    try:
        model = ref.GR00TN17(
            ref.GR00TN17Config(**kwargs),
            transformers_loading_kwargs={},
            load_backbone_weights=False,
        ).eval()
    finally:
        ref._register_with_transformers = saved
    model.load_state_dict(ours.state_dict(), strict=True)
    return model


@pytest.mark.parametrize("which", ["n17_checkpoint", "relative_checkpoint"])
def test_reference_parity_whole_policy(which, request, tmp_path):
    """Backbone + head, two prompts of different length (left padding), same injected noise:
    max abs error < 1e-4 in fp32 against LeRobot 0.6.1's GR00TN17 (one camera; two cameras with
    relative actions)."""

    from groot_sdk.models.gr00t_n17.backends import create

    ref, _ = reference()
    parity(ref, create("torch", None, request.getfixturevalue(which), seed=5), tmp_path)


def test_reference_parity_at_real_widths(tmp_path):
    """The same at N1.7's real widths (vision 1024 with the 48 x 48 position table, LM 2048 with
    head_dim 128 and M-RoPE sections 24/20/20, DiT 1536), fewer layers."""
    import torch

    from groot_sdk.models.gr00t_n17.backends import create
    from groot_sdk.models.gr00t_n17.tiny import build_tiny_checkpoint, wide_config_dict

    ref, _ = reference()
    config = wide_config_dict(
        vision_layers=2, llm_layers=2, dit_layers=4, vocab_size=512, embodiments=3
    )
    config["backbone_config"]["vision_config"]["deepstack_visual_indexes"] = [0, 1]
    ckpt = build_tiny_checkpoint(
        tmp_path / "wide", cameras=("front", "wrist"), tag="libero_sim", config=config
    )
    backend = create("torch", None, ckpt, seed=5)
    shutil.rmtree(ckpt)  # 1.7 GB that pytest would keep for three runs; the model is loaded
    with torch.no_grad():  # weights at a trained model's scale, so activations stay O(1)
        for name, param in backend.model.named_parameters():
            if not name.endswith(("norm.weight", "norm1.weight", "norm2.weight", "norm3.weight")):
                param.normal_(0.0, 0.02)
    parity(ref, backend, tmp_path)


def parity(ref, n17_backend, tmp_path):
    import torch
    from transformers.feature_extraction_utils import BatchFeature

    ours = n17_backend.model
    theirs = reference_model(ref, ours, tmp_path)
    inputs = n17_backend.processor.collate(observations(n17_backend.processor))
    assert (inputs.attention_mask == 0).any()  # the padded path is exercised
    noise = torch.from_numpy(n17_backend.noise(2))
    pixels, ids, mask, positions, state, emb = tensors(inputs)
    got = ours.get_action(pixels, ids, mask, positions, state, emb, noise)

    grid = torch.tensor([list(ours.backbone.grid)] * pixels.shape[0])
    feed = BatchFeature(
        data={
            "input_ids": ids,
            "attention_mask": mask,
            "pixel_values": pixels.reshape(-1, pixels.shape[-1]),
            "image_grid_thw": grid,
        }
    )
    real_randn = torch.randn
    ref.torch.randn = lambda *a, **k: noise.clone()  # the reference draws its own noise
    try:
        with torch.no_grad():
            out = theirs.backbone(feed)
            features = out["backbone_features"].clone()
            want = theirs.action_head.get_action(
                out, BatchFeature(data={"state": state, "embodiment_id": emb})
            )["action_pred"]
    finally:
        ref.torch.randn = real_randn
    with torch.no_grad():
        mine, _ = ours.backbone(pixels, ids, mask, positions)
    assert (mine - features).abs().max().item() < 1e-4
    err = (got - want).abs().max().item()
    assert err < 1e-4, err
    assert want.abs().max().item() > 1.0  # not a trivially small output
    return err


def test_reference_language_and_statistics(n17_checkpoint):
    """Prompt formatting and the flattened state statistics agree with LeRobot 0.6.1's
    ``prepare_n1_7_language_batch`` and ``flatten_n1_7_modality_stats``."""
    from groot_sdk.models.gr00t_n17.processing import formalize, processor_kwargs

    _, utils = reference()
    texts = ["Pick up the Cube!", "place it_in the box, then: stop.", "A-B c"]
    want = utils.prepare_n1_7_language_batch(texts, 3, formalize_language=True)
    assert [formalize(t) for t in texts] == want
    kwargs = processor_kwargs(n17_checkpoint)
    stats = json.loads((n17_checkpoint / "statistics.json").read_text())["new_embodiment"]
    flat = utils.flatten_n1_7_modality_stats(
        embodiment_stats=stats,
        embodiment_config=kwargs["modality_configs"]["new_embodiment"],
        modality="state",
        use_percentiles=True,
        use_relative_action=False,
    )
    from groot_sdk.models.gr00t_n17.loading import load_config
    from groot_sdk.models.gr00t_n17.processing import build_processor

    proc = build_processor(n17_checkpoint, load_config(n17_checkpoint))
    lo = np.concatenate([proc._range("state", k.key)[0] for k in proc.metadata.state])
    hi = np.concatenate([proc._range("state", k.key)[1] for k in proc.metadata.state])
    np.testing.assert_allclose(lo, flat["min"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(hi, flat["max"], rtol=0, atol=1e-7)


def test_relative_eef_matches_reference():
    from groot_sdk.models.gr00t_n17.processing import relative_eef_to_absolute

    _, utils = reference()
    rng = np.random.default_rng(0)
    ref_pose = rng.normal(size=9).astype(np.float32)
    deltas = rng.normal(size=(5, 9)).astype(np.float32)
    want = utils.relative_eef_to_absolute(deltas[None], ref_pose[None])[0]
    np.testing.assert_allclose(relative_eef_to_absolute(deltas, ref_pose), want, atol=1e-5)


# -- checkpoint, config, loading ---------------------------------------------------------------
def test_tiny_checkpoint_schema_and_auto_model(n17_checkpoint):
    import torch
    from transformers import AutoConfig, AutoModel

    import groot_sdk.models  # noqa: F401  (registers Gr00tN1d7)
    from groot_sdk.models.gr00t_n17 import GR00TN17, GR00TN17Config
    from groot_sdk.models.gr00t_n17.config import DEFAULTS

    cfg = json.loads((n17_checkpoint / "config.json").read_text())
    assert cfg["model_type"] == "Gr00tN1d7"
    assert set(DEFAULTS) <= set(cfg)
    assert (cfg["max_state_dim"], cfg["max_action_dim"], cfg["action_horizon"]) == (132, 132, 40)
    for name in ("statistics.json", "embodiment_id.json", "processor_config.json"):
        assert (n17_checkpoint / name).is_file()
    from safetensors import safe_open

    with safe_open(str(n17_checkpoint / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
    for key in (
        "backbone.model.model.visual.patch_embed.proj.weight",
        "backbone.model.model.visual.deepstack_merger_list.0.linear_fc1.weight",
        "backbone.model.model.language_model.layers.1.self_attn.q_norm.weight",
        "backbone.model.model.language_model.norm.weight",
        "action_head.model.transformer_blocks.0.attn1.to_k.weight",
        "action_head.vl_self_attention.transformer_blocks.0.ff.net.0.proj.weight",
        "action_head.state_encoder.layer1.W",
        "action_head.action_encoder.W2.W",
        "action_head.position_embedding.weight",
    ):
        assert key in keys, key
    assert not any(k.startswith("backbone.model.lm_head") for k in keys)
    assert not any(".layers.2." in k for k in keys)  # cut to select_layer = 2
    assert not any("future_tokens" in k for k in keys)

    assert isinstance(AutoConfig.from_pretrained(str(n17_checkpoint)), GR00TN17Config)
    model = AutoModel.from_pretrained(str(n17_checkpoint))
    assert isinstance(model, GR00TN17)
    lm = model.backbone.language_model
    assert len(lm.layers) == 2
    assert model.backbone.model.lm_head.weight is lm.embed_tokens.weight
    assert model.action_head.model.transformer_blocks[0].attn1.to_k.in_features == 32
    assert torch.equal(
        model.action_head.state_encoder.layer1.W,
        model.state_dict()["action_head.state_encoder.layer1.W"],
    )


def test_corrupted_checkpoint_names_key_and_shape(n17_checkpoint, tmp_path):
    from safetensors.torch import load_file, save_file

    from groot_sdk.models.gr00t_n17.loading import CheckpointError, load_model

    ckpt = shutil.copytree(n17_checkpoint, tmp_path / "ckpt")
    state = load_file(str(ckpt / "model.safetensors"))
    del state["action_head.vlln.weight"]
    key = "backbone.model.model.language_model.layers.0.mlp.gate_proj.weight"
    state[key] = state[key][:-3].clone()
    state["action_head.state_encoder.layer1.W"] = state[
        "action_head.state_encoder.layer1.W"
    ].reshape(32, 66, -1)
    save_file(state, str(ckpt / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        load_model(ckpt)
    text = str(err.value)
    assert "missing keys (1): action_head.vlln.weight" in text
    assert f"{key}: checkpoint [61, 32] vs model [64, 32]" in text
    assert (
        "action_head.state_encoder.layer1.W: checkpoint [32, 66, 64] vs model [32, 132, 32]" in text
    )

    # a file cut short is named
    whole = (n17_checkpoint / "model.safetensors").read_bytes()
    (ckpt / "model.safetensors").write_bytes(whole[:-100])
    with pytest.raises(CheckpointError, match="model.safetensors is not a readable safetensors"):
        load_model(ckpt)
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["model_type"] = "Gr00tN1d6"
    (ckpt / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="model_type is 'Gr00tN1d6', expected 'Gr00tN1d7'"):
        load_model(ckpt)


def test_hub_repo_from_offline_cache(n17_checkpoint, tmp_path, monkeypatch):
    import huggingface_hub.constants as hc

    from groot_sdk.models.gr00t_n17.loading import load_model

    cache = tmp_path / "hub"
    repo = cache / "models--acme--gr00t-n17-tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(n17_checkpoint, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    model = load_model("acme/gr00t-n17-tiny", local_files_only=True)
    assert model.checkpoint_dir.name == commit


def test_embodiment_tags(n17_checkpoint, tmp_path):
    from groot_sdk.errors import ModalityError
    from groot_sdk.models.gr00t_n17.config import EMBODIMENT_TAG_MAPPING, projector_index
    from groot_sdk.models.gr00t_n17.loading import load_config
    from groot_sdk.models.gr00t_n17.processing import build_processor, embodiment_mapping

    assert EMBODIMENT_TAG_MAPPING["new_embodiment"] == 10
    assert EMBODIMENT_TAG_MAPPING["libero_sim"] == 2
    assert EMBODIMENT_TAG_MAPPING["unitree_g1_full_body_with_waist_height_nav_cmd"] == 25
    config = load_config(n17_checkpoint)
    assert build_processor(n17_checkpoint, config).embodiment_id == 10  # embodiment_id.json
    ckpt = shutil.copytree(n17_checkpoint, tmp_path / "ckpt")
    mapping = embodiment_mapping(ckpt)
    mapping["new_embodiment"] = 7
    (ckpt / "embodiment_id.json").write_text(json.dumps(mapping))
    assert build_processor(ckpt, config).embodiment_id == 7  # the checkpoint's table wins
    (ckpt / "embodiment_id.json").unlink()
    assert build_processor(ckpt, config).embodiment_id == 10  # fallback table
    with pytest.raises(ModalityError, match="unknown embodiment tag 'robot_x'"):
        projector_index("robot_x")
    with pytest.raises(ModalityError, match="processor_config.json has no embodiment 'gr1'"):
        build_processor(ckpt, config, "gr1", embodiment_id=3)


# -- processing --------------------------------------------------------------------------------
def test_patches_and_positions_match_transformers(n17_backend):
    """Pixel patches equal transformers' Qwen2-VL image processor's; M-RoPE ids equal
    ``Qwen3VLModel.get_rope_index``'s (padded rows included)."""
    import torch

    from groot_sdk.models.gr00t_n17.processing import patchify

    pil = pytest.importorskip("transformers.models.qwen2_vl.image_processing_pil_qwen2_vl")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    proc = pil.Qwen2VLImageProcessorPil(
        patch_size=16,
        merge_size=2,
        temporal_patch_size=2,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
        size={"shortest_edge": 65536, "longest_edge": 16777216},
    )
    want = proc(images=[image], return_tensors="np")
    mine = patchify(image.transpose(2, 0, 1)[None], 16, 2, 2)
    assert want["image_grid_thw"].tolist() == [[1, 16, 16]]
    np.testing.assert_allclose(mine[0], want["pixel_values"], atol=1e-6)

    processor = n17_backend.processor
    inputs = processor.collate(observations(processor))
    qwen = n17_backend.model.backbone.model.model
    ids = torch.from_numpy(inputs.input_ids)
    token_type = (ids == processor.image_token_id).int()
    grid = torch.tensor([[1, 16, 16]] * inputs.pixel_values.shape[0])
    positions, _ = qwen.get_rope_index(
        ids, token_type, image_grid_thw=grid, attention_mask=torch.from_numpy(inputs.attention_mask)
    )
    np.testing.assert_array_equal(inputs.position_ids, positions.numpy())


def test_prompt_and_images(n17_backend):
    processor = n17_backend.processor
    assert processor.tokens_per_image == 64 and processor.crop == (230, 230)
    text = processor.prompt("pick up the cube", 2)
    one = "<|vision_start|>" + "<|image_pad|>" * 64 + "<|vision_end|>"
    assert text == f"<|im_start|>user\n{one}{one}pick up the cube<|im_end|>\n"
    obs = observations(processor, 1)[0]
    obs[LANG] = ["Pick up the CUBE!!"]
    inputs = processor(obs)
    assert inputs.pixel_values.shape == (1, 256, 1536)
    assert inputs.input_ids[0, -5:].tolist() == [
        processor.tokenizer.token_id(w) for w in ("pick", "up", "the", "cube", "<|im_end|>")
    ]
    # resize 480x640 -> 256x256, centre 230 crop (offset 13), back to 256: a bright centre
    # square survives, a border stripe inside the cropped margin does not
    frame = np.zeros((1, 480, 640, 3), np.uint8)
    frame[:, :20] = 255
    from groot_sdk.models.gr00t_n17.processing import transform_frames

    out = transform_frames(frame, (256, 256), (230, 230))
    assert out.shape == (1, 3, 256, 256)
    assert out[0, :, :3].max() < 30 and out[0, :, 128].max() < 5


def test_state_limits_and_observation_errors(n17_backend, tmp_path):
    from groot_sdk.errors import ModalityError, ObservationError
    from groot_sdk.models.gr00t_n17.loading import load_config
    from groot_sdk.models.gr00t_n17.processing import build_processor
    from groot_sdk.models.gr00t_n17.tiny import build_tiny_checkpoint

    obs = observations(n17_backend.processor, 1)[0]
    bad = dict(obs, **{"state.gripper": np.zeros((1, 2), np.float32)})
    with pytest.raises(ObservationError, match=r"'state.gripper' has shape \[1, 2\]"):
        n17_backend.get_action(bad)
    with pytest.raises(ObservationError, match="lacks 'video.front'"):
        n17_backend.get_action({k: v for k, v in obs.items() if k != "video.front"})
    big = build_tiny_checkpoint(tmp_path / "big", state={"body": 100, "hands": 33})
    with pytest.raises(ModalityError, match="state is 133-D, the model takes at most 132"):
        build_processor(big, load_config(big))


def test_normalisation_is_min_max_with_percentiles_and_clipping(n17_backend):
    processor = n17_backend.processor
    q01, q99 = processor._range("state", "single_arm")
    stats = processor.metadata.stats("state", "single_arm")
    assert np.array_equal(q01, stats["q01"]) and np.array_equal(q99, stats["q99"])
    obs = observations(processor, 1)[0]
    obs["state.single_arm"] = q01[None].astype(np.float32)
    state = processor(obs).state
    np.testing.assert_allclose(state[0, 0, :6], -1.0, atol=1e-6)
    obs["state.single_arm"] = (q99 + 10.0)[None].astype(np.float32)
    np.testing.assert_allclose(processor(obs).state[0, 0, :6], 1.0)  # clipped
    assert not processor(obs).state[0, 0, 7:].any()  # zero padding to 132


def test_relative_action_decoding(relative_checkpoint):
    """``rep: RELATIVE`` groups: unnormalised with the per-step relative_action min/max, then
    the observation's current state is added; absolute groups use q01/q99."""
    from groot_sdk.errors import ModalityError
    from groot_sdk.plugins import get_registry

    backend = (
        get_registry().backend("torch").create(None, checkpoint=str(relative_checkpoint), seed=2)
    )
    processor = backend.processor
    assert [g.relative for g in processor.metadata.actions] == [True, False]
    obs = observations(processor, 1)[0]
    inputs = processor(obs)
    raw = backend.infer(inputs, backend.noise(1))
    chunk = backend.get_action(obs)
    stats = json.loads((relative_checkpoint / "statistics.json").read_text())["new_embodiment"]
    rel = stats["relative_action"]["single_arm"]
    lo, hi = np.asarray(rel["min"]), np.asarray(rel["max"])
    delta = (np.clip(raw[0, :40, :6], -1, 1) + 1) / 2 * (hi - lo) + lo
    want = delta + obs["state.single_arm"][-1]
    np.testing.assert_allclose(chunk["action.single_arm"], want, atol=1e-5)
    grip = stats["action"]["gripper"]
    g_lo, g_hi = np.asarray(grip["q01"]), np.asarray(grip["q99"])
    want_g = (np.clip(raw[0, :40, 6:7], -1, 1) + 1) / 2 * (g_hi - g_lo) + g_lo
    np.testing.assert_allclose(chunk["action.gripper"], want_g, atol=1e-5)
    # the same model output decoded against another state: relative keys move with it
    moved = {k: v + 0.5 for k, v in inputs.raw_state[0].items()}
    again = processor.decode(raw, [moved])[0]
    np.testing.assert_allclose(
        again["action.single_arm"], chunk["action.single_arm"] + 0.5, atol=1e-5
    )
    np.testing.assert_array_equal(again["action.gripper"], chunk["action.gripper"])
    with pytest.raises(ModalityError, match="action.single_arm is relative"):
        processor.decode(raw)


# -- backends ----------------------------------------------------------------------------------
def test_torch_backend_through_policy_factory(n17_checkpoint, n17_backend):
    from groot_sdk.models.gr00t_n17.backends import TorchGr00tN17
    from groot_sdk.plugins import get_registry

    assert isinstance(n17_backend, TorchGr00tN17)
    layout = n17_backend.layout
    assert [k.key for k in layout.action] == ["single_arm", "gripper"]
    assert layout.action_horizon == 40 and layout.language_key == LANG
    obs = observations(n17_backend.processor, 2)
    chunk = n17_backend.get_action(obs[0])
    assert chunk["action.single_arm"].shape == (40, 6) and chunk["action.gripper"].shape == (40, 1)
    # determinism: a seeded backend repeats itself, another seed does not
    again = get_registry().backend("torch").create(None, checkpoint=str(n17_checkpoint), seed=5)
    np.testing.assert_array_equal(
        again.get_action(obs[0])["action.single_arm"], chunk["action.single_arm"]
    )
    other = get_registry().backend("torch").create(None, checkpoint=str(n17_checkpoint), seed=6)
    assert (
        np.abs(other.get_action(obs[0])["action.single_arm"] - chunk["action.single_arm"]).max()
        > 1e-3
    )
    # one batch of two == each alone with the same noise (padding leaves the longest prompt)
    noise = n17_backend.noise(2)
    both = n17_backend.infer(n17_backend.processor.collate(obs), noise)
    alone = n17_backend.infer(n17_backend.processor(obs[1]), noise[1:])
    np.testing.assert_allclose(both[1], alone[0], atol=1e-5)
    synthetic = n17_backend.synthetic_observation(3)
    assert synthetic["video.front"].shape == (1, 480, 640, 3)


def test_onnx_matches_torch(n17_checkpoint, n17_onnx, n17_backend):
    from groot_sdk.models.gr00t_n17.backends import OnnxGr00tN17
    from groot_sdk.plugins import get_registry

    manifest = json.loads((n17_onnx / "groot_onnx.json").read_text())
    assert manifest["format"] == "groot-n1.7-onnx"
    assert manifest["timestep_buckets"] == [0, 250, 500, 750]
    ob = get_registry().backend("onnx").create(None, checkpoint=str(n17_onnx), seed=5)
    assert isinstance(ob, OnnxGr00tN17) and ob.layout == n17_backend.layout
    inputs = n17_backend.processor.collate(observations(n17_backend.processor))
    assert (inputs.attention_mask == 0).any()
    noise = n17_backend.noise(2)
    ref = n17_backend.infer(inputs, noise)
    got = ob.infer(inputs, noise)
    assert np.abs(ref - got).max() < 1e-4  # raw model output, padded prompt included
    a = n17_backend.get_action(observations(n17_backend.processor)[0])
    b = ob.get_action(observations(n17_backend.processor)[0])
    assert np.abs(a["action.single_arm"] - b["action.single_arm"]).max() < 1e-3


def test_version_detection_errors(n17_checkpoint, tmp_path):
    from groot_sdk.models.gr00t_n17.backends import create
    from groot_sdk.policy.gr00t_versions import detect

    assert detect(n17_checkpoint) == "n1.7"
    with pytest.raises(Exception, match="no 'jax' backend"):
        create("jax", None, n17_checkpoint)
    with pytest.raises(Exception, match="not an ONNX export"):
        create("onnx", None, n17_checkpoint)


def test_bfloat16_and_batched(n17_checkpoint, n17_backend):
    from groot_sdk.models.gr00t_n17.backends import create

    obs = n17_backend.synthetic_observation(0)
    half = create("torch", None, n17_checkpoint, seed=5, dtype="bfloat16")
    assert half.onednn_layers == 0  # oneDNN Linear is N1.5's CPU float32 default, not bf16
    plain = create("torch", None, n17_checkpoint, seed=5, onednn=False)
    assert plain.onednn_layers == 0 and n17_backend.onednn_layers > 0
    np.testing.assert_allclose(
        plain.get_action(obs)["action.single_arm"],
        n17_backend.get_action(obs)["action.single_arm"],
        atol=1e-5,
    )
    assert half.model.action_head.state_encoder.layer1.W.dtype.is_floating_point
    a, b = n17_backend.get_action(obs), half.get_action(obs)
    assert np.abs(a["action.single_arm"] - b["action.single_arm"]).max() < 0.2
    batched = create("torch", None, n17_checkpoint, seed=5, batched=True)
    many = batched.synthetic_observation(1)
    assert many["video.front"].shape[0] == 2
    chunk = batched.get_action(many)
    assert chunk["action.single_arm"].shape == (2, 40, 6)


def test_processor_config_image_options(n17_checkpoint, tmp_path):
    from groot_sdk.errors import ModalityError
    from groot_sdk.models.gr00t_n17.loading import load_config
    from groot_sdk.models.gr00t_n17.processing import build_processor, transform_frames

    white = np.full((1, 100, 300, 3), 255, np.uint8)
    boxed = transform_frames(white, (256, 256), None, letterbox=True)
    assert boxed[0, :, 5].max() == 0 and boxed[0, :, 128].min() == 255  # padded above/below
    plain = transform_frames(white, (256, 256), None)
    assert plain.min() == 255
    edge = transform_frames(white, (256, 256), None, shortest_edge=512, crop_fraction=0.5)
    assert edge.shape == (1, 3, 256, 256)

    ckpt = shutil.copytree(n17_checkpoint, tmp_path / "ckpt")
    cfg = json.loads((ckpt / "processor_config.json").read_text())
    cfg["processor_kwargs"].update(letter_box_transform=True, image_crop_size=[200, 200])
    (ckpt / "processor_config.json").write_text(json.dumps(cfg))
    proc = build_processor(ckpt, load_config(ckpt))
    assert proc.metadata.letterbox and proc.crop == (200, 200)
    cfg["processor_kwargs"]["image_target_size"] = [224, 224]
    (ckpt / "processor_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModalityError, match=r"resizes images to \[224, 224\]"):
        build_processor(ckpt, load_config(ckpt))


def test_older_transformers_keeps_n15_working():
    """Without transformers' Qwen3-VL pieces, ``groot_sdk.models`` (N1.5) still imports and N1.7
    names what it needs."""
    import subprocess

    code = (
        "import sys; sys.modules['transformers.vision_utils'] = None\n"
        "import groot_sdk.models\n"
        "from transformers import AutoConfig\n"
        "from transformers.models.auto.configuration_auto import CONFIG_MAPPING\n"
        "assert 'gr00t_n1_5' in CONFIG_MAPPING and 'Gr00tN1d7' not in CONFIG_MAPPING\n"
        "try:\n"
        "    import groot_sdk.models.gr00t_n17.modeling\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "GR00T N1.7 needs transformers 5 with its Qwen3-VL classes" in run.stdout
