"""Without lerobot installed (the main test venv), the LeRobot -> SDK half still imports and
the SDK -> LeRobot half fails with one line naming the package to install."""

import importlib.util

import pytest

from groot_sdk.errors import GrootError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("lerobot") is not None, reason="lerobot is installed here"
)


def test_grootrobot_names_the_missing_package():
    import groot_sdk.integrations.lerobot as lr

    assert callable(lr.embodiment_from_lerobot)
    with pytest.raises(GrootError, match=r"pip install 'lerobot>=0\.4\.4'"):
        lr.GrootRobot  # noqa: B018
    with pytest.raises(GrootError, match=r"pip install 'lerobot>=0\.4\.4'"):
        lr.GrootTrajectory  # noqa: B018
