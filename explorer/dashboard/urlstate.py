"""The dashboard's selection as a query string, and back.

``?therapy=prp,epidural_steroid&indication=discogenic&window=short`` opens the dashboard on that
selection; the link shown on the page is the current selection in the same form. Parsing only
*selects among known values*: unknown keys and values are dropped (and reported), nothing from the
URL is evaluated or shown unescaped.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from explorer.analysis.harmonise import OUTCOMES
from explorer.analysis.windows import DEFAULT_WINDOWS
from explorer.dashboard.state import MEASURES, FilterState

MAX_QUERY = 2000


def parse(query: str, therapies: list[str], indications: list[str]) -> tuple[FilterState, list[str]]:
    """FilterState from a query string, plus the names of ignored keys/values (for a notice)."""
    ignored: list[str] = []
    params = parse_qs((query or "")[:MAX_QUERY].lstrip("?"), keep_blank_values=False)
    state = FilterState()

    def many(key: str, allowed: list[str]) -> tuple[str, ...]:
        picked: list[str] = []
        for raw in params.pop(key, []):
            for v in raw.split(","):
                v = v.strip()
                if v in allowed and v not in picked:
                    picked.append(v)
                elif v:
                    ignored.append(f"{key}={v}")
        return tuple(picked)

    def one(key: str, allowed: list[str], default: str) -> str:
        values = params.pop(key, [])
        if values and values[-1] in allowed:
            return values[-1]
        ignored.extend(f"{key}={v}" for v in values)
        return default

    state = state.with_(
        outcome=one("outcome", list(OUTCOMES), state.outcome),
        measure=one("show", list(MEASURES), state.measure),
        therapies=many("therapy", therapies),
        indications=many("indication", indications),
        windows=many("window", [w.name for w in DEFAULT_WINDOWS]),
    )
    ignored.extend(sorted(params))
    return state, ignored


def to_query(state: FilterState) -> str:
    """The query string (without '?') for a selection; defaults are left out to keep links short."""
    default = FilterState()
    pairs = []
    if state.outcome != default.outcome:
        pairs.append(("outcome", state.outcome))
    if state.measure != default.measure:
        pairs.append(("show", state.measure))
    for key, values in (
        ("therapy", state.therapies),
        ("indication", state.indications),
        ("window", state.windows),
    ):
        if values:
            pairs.append((key, ",".join(values)))
    return urlencode(pairs, safe=",")
