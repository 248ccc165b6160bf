"""pytest plugin (auto-loaded through the ``pytest11`` entry point): groot fixtures.

* ``groot_registry`` - a fresh plugin registry for the test
* ``groot_mock_embodiment`` - factory: name -> a mock-hardware Embodiment
"""

from __future__ import annotations

import pytest


@pytest.fixture
def groot_registry():
    from groot_sdk.plugins import Registry, reset_registry

    registry = Registry()
    reset_registry(registry)
    yield registry
    reset_registry(None)


@pytest.fixture
def groot_mock_embodiment():
    from groot_sdk.embodiment import mock_embodiment
    from groot_sdk.plugins import get_registry

    def make(name: str):
        return mock_embodiment(get_registry().embodiment(name).spec)

    return make
