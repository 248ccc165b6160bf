"""GR00T N1.6: tiny checkpoint through ``AutoModel``, determinism, key/shape reporting, ONNX
Runtime parity, relative actions, the processor, and whole-policy parity with a reference.

The reference is a **stand-in**: no LeRobot release on PyPI ships an N1.6 policy (0.4.0-0.6.1
were checked: 0.4.x/0.5.x carry N1.5 as ``policies/groot``, 0.6 replaced it with N1.7), so
:class:`RefN16` below is written in this file straight from Isaac-GR00T's N1.6 release
(``gr00t/model/gr00t_n1d6/gr00t_n1d6.py``, ``gr00t/model/modules/dit.py``,
``embodiment_conditioned_mlp.py``, ``eagle_backbone.py`` and the vendored
``Eagle-Block2A-2B-v2/modeling_eagle3_vl.py`` + ``modeling_siglip2.py``, commit 4e62473d, read
in the arnavinator/Isaac-GR00T fork; non-commercial licence, so facts only). It shares no code
with ``groot_sdk.models.gr00t_n16``: it reads the safetensors itself, runs SigLIP 2 with
hand-written attention and ``F.interpolate`` position resizing per image, Eagle's
``F.pixel_unshuffle`` + boolean scatter, transformers' ``Qwen3ForCausalLM`` with
``output_hidden_states`` (as Eagle 3 does), and the action head's equations with explicit
masked softmax attention. Same random weights, same injected noise; the model in float32, the reference in float64.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
F = torch.nn.functional

STATE = {"single_arm": 6, "gripper": 1}


@pytest.fixture(scope="module")
def n16_checkpoint(tmp_path_factory):
    from groot_sdk.models.gr00t_n16.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(
        tmp_path_factory.mktemp("n16") / "ckpt", STATE, STATE, seed=3, relative=("single_arm",)
    )


@pytest.fixture(scope="module")
def torch_backend(n16_checkpoint):
    from groot_sdk.policy.torch_backend import create

    return create(None, checkpoint=str(n16_checkpoint), seed=5)


def _inputs(backend, seeds=(0, 1)):
    from groot_sdk.models.gr00t_n16.runtime import synthetic_observation

    obs = [synthetic_observation(backend.processor, s) for s in seeds]
    if len(obs) > 1:
        obs[1]["annotation.human.task_description"] = ["Place it, in the BOX!"]  # left-padded
    return backend.processor.collate(obs)


# -- loading -----------------------------------------------------------------------------------
def test_tiny_checkpoint_through_automodel(n16_checkpoint):
    from transformers import AutoConfig, AutoModel

    import groot_sdk.models  # noqa: F401  (registers the model types)
    from groot_sdk.models.gr00t_n16 import Gr00tN1d6, Gr00tN1d6Config

    config = AutoConfig.from_pretrained(str(n16_checkpoint))
    assert isinstance(config, Gr00tN1d6Config)
    model = AutoModel.from_pretrained(str(n16_checkpoint))
    assert isinstance(model, Gr00tN1d6)
    saved = json.loads((n16_checkpoint / "config.json").read_text())
    for key in ("model_type", "model_name", "select_layer", "max_state_dim", "max_action_dim",
                "action_horizon", "use_alternate_vl_dit", "attend_text_every_n_blocks",
                "diffusion_model_cfg", "state_dropout_prob", "use_relative_action"):  # fmt: skip
        assert key in saved, key
    assert saved["model_type"] == "Gr00tN1d6"
    keys = set(model.state_dict())
    for key in (
        "backbone.model.vision_model.vision_model.embeddings.patch_embedding.weight",
        "backbone.model.vision_model.vision_model.encoder.layers.1.self_attn.q_proj.weight",
        "backbone.model.vision_model.vision_model.post_layernorm.weight",
        "backbone.model.mlp1.0.weight",
        "backbone.model.mlp1.3.weight",
        "backbone.model.language_model.model.layers.1.self_attn.q_norm.weight",
        "action_head.model.transformer_blocks.3.attn1.to_q.weight",
        "action_head.model.timestep_encoder.timestep_embedder.linear_1.weight",
        "action_head.state_encoder.layer1.W",
        "action_head.action_encoder.W3.b",
        "action_head.action_decoder.layer2.W",
        "action_head.vlln.weight",
        "action_head.position_embedding.weight",
        "action_head.mask_token",
    ):
        assert key in keys, key
    assert not [k for k in keys if "future_tokens" in k or "vl_self_attention" in k]
    # N1.6 keeps select_layer LM layers and a 4-block DiT (text, self, image, self)
    assert len(model.backbone.model.language_model.model.layers) == 2
    assert model.action_head.model.block_kinds() == ["text", "self", "image", "self"]


def test_dispatch_by_config(n16_checkpoint, torch_backend, tmp_path):
    from groot_sdk.models.gr00t_n16.backends import TorchGr00tN16
    from groot_sdk.policy.gr00t_versions import detect

    assert detect(n16_checkpoint) == "n1.6"
    assert isinstance(torch_backend, TorchGr00tN16)
    assert torch_backend.layout.action_horizon == 16
    assert [k.key for k in torch_backend.layout.action] == ["single_arm", "gripper"]


def test_offline_hub_cache_through_the_torch_backend(n16_checkpoint, tmp_path, monkeypatch):
    """A repo id loads from the local HF cache with HF_HUB_OFFLINE=1, processor files too."""
    import huggingface_hub.constants as hc

    from groot_sdk.policy.torch_backend import create

    cache = tmp_path / "hub"
    repo = cache / "models--acme--gr00t-n16-tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(n16_checkpoint, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    backend = create(None, checkpoint="acme/gr00t-n16-tiny", local_files_only=True, seed=5)
    assert type(backend).__name__ == "TorchGr00tN16"
    assert backend.get_action(backend.synthetic_observation(0))["action.gripper"].shape == (16, 1)


def test_wrong_model_type_is_named(n16_checkpoint, tmp_path):
    from groot_sdk.models.gr00t_n16.loading import CheckpointError, load_model

    bad = tmp_path / "ckpt"
    shutil.copytree(n16_checkpoint, bad)
    config = json.loads((bad / "config.json").read_text())
    config["model_type"] = "gr00t_n1_5"
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="model_type is 'gr00t_n1_5', expected 'Gr00tN1d6'"):
        load_model(bad)


def test_corrupted_copy_names_key_and_shapes(n16_checkpoint, tmp_path):
    from safetensors.torch import load_file, save_file

    from groot_sdk.models.gr00t_n16.loading import CheckpointError, load_model

    bad = tmp_path / "ckpt"
    shutil.copytree(n16_checkpoint, bad)
    state = load_file(str(bad / "model.safetensors"))
    key = "action_head.model.transformer_blocks.2.attn1.to_k.weight"
    state[key] = state[key][:, :-1].contiguous()
    del state["backbone.model.mlp1.3.bias"]
    save_file(state, str(bad / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        load_model(bad)
    message = str(err.value)
    assert f"{key}: checkpoint [32, 31] vs model [32, 32]" in message
    assert "missing keys (1): backbone.model.mlp1.3.bias" in message


# -- determinism -------------------------------------------------------------------------------
def test_seeded_calls_repeat_and_seeds_differ(n16_checkpoint, torch_backend):
    from groot_sdk.policy.torch_backend import create

    obs = torch_backend.synthetic_observation(0)
    first = torch_backend.get_action(obs)
    again = torch_backend.get_action(obs)
    other = create(None, checkpoint=str(n16_checkpoint), seed=6).get_action(obs)
    for key in first:
        assert first[key].shape == (16, STATE[key.removeprefix("action.")])
        np.testing.assert_array_equal(first[key], again[key])
    assert any(np.abs(first[k] - other[k]).max() > 1e-3 for k in first)


# -- ONNX ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def n16_export(n16_checkpoint, tmp_path_factory):
    pytest.importorskip("onnxruntime", reason="needs the onnx extra")
    pytest.importorskip("onnxscript", reason="torch's ONNX exporter needs onnxscript")
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli

    out = tmp_path_factory.mktemp("n16_onnx") / "onnx"
    result = CliRunner().invoke(cli, ["export-onnx", str(n16_checkpoint), str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out


def test_onnx_runtime_matches_torch(n16_export, torch_backend):
    from groot_sdk.policy.onnx_backend import create

    manifest = json.loads((n16_export / "groot_onnx.json").read_text())
    assert manifest["format"] == "groot-n1.6-onnx"
    assert manifest["timestep_buckets"] == [0, 250, 500, 750]
    onnx_backend = create(None, checkpoint=str(n16_export), seed=5)
    assert onnx_backend.layout == torch_backend.layout
    inputs = _inputs(torch_backend)
    assert (inputs.attention_mask == 0).any()  # the padded path is exercised
    noise = torch_backend.noise(2)
    ref = torch_backend.infer(inputs, noise)
    got = onnx_backend.infer(inputs, noise)
    assert np.abs(ref - got).max() < 1e-4
    obs = torch_backend.synthetic_observation(2)
    a, b = torch_backend.get_action(obs), onnx_backend.get_action(obs)
    assert max(float(np.abs(a[k] - b[k]).max()) for k in a) < 1e-4


# -- relative actions ------------------------------------------------------------------------
def test_relative_keys_are_decoded_with_the_current_state(torch_backend):
    proc = torch_backend.processor
    rng = np.random.default_rng(0)
    normalised = rng.uniform(-1.2, 1.2, (1, 16, 32)).astype(np.float32)
    state = {"single_arm": rng.normal(size=(1, 6)).astype(np.float32), "gripper": np.ones((1, 1))}
    shifted = {**state, "single_arm": state["single_arm"] + 0.5}
    out = proc.decode(normalised, state)[0]
    moved = proc.decode(normalised, shifted)[0]
    rel = proc.metadata.statistics["relative_action"]["single_arm"]
    clipped = np.clip(normalised[0, :, :6], -1, 1)
    want = (clipped + 1) / 2 * (rel["max"] - rel["min"]) + rel["min"] + state["single_arm"]
    np.testing.assert_allclose(out["action.single_arm"], want, atol=1e-6)
    np.testing.assert_allclose(
        moved["action.single_arm"] - out["action.single_arm"], 0.5, atol=1e-6
    )
    absolute = proc.metadata.statistics["action"]["gripper"]  # absolute key: state ignored
    g = (np.clip(normalised[0, :, 6:7], -1, 1) + 1) / 2 * (absolute["max"] - absolute["min"])
    np.testing.assert_allclose(out["action.gripper"], g + absolute["min"], atol=1e-6)
    np.testing.assert_array_equal(moved["action.gripper"], out["action.gripper"])


def test_backend_decodes_relative_actions_from_the_observed_state(torch_backend):
    obs = torch_backend.synthetic_observation(4)
    inputs = torch_backend.processor(obs)
    raw = torch_backend.infer(inputs, torch_backend.noise(1))
    chunk = torch_backend.get_action(obs)
    rel = torch_backend.processor.metadata.statistics["relative_action"]["single_arm"]
    delta = (np.clip(raw[0, :16, :6], -1, 1) + 1) / 2 * (rel["max"] - rel["min"]) + rel["min"]
    np.testing.assert_allclose(
        chunk["action.single_arm"], delta + obs["state.single_arm"][-1], atol=1e-5
    )


# -- processor -------------------------------------------------------------------------------
def test_image_pipeline_and_prompt(torch_backend):
    from groot_sdk.models.gr00t_n16.processing import eval_image_size, transform_frame

    # the released pipeline: 256 px shortest edge, 95 % crop, sides to multiples of 28
    assert eval_image_size(256, 256, 256, 0.95) == (252, 252)  # 81 tokens of 28 x 28 px
    assert eval_image_size(480, 640, 256, 0.95) == (252, 336)
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert transform_frame(frame, 256, 0.95).shape == (252, 336, 3)
    proc = torch_backend.processor
    text = proc.prompt("Pick up the cube!", 2, 3)
    ctx = "<IMG_CONTEXT>" * 3
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        f"pick up the cube<image 1><img>{ctx}</img><image 2><img>{ctx}</img><|im_end|>\n"
    )


def test_embodiment_tags_and_limits(n16_checkpoint, tmp_path):
    from groot_sdk.errors import ModalityError
    from groot_sdk.models.gr00t_n16.config import EMBODIMENT_TAG_MAPPING, projector_index
    from groot_sdk.models.gr00t_n16.loading import load_config
    from groot_sdk.models.gr00t_n16.processing import build_processor
    from groot_sdk.models.gr00t_n16.tiny import build_tiny_checkpoint

    assert EMBODIMENT_TAG_MAPPING["new_embodiment"] == 10
    assert EMBODIMENT_TAG_MAPPING["unitree_g1"] == 8
    assert EMBODIMENT_TAG_MAPPING["gr1"] == 20
    assert projector_index("my_arm", {"my_arm": 17}) == 17
    with pytest.raises(ModalityError, match="unknown embodiment tag 'nope'"):
        projector_index("nope")
    wide = build_tiny_checkpoint(tmp_path / "wide", {"body": 40}, {"body": 33}, seed=1)
    with pytest.raises(ModalityError, match="state is 40-D, the model takes at most 32"):
        build_processor(wide, load_config(wide))


def test_modality_knows_n16_limits():
    from groot_sdk.errors import ModalityError
    from groot_sdk.modality import MODEL_LIMITS, n16_modality_config
    from groot_sdk.spec import EmbodimentSpec, Joint

    assert MODEL_LIMITS["n1.6"] == (128, 128)
    joints = [Joint(f"j{i}", -1.0, 1.0) for i in range(130)]
    big = EmbodimentSpec.from_groups("big", {"body": joints})
    with pytest.raises(ModalityError, match="big: state is 130-D but GR00T N1.6 takes at most 128"):
        n16_modality_config(big)


def test_camera_size_option(n16_checkpoint):
    from groot_sdk.errors import ModalityError
    from groot_sdk.models.gr00t_n16.backends import create

    backend = create("torch", None, n16_checkpoint, camera_size="48x64")
    assert (backend.layout.video[0].height, backend.layout.video[0].width) == (48, 64)
    with pytest.raises(ModalityError, match="camera_size 'big' is not HEIGHTxWIDTH"):
        create("torch", None, n16_checkpoint, camera_size="big")


# -- parity with the reference -----------------------------------------------------------------
class RefN16:
    """Isaac-GR00T N1.6's inference maths, written from its source (see the module docstring)."""

    def __init__(self, directory) -> None:
        from safetensors.torch import load_file

        self.cfg = json.loads((directory / "config.json").read_text())
        self.eagle = self.cfg["eagle_config"]
        self.w = {k: v.double() for k, v in load_file(str(directory / "model.safetensors")).items()}

    # Eagle 3 / SigLIP 2 -------------------------------------------------------------------
    def linear(self, x, name, bias=True):
        y = x @ self.w[name + ".weight"].T
        return y + self.w[name + ".bias"] if bias else y

    def layer_norm(self, x, name, eps):
        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"], self.w[name + ".bias"], eps)

    def vision(self, image):  # (3, H, W), one image as Eagle's packed SigLIP 2 does
        vc = self.eagle["vision_config"]
        p, heads = vc["patch_size"], vc["num_attention_heads"]
        pre = "backbone.model.vision_model.vision_model."
        c, h, w = image.shape
        patches = (
            image.reshape(c, h // p, p, w // p, p).permute(1, 3, 2, 4, 0).reshape(-1, p * p * c)
        )
        x = self.linear(patches, pre + "embeddings.patch_embedding")
        grid = self.w[pre + "embeddings.position_embedding.weight"]
        side = math.isqrt(grid.shape[0])
        pos = grid.reshape(side, side, -1).permute(2, 0, 1)[None].float()
        pos = F.interpolate(
            pos, (h // p, w // p), mode="bilinear", align_corners=False, antialias=True
        )
        x = x + pos[0].reshape(grid.shape[1], -1).T.double()
        for i in range(vc["num_hidden_layers"]):
            lp = f"{pre}encoder.layers.{i}."
            y = self.layer_norm(x, lp + "layer_norm1", 1e-6)
            q, k, v = (self.linear(y, lp + f"self_attn.{n}_proj").reshape(len(y), heads, -1)
                       for n in "qkv")  # fmt: skip
            scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(q.shape[-1])
            att = torch.einsum("hqk,khd->qhd", scores.softmax(-1), v).reshape(len(y), -1)
            x = x + self.linear(att, lp + "self_attn.out_proj")
            y = self.layer_norm(x, lp + "layer_norm2", 1e-6)
            y = F.gelu(self.linear(y, lp + "mlp.fc1"), approximate="tanh")
            x = x + self.linear(y, lp + "mlp.fc2")
        x = self.layer_norm(x, pre + "post_layernorm", 1e-6)
        feat = x.T.reshape(x.shape[1], h // p, w // p)  # pixel_shuffle_back
        down = F.pixel_unshuffle(feat[None], 2).flatten(2).transpose(1, 2)[0]
        m = "backbone.model.mlp1."
        down = self.linear(
            F.gelu(self.linear(self.layer_norm(down, m + "0", 1e-5), m + "1")), m + "3"
        )
        return down

    def backbone(self, pixel_values, input_ids, attention_mask):
        from transformers import Qwen3Config, Qwen3ForCausalLM

        # Eagle-Block2A-2B-v2/config.json's text_config, under the tiny checkpoint's sizes
        text = {"rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
                "attention_bias": False, "tie_word_embeddings": True, **self.eagle["text_config"]}  # fmt: skip
        text.pop("architectures", None)
        text["num_hidden_layers"] = self.cfg["select_layer"]
        config = Qwen3Config(**text)
        config._attn_implementation = "eager"
        lm = Qwen3ForCausalLM(config).double().eval()
        pre = "backbone.model.language_model."
        lm.load_state_dict({k[len(pre):]: v for k, v in self.w.items() if k.startswith(pre)},
                           strict=False)  # fmt: skip
        lm.tie_weights()
        vit = torch.cat([self.vision(img) for img in pixel_values.double()])
        embeds = lm.get_input_embeddings()(input_ids)
        b, n, c = embeds.shape
        embeds = embeds.reshape(b * n, c)
        selected = input_ids.reshape(-1) == self.eagle["image_token_index"]
        embeds[selected] = embeds[selected] * 0.0 + vit
        embeds = embeds.reshape(b, n, c)
        # flash-attn (what Eagle 3 runs) unpads the batch: each prompt attends to its own tokens,
        # at positions counted from the padded start; pad rows come back as zeros
        hidden = torch.zeros(b, n, c, dtype=embeds.dtype)
        for row in range(b):
            keep = attention_mask[row].bool()
            positions = torch.arange(n)[keep][None]
            out = lm(inputs_embeds=embeds[row][keep][None], position_ids=positions,
                     output_hidden_states=True)  # fmt: skip
            hidden[row, keep] = out.hidden_states[-1][0]
        return hidden

    # action head ----------------------------------------------------------------------------
    def cat_linear(self, x, name, cat):
        return torch.bmm(x, self.w[name + ".W"][cat]) + self.w[name + ".b"][cat][:, None]

    def cat_mlp(self, x, name, cat):
        return self.cat_linear(
            F.relu(self.cat_linear(x, name + ".layer1", cat)), name + ".layer2", cat
        )

    def dit(self, x, context, t, image_mask, attention_mask):
        dc = self.cfg["diffusion_model_cfg"]
        heads, pre = dc["num_attention_heads"], "action_head.model."
        half = 128  # diffusers Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=1)
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / (half - 1))
        args = t.double()[:, None] * freqs[None]
        tproj = torch.cat([torch.cos(args), torch.sin(args)], -1)
        temb = self.linear(F.silu(self.linear(tproj, pre + "timestep_encoder.timestep_embedder.linear_1")),
                           pre + "timestep_encoder.timestep_embedder.linear_2")  # fmt: skip
        image = image_mask.bool() & attention_mask.bool()
        text = ~image_mask.bool() & attention_mask.bool()
        every = self.cfg["attend_text_every_n_blocks"]
        for idx in range(dc["num_layers"]):
            bp = f"{pre}transformer_blocks.{idx}."
            scale, shift = self.linear(F.silu(temb), bp + "norm1.linear").chunk(2, dim=1)
            y = F.layer_norm(x, x.shape[-1:], eps=1e-5) * (1 + scale[:, None]) + shift[:, None]
            if idx % 2 == 1:
                kv, mask = y, None
            else:
                kv, mask = context, text if idx % (2 * every) == 0 else image
            q, k, v = (self.linear(s, bp + f"attn1.to_{n}").reshape(*s.shape[:2], heads, -1)
                       for s, n in ((y, "q"), (kv, "k"), (kv, "v")))  # fmt: skip
            scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
            att = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v).flatten(2)
            x = x + self.linear(att, bp + "attn1.to_out.0")
            y = F.layer_norm(x, x.shape[-1:], eps=1e-5)
            y = F.gelu(self.linear(y, bp + "ff.net.0.proj"), approximate="tanh")
            x = x + self.linear(y, bp + "ff.net.2")
        shift, scale = self.linear(F.silu(temb), pre + "proj_out_1").chunk(2, dim=1)
        x = F.layer_norm(x, x.shape[-1:], eps=1e-6) * (1 + scale[:, None]) + shift[:, None]
        return self.linear(x, pre + "proj_out_2")

    def get_action(self, pixel_values, input_ids, attention_mask, state, embodiment_id, noise):
        h = "action_head."
        feats = self.backbone(pixel_values, input_ids, attention_mask)
        vl = self.layer_norm(feats, h + "vlln", 1e-5)
        image_mask = input_ids == self.eagle["image_token_index"]
        state_features = self.cat_mlp(state.double(), h + "state_encoder", embodiment_id)
        actions = noise.double()
        steps, buckets = self.cfg["num_inference_timesteps"], self.cfg["num_timestep_buckets"]
        width = self.cfg["input_embedding_dim"]
        for step in range(steps):
            t = torch.full((len(actions),), int(step / steps * buckets))
            a = self.cat_linear(actions, h + "action_encoder.W1", embodiment_id)
            exponent = -torch.arange(width // 2, dtype=torch.float64) * (
                math.log(10000.0) / (width // 2)
            )
            enc = t.double()[:, None, None] * exponent.exp()
            enc = torch.cat([enc.sin(), enc.cos()], -1).expand(-1, actions.shape[1], -1)
            a = F.silu(
                self.cat_linear(torch.cat([a, enc], -1), h + "action_encoder.W2", embodiment_id)
            )
            a = self.cat_linear(a, h + "action_encoder.W3", embodiment_id)
            a = a + self.w[h + "position_embedding.weight"][: a.shape[1]][None]
            out = self.dit(torch.cat([state_features, a], 1), vl, t, image_mask, attention_mask)
            velocity = self.cat_mlp(out, h + "action_decoder", embodiment_id)[
                :, -actions.shape[1] :
            ]
            actions = actions + velocity / steps
        return actions


def test_position_resize_matches_interpolate():
    from groot_sdk.models.gr00t_n16.backbone import resize_positions

    grid = torch.randn(16 * 16, 8)
    for h, w in ((18, 18), (18, 24), (16, 16), (6, 9), (30, 40)):
        ref = F.interpolate(grid.reshape(16, 16, 8).permute(2, 0, 1)[None], (h, w),
                            mode="bilinear", align_corners=False, antialias=True)  # fmt: skip
        got = resize_positions(grid, h, w)
        assert torch.allclose(got, ref[0].reshape(8, -1).T, atol=1e-5), (h, w)


def test_whole_policy_matches_reference(n16_checkpoint, torch_backend):
    inputs = _inputs(torch_backend)
    assert (inputs.attention_mask == 0).any()
    noise = torch_backend.noise(2)
    t = {k: torch.from_numpy(np.ascontiguousarray(getattr(inputs, k))) for k in
         ("pixel_values", "input_ids", "attention_mask", "state", "embodiment_id")}  # fmt: skip
    with torch.no_grad():
        want = RefN16(n16_checkpoint).get_action(**t, noise=torch.from_numpy(noise)).numpy()
    got = torch_backend.infer(inputs, noise)
    assert want.shape == got.shape == (2, 16, 32)
    err = float(np.abs(got - want).max())
    assert err < 1e-4, err


def test_batched_observations(n16_checkpoint, torch_backend):
    from groot_sdk.models.gr00t_n16.backends import create
    from groot_sdk.models.gr00t_n16.runtime import synthetic_observation

    batched = create("torch", None, n16_checkpoint, batched=True, seed=5)
    obs = synthetic_observation(batched.processor, 0, batch=2)
    chunk = batched.get_action(obs)
    assert chunk["action.single_arm"].shape == (2, 16, 6)
    single = {k: v[0] for k, v in obs.items()}  # item 0: frames, states and instruction
    one = torch_backend.get_actions([single])[0]  # one item alone, same noise seed
    np.testing.assert_allclose(chunk["action.single_arm"][0], one["action.single_arm"], atol=1e-4)


def test_tensorrt_engines_match_torch(request, torch_backend, tmp_path):
    """On a CUDA GPU with TensorRT (skipped elsewhere): fp32 engines against torch."""
    pytest.importorskip("tensorrt", reason="needs the tensorrt extra")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from groot_sdk.models.gr00t_n16.backends import build_engines, create

    export = tmp_path / "trt"
    shutil.copytree(request.getfixturevalue("n16_export"), export)
    build_engines(export, precision="fp32", max_batch=2, max_seq=256)
    engine = create("tensorrt", None, export, seed=5)
    inputs = _inputs(torch_backend)
    noise = torch_backend.noise(2)
    assert np.abs(engine.infer(inputs, noise) - torch_backend.infer(inputs, noise)).max() < 1e-3


def test_eagle_vocab_and_merges_tokenizer(tmp_path):
    """Isaac-GR00T ships Eagle 3's tokenizer as vocab.json + merges.txt + added tokens (no
    tokenizer.json): a byte-level BPE of that form, built here, drives the whole policy."""
    from tokenizers import ByteLevelBPETokenizer

    from groot_sdk.errors import ModalityError
    from groot_sdk.models.gr00t_n15.tiny import SPECIAL_TOKENS
    from groot_sdk.models.gr00t_n16.backends import create
    from groot_sdk.models.gr00t_n16.processing import VocabTokenizer, load_tokenizer
    from groot_sdk.models.gr00t_n16.tiny import build_tiny_checkpoint, tiny_config_dict

    bpe = ByteLevelBPETokenizer()
    corpus = [
        "system You are a helpful assistant.",
        "user pick up the cube and place it",
        "<image 1>",
    ]
    bpe.train_from_iterator(corpus, vocab_size=300, min_frequency=1, special_tokens=SPECIAL_TOKENS)
    vocab = bpe.get_vocab()
    config = tiny_config_dict()
    config["eagle_config"]["text_config"]["vocab_size"] = len(vocab)
    config["eagle_config"]["image_token_index"] = vocab["<IMG_CONTEXT>"]
    ckpt = build_tiny_checkpoint(tmp_path / "ckpt", STATE, STATE, seed=2, config=config)
    (ckpt / "tokenizer.json").unlink()
    with pytest.raises(ModalityError, match=r"vocab.json \+ merges.txt"):
        load_tokenizer(ckpt)
    bpe.save_model(str(ckpt))
    added = {str(vocab[t]): {"content": t, "special": True, "lstrip": False, "rstrip": False,
                             "normalized": False, "single_word": False} for t in SPECIAL_TOKENS}  # fmt: skip
    (ckpt / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "Qwen2Tokenizer",
                "pad_token": "<|endoftext|>",
                "added_tokens_decoder": added,
            }
        )
    )
    backend = create("torch", None, ckpt, seed=0)
    assert isinstance(backend.processor.tokenizer, VocabTokenizer)
    obs = backend.synthetic_observation(0)
    inputs = backend.processor(obs)
    assert (inputs.input_ids == vocab["<IMG_CONTEXT>"]).sum() == 9  # 84 px: 6 x 6 patches / 4
    text = backend.processor.prompt("pick up the cube", 1, 9)
    assert backend.processor.tokenizer._tok.decode(inputs.input_ids[0]) == text
    assert backend.get_action(obs)["action.single_arm"].shape == (16, 6)


