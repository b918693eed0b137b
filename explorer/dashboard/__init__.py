"""Dashboard layer: ipywidgets state and wiring (the only layer that imports ipywidgets).

Names load on first use, so the served kernel (:mod:`.kernel`) can start before pandas and
ipywidgets are imported.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Dashboard": "explorer.dashboard.page",
    "app": "explorer.dashboard.page",
    "FilterState": "explorer.dashboard.state",
    "Model": "explorer.dashboard.state",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'explorer.dashboard' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
