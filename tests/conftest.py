import pytest


@pytest.fixture
def so101_spec():
    from groot_sdk.plugins import get_registry

    return get_registry().embodiment("so101").spec
