"""LeRobot v2.1 datasets with GR00T's ``meta/modality.json``: record, convert, validate, stats.

Heavy libraries (pyarrow, PyAV, tqdm, matplotlib) are imported inside the modules that need
them, through :func:`groot_sdk.errors.require`, so ``import groot_sdk.data`` stays light.
"""

from groot_sdk.data.layout import CODEBASE_VERSION, DatasetLayout

__all__ = ["CODEBASE_VERSION", "DatasetLayout"]
