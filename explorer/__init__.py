"""Evidence explorer for injection therapies for back pain.

Typical use in JupyterLab (these lines run as doctests in the test suite)::

    >>> import explorer
    >>> ev = explorer.load()  # validated tables (EXPLORER_DATA or bundled data)
    >>> pain = explorer.arm_series(ev, outcome="pain")  # harmonised time course per arm
    >>> {"study_id", "therapy", "time_weeks", "value", "locator"} <= set(pain.columns)
    True
    >>> fig = explorer.figures.efficacy_over_time(pain)  # plotly figure
    >>> type(fig).__name__
    'Figure'

Heavy modules (pandas, plotly, ipywidgets) load on first use, so ``import explorer`` is instant.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load": ("explorer.data", "load"),
    "validate_package": ("explorer.data", "validate_package"),
    "Evidence": ("explorer.data", "Evidence"),
    "DataError": ("explorer.data", "DataError"),
    "arm_series": ("explorer.analysis.series", "arm_series"),
    "effects": ("explorer.analysis.effects", "effects"),
    "pool": ("explorer.analysis.effects", "pool"),
    "explain": ("explorer.analysis.effects", "explain"),
    "RULES": ("explorer.analysis.comparability", "RULES"),
    "harm_totals": ("explorer.analysis.harms", "totals"),
    "sensitivity": ("explorer.analysis.effects", "sensitivity"),
    "funnel": ("explorer.analysis.effects", "funnel"),
    "subgroups": ("explorer.analysis.effects", "subgroups"),
    "timecourse": ("explorer.analysis.timecourse", "timecourse"),
    "directions": ("explorer.analysis.synthesis", "directions"),
    "vote_counts": ("explorer.analysis.synthesis", "vote_counts"),
    "reviews": ("explorer.analysis.reviews", "reviews"),
    "review_overlap": ("explorer.analysis.reviews", "overlap"),
    "windows": ("explorer.analysis.windows", "assign_windows"),
    "figures": ("explorer.figures", None),
    "data": ("explorer.data", None),
    "analysis": ("explorer.analysis", None),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'explorer' has no attribute {name!r}") from None
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
