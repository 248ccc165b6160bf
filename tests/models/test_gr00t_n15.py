"""GR00T N1.5: names, loading, processing and the torch backend on a tiny random model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

RELEASED_KEYS = [  # parameter names as in nvidia/GR00T-N1.5-3B's safetensors
    "backbone.eagle_model.vision_model.vision_model.embeddings.patch_embedding.weight",
    "backbone.eagle_model.vision_model.vision_model.encoder.layers.0.self_attn.q_proj.weight",
    "backbone.eagle_model.vision_model.vision_model.post_layernorm.weight",
    "backbone.eagle_model.mlp1.0.weight",
    "backbone.eagle_model.language_model.model.embed_tokens.weight",
    "backbone.eagle_model.language_model.model.layers.0.self_attn.q_norm.weight",
    "backbone.eagle_model.language_model.model.layers.1.mlp.gate_proj.weight",
    "backbone.eagle_model.language_model.model.norm.weight",
    "action_head.model.timestep_encoder.timestep_embedder.linear_1.weight",
    "action_head.model.transformer_blocks.0.norm1.linear.weight",
    "action_head.model.transformer_blocks.0.attn1.to_q.weight",
    "action_head.model.transformer_blocks.0.attn1.to_out.0.weight",
    "action_head.model.transformer_blocks.1.ff.net.0.proj.weight",
    "action_head.model.transformer_blocks.1.ff.net.2.weight",
    "action_head.model.proj_out_1.weight",
    "action_head.model.proj_out_2.weight",
    "action_head.state_encoder.layer1.W",
    "action_head.state_encoder.layer2.b",
    "action_head.action_encoder.W1.W",
    "action_head.action_encoder.W2.W",
    "action_head.action_encoder.W3.b",
    "action_head.action_decoder.layer1.W",
    "action_head.action_decoder.layer2.W",
    "action_head.future_tokens.weight",
    "action_head.position_embedding.weight",
    "action_head.vlln.weight",
    "action_head.vl_self_attention.transformer_blocks.0.norm1.weight",
    "action_head.vl_self_attention.transformer_blocks.0.attn1.to_k.weight",
]


def _obs(backend, seed=0):
    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation

    return synthetic_observation(backend.processor, seed)


@pytest.fixture(scope="module")
def backend(tiny_checkpoint):
    from groot_sdk.plugins import get_registry

    return get_registry().backend("torch").create(None, checkpoint=str(tiny_checkpoint), seed=7)


def test_checkpoint_uses_released_names_and_schema(tiny_checkpoint):
    from safetensors import safe_open

    with safe_open(str(tiny_checkpoint / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
    assert not [k for k in RELEASED_KEYS if k not in keys]
    cfg = json.loads((tiny_checkpoint / "config.json").read_text())
    assert cfg["model_type"] == "gr00t_n1_5"
    assert {"backbone_cfg", "action_head_cfg", "action_horizon", "action_dim"} <= set(cfg)
    head = cfg["action_head_cfg"]
    for field in (
        "diffusion_model_cfg",
        "vl_self_attention_cfg",
        "max_state_dim",
        "num_inference_timesteps",
        "num_timestep_buckets",
        "max_num_embodiments",
    ):
        assert field in head
    assert head["max_state_dim"] == 64 and head["action_dim"] == 32


def test_auto_classes_after_import(tiny_checkpoint):
    from transformers import AutoConfig, AutoModel

    import groot_sdk.models  # noqa: F401  (registers gr00t_n1_5)
    from groot_sdk.models.gr00t_n15 import GR00TN15

    assert AutoConfig.from_pretrained(str(tiny_checkpoint)).model_type == "gr00t_n1_5"
    model = AutoModel.from_pretrained(str(tiny_checkpoint))
    assert isinstance(model, GR00TN15)
    assert not model.training
    # the LM keeps only select_layer decoder layers, as GR00T truncates it
    assert len(model.backbone.eagle_model.language_model.model.layers) == 2


def test_torch_backend_actions(backend, tiny_checkpoint):
    from groot_sdk.policy.torch_backend import create

    assert [(v.name, v.height, v.width) for v in backend.layout.video] == [("front", 48, 64)]
    assert backend.layout.describe_action() == "single_arm 6 + gripper 1"
    assert backend.layout.embodiment_tag == "new_embodiment"
    obs = _obs(backend)
    chunk = backend.get_action(obs)
    assert sorted(chunk) == ["action.gripper", "action.single_arm"]
    assert chunk["action.single_arm"].shape == (16, 6)
    assert chunk["action.gripper"].shape == (16, 1)
    meta = json.loads((tiny_checkpoint / "experiment_cfg" / "metadata.json").read_text())
    stats = meta["new_embodiment"]["statistics"]["action"]
    # unnormalised as GR00T does: (x + 1) / 2 * (max - min) + min on the first 7 columns
    raw = backend.infer(backend.processor(obs), backend.noise(1))[0]
    start = 0
    for key, dim in (("single_arm", 6), ("gripper", 1)):
        a = chunk[f"action.{key}"]
        assert a.dtype == np.float32 and np.isfinite(a).all()
        lo, hi = np.array(stats[key]["min"]), np.array(stats[key]["max"])
        expect = (raw[:, start : start + dim] + 1) / 2 * (hi - lo) + lo
        np.testing.assert_allclose(a, expect, rtol=1e-5, atol=1e-5)
        assert a.std() > 0  # a real model output, not a constant
        start += dim
    clipped = create(None, checkpoint=str(tiny_checkpoint), seed=7, clip_actions=True)
    for key, value in clipped.get_action(obs).items():
        lo = np.array(stats[key.split(".")[1]]["min"])
        hi = np.array(stats[key.split(".")[1]]["max"])
        assert (value >= lo - 1e-5).all() and (value <= hi + 1e-5).all()
    again = backend.get_action(obs)
    for key in chunk:
        np.testing.assert_array_equal(chunk[key], again[key])  # seeded: deterministic
    other = backend.get_action(_obs(backend, seed=3))
    assert not np.allclose(other["action.single_arm"], chunk["action.single_arm"])


def test_unseeded_noise_differs(tiny_checkpoint):
    from groot_sdk.policy.torch_backend import create

    b = create(None, checkpoint=str(tiny_checkpoint))
    obs = _obs(b)
    assert not np.allclose(
        b.get_action(obs)["action.single_arm"], b.get_action(obs)["action.single_arm"]
    )


def test_batching(backend, tiny_checkpoint):
    from groot_sdk.policy.torch_backend import create

    obs = [_obs(backend, 0), _obs(backend, 1)]
    obs[1]["annotation.human.task_description"] = ["pick up"]  # shorter: left-padded
    chunks = backend.get_actions(obs)
    assert len(chunks) == 2 and chunks[0]["action.single_arm"].shape == (16, 6)
    single = backend.get_action(obs[0])  # the longest prompt is not padded: same result
    np.testing.assert_allclose(
        chunks[0]["action.single_arm"], single["action.single_arm"], atol=1e-5
    )
    batched = create(None, checkpoint=str(tiny_checkpoint), seed=7, batched=True)
    stacked = {
        k: np.stack([o[k] for o in obs[:1]] * 3)
        for k in obs[0]
        if k.startswith(("video.", "state."))
    }
    stacked["annotation.human.task_description"] = ["pick up the cube"] * 3
    out = batched.get_action(stacked)
    assert out["action.single_arm"].shape == (3, 16, 6)


def test_bfloat16(tiny_checkpoint, backend):
    from groot_sdk.policy.torch_backend import create

    b = create(None, checkpoint=str(tiny_checkpoint), seed=7, dtype="bfloat16", warmup=1)
    obs = _obs(b)
    ref = backend.get_action(obs)["action.single_arm"]
    got = b.get_action(obs)["action.single_arm"]
    assert got.dtype == np.float32 and np.abs(got - ref).max() < 0.5


def test_embodiment_tags():
    from groot_sdk.errors import ModalityError
    from groot_sdk.models.gr00t_n15 import projector_index

    assert projector_index("new_embodiment") == 31
    assert projector_index("gr1") == 24 and projector_index("so100") == 2
    with pytest.raises(ModalityError, match="unknown embodiment tag 'so101_custom'"):
        projector_index("so101_custom")


def test_tag_errors(tiny_checkpoint):
    from groot_sdk.errors import ModalityError
    from groot_sdk.policy.torch_backend import create

    with pytest.raises(ModalityError, match="unknown embodiment tag 'robot_x'"):
        create(None, checkpoint=str(tiny_checkpoint), embodiment_tag="robot_x")
    with pytest.raises(ModalityError, match="no embodiment 'gr1'"):
        create(None, checkpoint=str(tiny_checkpoint), embodiment_tag="gr1")
    with pytest.raises(ModalityError, match="embodiment_id 40 is outside"):
        create(None, checkpoint=str(tiny_checkpoint), embodiment_id=40)
    b = create(None, checkpoint=str(tiny_checkpoint), embodiment_id=30)  # a custom tag's slot
    assert b.processor.embodiment_id == 30


def test_missing_statistics(tiny_checkpoint, tmp_path):
    from groot_sdk.errors import ModalityError
    from groot_sdk.policy.torch_backend import create

    ckpt = shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    meta_file = ckpt / "experiment_cfg" / "metadata.json"
    meta = json.loads(meta_file.read_text())
    del meta["new_embodiment"]["statistics"]["action"]["gripper"]
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ModalityError, match="no statistics for action.gripper"):
        create(None, checkpoint=str(ckpt))
    meta["new_embodiment"]["statistics"]["action"]["gripper"] = {"mean": [0.0], "std": [1.0]}
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ModalityError, match=r"lacks \['min', 'max'\] for action.gripper"):
        create(None, checkpoint=str(ckpt))
    create(None, checkpoint=str(ckpt), normalization='{"action.gripper": "mean_std"}')


def test_mismatching_keys_and_shapes(tiny_checkpoint, tmp_path):
    from safetensors.torch import load_file, save_file

    from groot_sdk.models.gr00t_n15.loading import CheckpointError, load_model

    ckpt = shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    state = load_file(str(ckpt / "model.safetensors"))
    state["action_head.future_tokenz.weight"] = state.pop("action_head.future_tokens.weight")
    state["action_head.vlln.bias"] = state["action_head.vlln.bias"][:-1].clone()
    save_file(state, str(ckpt / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        load_model(ckpt)
    text = str(err.value)
    assert "missing keys (1): action_head.future_tokens.weight" in text
    assert "unexpected keys (1): action_head.future_tokenz.weight" in text
    assert "action_head.vlln.bias: checkpoint [31] vs model [32]" in text


def test_wrong_model_type_and_missing_tokenizer(tiny_checkpoint, tmp_path):
    from groot_sdk.errors import ModalityError
    from groot_sdk.models.gr00t_n15.loading import CheckpointError, load_model
    from groot_sdk.policy.torch_backend import create

    ckpt = shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    (ckpt / "tokenizer.json").unlink()
    with pytest.raises(ModalityError, match="no tokenizer.json"):
        create(None, checkpoint=str(ckpt))
    create(None, checkpoint=str(ckpt), tokenizer=str(tiny_checkpoint))  # a local tokenizer dir
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["model_type"] = "gr00t_n1_6"
    (ckpt / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="model_type is 'gr00t_n1_6'"):
        load_model(ckpt)


def test_hub_repo_from_offline_cache(tiny_checkpoint, tmp_path, monkeypatch):
    """A repo id resolves from the local HF cache with HF_HUB_OFFLINE=1 (no network)."""
    from groot_sdk.models.gr00t_n15.loading import CheckpointError, resolve_checkpoint

    cache = tmp_path / "hub"
    repo = cache / "models--acme--gr00t-tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_checkpoint, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    path = resolve_checkpoint("acme/gr00t-tiny", local_files_only=True)
    assert (path / "config.json").is_file()
    with pytest.raises(CheckpointError, match="acme/absent"):
        resolve_checkpoint("acme/absent", local_files_only=True)


def test_normalisation_modes():
    from groot_sdk.models.gr00t_n15.processing import normalize, unnormalize

    stats = {
        k: np.array(v, np.float32)
        for k, v in {
            "min": [0.0, 1.0],
            "max": [2.0, 1.0],
            "q01": [0.5, 1.0],
            "q99": [1.5, 1.0],
            "mean": [1.0, 1.0],
            "std": [0.5, 0.0],
        }.items()
    }
    x = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]], np.float32)
    np.testing.assert_allclose(normalize(x, stats, "min_max")[:, 0], [-1, 0, 1])
    assert (normalize(x, stats, "min_max")[:, 1] == 0).all()  # constant dimension -> 0
    np.testing.assert_allclose(normalize(x, stats, "q99")[:, 0], [-1, 0, 1])  # clipped
    assert (normalize(x, stats, "q99")[:, 1] == 1).all()  # q01 == q99: the raw value, clipped
    np.testing.assert_allclose(normalize(x, stats, "mean_std")[:, 0], [-2, 0, 2])
    assert (normalize(x, stats, "mean_std")[:, 1] == 1).all()  # std == 0: the raw value
    np.testing.assert_array_equal(normalize(np.array([0.2, 0.7]), stats, "binary"), [0, 1])
    for mode in ("min_max", "mean_std"):
        back = unnormalize(normalize(x, stats, mode), stats, mode)
        np.testing.assert_allclose(back[:, 0], x[:, 0], atol=1e-6)
    assert unnormalize(np.array([[3.0, 0.0]]), stats, "min_max")[0, 0] == 4.0  # as GR00T
    assert unnormalize(np.array([[3.0, 0.0]]), stats, "min_max", clip=True)[0, 0] == 2.0


def test_observation_errors(backend):
    from groot_sdk.errors import ObservationError

    obs = _obs(backend)
    bad = dict(obs, **{"state.single_arm": np.zeros((1, 5), np.float32)})
    with pytest.raises(ObservationError, match=r"'state.single_arm' has shape \[1, 1, 5\]"):
        backend.get_action(bad)
    missing = {k: v for k, v in obs.items() if k != "video.front"}
    with pytest.raises(ObservationError, match="lacks 'video.front'"):
        backend.get_action(missing)


def test_so101_alignment_with_override(backend, so101_spec):
    """A single_arm 6 + gripper 1 checkpoint driving SO-101 (5 + 1) needs an action map."""
    from groot_sdk.errors import ActionError
    from groot_sdk.policy.actions import ActionDecoder

    with pytest.raises(ActionError, match=r"single_arm 6 \+ gripper 1.*single_arm 5 \+ gripper 1"):
        ActionDecoder(so101_spec, backend.layout)
    decoder = ActionDecoder(
        so101_spec, backend.layout, action_map={"single_arm": {"take": [0, 1, 2, 3, 4]}}
    )
    chunk = backend.get_action(_obs(backend))
    targets = decoder.decode(chunk, np.zeros(so101_spec.dof, np.float32))
    assert targets.shape == (16, so101_spec.dof)
    np.testing.assert_allclose(
        targets[:, :5],
        np.clip(chunk["action.single_arm"][:, :5], so101_spec.lower[:5], so101_spec.upper[:5]),
    )


def test_prompt_follows_eagle_chat_template(backend):
    from groot_sdk.models.gr00t_n15.processing import IMG_CONTEXT, PromptBuilder

    text = backend.processor.prompt("pick up the cube", 2)
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    assert "<image 1><img>" in text and "<image 2><img>" in text
    assert text.count(IMG_CONTEXT) == 2 * backend.processor.num_image_token
    assert text.endswith("pick up the cube<|im_end|>\n<|im_start|>assistant\n")
    custom = PromptBuilder(
        3,
        "{% for m in messages %}{% for c in m['content'] %}"
        "{% if c['type'] == 'image' %}<image-1>{% else %}{{ c['text'] }}"
        "{% endif %}{% endfor %}{% endfor %}",
    )
    assert custom("go", 1) == f"<image 1><img>{IMG_CONTEXT * 3}</img>go"
    ids = backend.processor(_obs(backend)).input_ids
    assert (ids == backend.processor.tokenizer.token_id(IMG_CONTEXT)).sum() == (
        backend.processor.num_image_token
    )


def test_eagle_sizes_from_weights(tiny_checkpoint, tmp_path):
    """Released config.json files do not describe the Eagle network: sizes come from weights."""
    from groot_sdk.models.gr00t_n15.loading import load_model

    ckpt = shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    cfg = json.loads((ckpt / "config.json").read_text())
    written = cfg["backbone_cfg"].pop("eagle_config")
    (ckpt / "config.json").write_text(json.dumps(cfg))
    model = load_model(ckpt)  # strict: every key and shape matched
    derived = model.config.backbone_cfg["eagle_config"]
    for key in (
        "vocab_size",
        "hidden_size",
        "intermediate_size",
        "head_dim",
        "num_attention_heads",
        "num_key_value_heads",
    ):
        assert derived["text_config"][key] == written["text_config"][key], key
    for key in (
        "hidden_size",
        "patch_size",
        "image_size",
        "num_hidden_layers",
        "intermediate_size",
    ):
        assert derived["vision_config"][key] == written["vision_config"][key], key
    assert derived["use_pixel_shuffle"] is False and derived["mlp_connector_layers"] == 1
