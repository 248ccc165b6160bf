"""The groot-sdk conformance kit, run on the bhl embodiment."""

from groot_sdk.testing import EmbodimentConformance


class TestConformance(EmbodimentConformance):
    embodiment = "bhl"
