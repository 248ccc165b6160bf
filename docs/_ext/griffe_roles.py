"""Griffe extension for the docs site: the docstrings use Sphinx roles (``:func:`x```) and
``::`` literal markers, which Markdown would show as they are; render them as code."""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    tilde, path = match.groups()
    return f"`{path.rsplit('.', 1)[-1] if tilde else path}`"


def clean(text: str) -> str:
    """``:func:`~a.b.c``` -> ```c```, ``:class:`a.B``` -> ```a.B```; ``text::`` -> ``text:``."""
    text = _ROLE.sub(_code, text)
    return re.sub(r"(\S)::$", r"\1:", text, flags=re.M)


class SphinxRoles(Extension):
    def on_instance(self, *, obj: Any, **_: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = clean(obj.docstring.value)
