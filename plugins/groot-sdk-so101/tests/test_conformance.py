"""The groot-sdk conformance kit, run on the so101 embodiment."""

from groot_sdk.testing import EmbodimentConformance


class TestConformance(EmbodimentConformance):
    embodiment = "so101"
