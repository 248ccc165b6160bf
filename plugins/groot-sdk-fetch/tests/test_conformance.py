"""The groot-sdk conformance kit, run on the fetch embodiment."""

from groot_sdk.testing import EmbodimentConformance


class TestConformance(EmbodimentConformance):
    embodiment = "fetch"