def test_state_encodings_from_the_processor_config(n16_checkpoint, tmp_path):
    from groot_sdk.errors import ModalityError
    from groot_sdk.models.gr00t_n16.loading import load_config
    from groot_sdk.models.gr00t_n16.processing import build_processor

    ckpt = tmp_path / "ckpt"
    shutil.copytree(n16_checkpoint, ckpt)
    file = ckpt / "processor_config.json"
    data = json.loads(file.read_text())
    kwargs = data["processor_kwargs"]
    kwargs["apply_sincos_state_encoding"] = True
    kwargs["use_percentiles"] = True
    kwargs["modality_configs"]["new_embodiment"]["state"]["sin_cos_embedding_keys"] = ["gripper"]
    file.write_text(json.dumps(data))
    proc = build_processor(ckpt, load_config(ckpt))
    stats = proc.metadata.statistics["state"]["single_arm"]
    arm = np.linspace(-3, 3, 6, dtype=np.float32)[None]  # partly outside q01..q99: clipped
    obs = {"video.front": np.zeros((1, 60, 80, 3), np.uint8), "state.single_arm": arm,
           "state.gripper": np.full((1, 1), 0.3, np.float32)}  # fmt: skip
    state = proc(obs).state[0, 0]
    lo, hi = stats["q01"], stats["q99"]
    np.testing.assert_allclose(
        state[:6], np.clip(2 * (arm[0] - lo) / (hi - lo) - 1, -1, 1), atol=1e-6
    )
    np.testing.assert_allclose(state[6:8], [np.sin(0.3), np.cos(0.3)], atol=1e-6)
    assert not state[8:].any()  # zero padding up to max_state_dim
    kwargs["use_albumentations"] = False
    file.write_text(json.dumps(data))
    with pytest.raises(ModalityError, match="use_albumentations: false"):
        build_processor(ckpt, load_config(ckpt))
    kwargs["use_albumentations"] = True
    kwargs["modality_configs"]["new_embodiment"]["state"]["delta_indices"] = [-1, 0]
    file.write_text(json.dumps(data))
    with pytest.raises(ModalityError, match="takes 2 state steps"):
        build_processor(ckpt, load_config(ckpt))
