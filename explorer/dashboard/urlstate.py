"""The dashboard's selection as a query string, and back.

``?therapy=prp,epidural_steroid&indication=discogenic&window=short`` opens the dashboard on that
selection; the link shown on the page is the current selection in the same form. The keys are the
filter table's (:data:`explorer.dashboard.filters.FILTERS`). Parsing only *selects among known
values*: unknown keys and values are dropped (and reported), nothing from the URL is evaluated or
shown unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlencode

from explorer.dashboard.filters import BY_KEY, FILTERS, FilterState, clean

MAX_QUERY = 2000
VIEWS = ("findings", "reviews", "time", "forest", "map", "safety", "studies", "summary")
#: what a view's link may carry besides the filters (the forest plot's comparison and the studies
#: it leaves out); checked here for their characters, then by the view against what it offers
EXTRAS = {
    "comparison": re.compile(r"[A-Za-z0-9_|]{1,200}"),
    "omit": re.compile(r"[A-Za-z0-9_.,-]{1,600}"),
    "form": re.compile(r"table|plot"),  # the findings as a table or as the effect-direction plot
}
#: keys that are not filters: the view shown, presentation mode, the view's extras
PAGE_KEYS = ("view", "present", *EXTRAS)


def parse(
    query: str, known: Mapping[str, Sequence[str]], years: tuple[int, int] = (0, 9999)
) -> tuple[FilterState, list[str]]:
    """FilterState from a query string, plus the ignored keys/values (for a notice).

    ``known`` maps a filter's name to its known codes (``Model.known()``); ``years`` is the data's
    range (a bound at or beyond it means no bound). ``view`` and ``present`` are read by
    :func:`parse_view`.
    """
    params = parse_qs((query or "")[:MAX_QUERY].lstrip("?"), keep_blank_values=False)
    for key in PAGE_KEYS:
        params.pop(key, None)
    loose: dict[str, object] = {}
    ignored: list[str] = []
    for key, raws in params.items():
        f = BY_KEY.get(key)
        if f is None:
            ignored.append(key)
            continue
        if f.kind == "many":
            codes = [v.strip() for raw in raws for v in raw.split(",") if v.strip()]
            loose[f.name] = [] if codes == ["all"] else codes
        elif f.kind == "one":
            loose[f.name] = raws[-1]
        elif f.kind == "switch":
            if raws[-1] in ("0", "1"):
                loose[f.name] = raws[-1] == "1"
            else:
                ignored.append(f"{key}={raws[-1]}")
        elif f.kind == "years":
            m = re.fullmatch(r"(\d{4})?-(\d{4})?", raws[-1])
            if m:
                loose[f.name] = [int(g) if g else None for g in m.groups()]
            else:
                ignored.append(f"{key}={raws[-1]}")
        elif f.kind == "at_least":
            if raws[-1].isdigit() and int(raws[-1]) < 100_000:
                loose[f.name] = int(raws[-1])
            else:
                ignored.append(f"{key}={raws[-1]}")
    state, dropped = clean(loose, known, years)
    return state, ignored + dropped


def parse_view(query: str) -> tuple[str, bool]:
    params = parse_qs((query or "")[:MAX_QUERY].lstrip("?"))
    view = params.get("view", ["findings"])[-1]
    present = params.get("present", ["0"])[-1] in ("1", "true", "yes")
    return (view if view in VIEWS else "findings"), present


def parse_extras(query: str) -> dict[str, str]:
    """The view's extras of a query string, where their characters are plausible (else left out)."""
    params = parse_qs((query or "")[:MAX_QUERY].lstrip("?"))
    return {k: v[-1] for k, rx in EXTRAS.items() if (v := params.get(k)) and rx.fullmatch(v[-1])}


def to_query(
    state: FilterState, view: str = "findings", present: bool = False, extras: Mapping[str, str] | None = None
) -> str:
    """The query string (without '?') for a selection; defaults are left out to keep links short."""
    pairs: list[tuple[str, str]] = []
    for f in FILTERS:
        value = getattr(state, f.name)
        if value == f.default:
            continue
        if f.kind == "many":
            pairs.append((f.key, ",".join(value) if value else "all"))
        elif f.kind == "switch":
            pairs.append((f.key, "1" if value else "0"))
        elif f.kind == "years":
            lo, hi = value
            pairs.append((f.key, f"{lo or ''}-{hi or ''}"))
        else:
            pairs.append((f.key, str(value)))
    if view != "findings":
        pairs.append(("view", view))
    if present:
        pairs.append(("present", "1"))
    pairs.extend((k, v) for k, v in (extras or {}).items() if k in EXTRAS and v)
    return urlencode(pairs, safe=",|")
