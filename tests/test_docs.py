"""Every hook in hookspecs.py is documented in docs/writing-a-plugin.md."""

import inspect
from pathlib import Path

from groot_sdk.plugins import hookspecs


def test_every_hook_is_documented():
    doc = (Path(__file__).parents[1] / "docs" / "writing-a-plugin.md").read_text()
    hooks = [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("groot_")]
    assert hooks
    for name in hooks:
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"{name}({params})" in doc, name
