"""Views of a run: a live rerun view (``groot run/teleop --view``) and episode replay
(``groot dataset show --rerun / --video``). rerun-sdk is the ``viz`` extra."""
