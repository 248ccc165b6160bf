import pytest

pytest.importorskip("torch", reason="GR00T N1.5 model tests need the torch extra")
pytest.importorskip("transformers", reason="GR00T N1.5 model tests need the torch extra")


@pytest.fixture(scope="package")
def tiny_checkpoint(tmp_path_factory):
    """A tiny GR00T N1.5 checkpoint: single_arm 6 + gripper 1, one camera, random weights."""
    from groot_sdk.models.gr00t_n15.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("gr00t") / "ckpt", seed=0)


@pytest.fixture(scope="package")
def onnx_export(tiny_checkpoint, tmp_path_factory):
    """``groot export-onnx`` of the tiny checkpoint (through the CLI)."""
    pytest.importorskip("onnxruntime", reason="needs the onnx extra")
    pytest.importorskip("onnxscript", reason="torch's ONNX exporter needs onnxscript")
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli

    out = tmp_path_factory.mktemp("gr00t_onnx") / "onnx"
    result = CliRunner().invoke(cli, ["export-onnx", str(tiny_checkpoint), str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out
