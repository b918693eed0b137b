"""The dashboard's selection as a query string, and back.

``?therapy=prp,epidural_steroid&indication=discogenic&window=short`` opens the dashboard on that
selection; the link shown on the page is the current selection in the same form. Parsing only
*selects among known values*: unknown keys and values are dropped (and reported), nothing from the
URL is evaluated or shown unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlencode

from explorer.analysis.windows import DEFAULT_WINDOWS
from explorer.dashboard.state import MEASURES, OUTCOME_CHOICES, FilterState

MAX_QUERY = 2000
#: query key -> FilterState attribute, for the multi-valued filters
MULTI_KEYS = {
    "therapy": "therapies",
    "approach": "approaches",
    "indication": "indications",
    "guidance": "guidance",
    "comparator": "comparators",
    "design": "designs",
    "window": "windows",
    "rob": "rob",
}
VIEWS = ("findings", "time", "forest", "map", "safety", "studies", "summary")
#: query key -> (FilterState attribute, value the key stands for); absent = the default
SWITCHES = {"strict": ("strict_placebo", True), "inferred": ("inferred_scales", True), "imputed": ("imputed_sd", False)}


def parse(
    query: str,
    therapies: Sequence[str],
    indications: Sequence[str],
    vocab: Mapping[str, Sequence[str]] | None = None,
) -> tuple[FilterState, list[str]]:
    """FilterState from a query string, plus the ignored keys/values (for a notice).

    ``vocab`` maps a query key to its known values (therapy and indication come from the first two
    arguments; windows from the default windows). Extra keys ``view`` and ``present`` are returned
    through :func:`parse_view`.
    """
    known: dict[str, Sequence[str]] = {
        "therapy": therapies,
        "indication": indications,
        "window": [w.name for w in DEFAULT_WINDOWS],
        **(vocab or {}),
    }
    ignored: list[str] = []
    params = parse_qs((query or "")[:MAX_QUERY].lstrip("?"), keep_blank_values=False)
    params.pop("view", None)
    params.pop("present", None)
    changes: dict[str, object] = {}
    for key, attr in MULTI_KEYS.items():
        if key not in params:
            continue
        picked: list[str] = []
        for raw in params.pop(key):
            for v in raw.split(","):
                v = v.strip()
                if v in known.get(key, ()) and v not in picked:
                    picked.append(v)
                elif v and not (key == "design" and v == "all"):
                    ignored.append(f"{key}={v}")
        changes[attr] = tuple(picked)
    for key, attr, allowed in (
        ("outcome", "outcome", list(OUTCOME_CHOICES)),
        ("show", "measure", list(MEASURES)),
    ):
        values = params.pop(key, [])
        if values and values[-1] in allowed:
            changes[attr] = values[-1]
        else:
            ignored.extend(f"{key}={v}" for v in values)
    for value in params.pop("year", []):
        m = re.fullmatch(r"(\d{4})?-(\d{4})?", value)
        if m:
            changes["year_min"] = int(m.group(1)) if m.group(1) else None
            changes["year_max"] = int(m.group(2)) if m.group(2) else None
        else:
            ignored.append(f"year={value}")
    for key, (attr, when_on) in SWITCHES.items():
        for value in params.pop(key, []):
            if value in ("0", "1"):
                changes[attr] = when_on if value == ("1" if when_on else "0") else not when_on
            else:
                ignored.append(f"{key}={value}")
    for value in params.pop("min_n", []):
        if value.isdigit() and int(value) < 100_000:
            changes["min_n"] = int(value)
        else:
            ignored.append(f"min_n={value}")
    ignored.extend(sorted(params))
    return FilterState().with_(**changes), ignored


def parse_view(query: str) -> tuple[str, bool]:
    params = parse_qs((query or "")[:MAX_QUERY].lstrip("?"))
    view = params.get("view", ["findings"])[-1]
    present = params.get("present", ["0"])[-1] in ("1", "true", "yes")
    return (view if view in VIEWS else "findings"), present


def to_query(state: FilterState, view: str = "findings", present: bool = False) -> str:
    """The query string (without '?') for a selection; defaults are left out to keep links short."""
    default = FilterState()
    pairs: list[tuple[str, str]] = []
    if state.outcome != default.outcome:
        pairs.append(("outcome", state.outcome))
    if state.measure != default.measure:
        pairs.append(("show", state.measure))
    for key, attr in MULTI_KEYS.items():
        values = getattr(state, attr)
        if values != getattr(default, attr):
            pairs.append((key, ",".join(values) if values else "all"))
    if state.year_min is not None or state.year_max is not None:
        pairs.append(("year", f"{state.year_min or ''}-{state.year_max or ''}"))
    if state.min_n:
        pairs.append(("min_n", str(state.min_n)))
    for key, (attr, when_on) in SWITCHES.items():
        if getattr(state, attr) != getattr(default, attr):
            pairs.append((key, "1" if getattr(state, attr) == when_on and when_on else "0"))
    if view != "findings":
        pairs.append(("view", view))
    if present:
        pairs.append(("present", "1"))
    return urlencode(pairs, safe=",")
