"""The groot-sdk conformance kit, run on the g1_inspire embodiment."""

from groot_sdk.testing import EmbodimentConformance


class TestConformance(EmbodimentConformance):
    embodiment = "g1_inspire"
