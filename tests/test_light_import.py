import subprocess
import sys

HEAVY = {"torch", "onnxruntime", "tensorrt", "cv2", "can", "serial", "mujoco"}


def test_import_groot_sdk_is_light():
    code = (
        "import groot_sdk, sys; from groot_sdk.plugins import get_registry; "
        "r = get_registry(); r.embodiments(); r.backends(); "
        "import groot_sdk.cli.main; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
