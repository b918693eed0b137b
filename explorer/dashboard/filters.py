"""The dashboard's filters, declared once.

One table (:data:`FILTERS`) generates everything a filter needs: the field of
:class:`FilterState`, the boolean mask over any frame the views draw from (:func:`mask`), the
panel's controls (:func:`panel_spec`, rendered by one generic component), the URL keys
(:mod:`explorer.dashboard.urlstate`), and the choices offered (:func:`choices`, from the data
package's vocabularies). Adding a filter is one entry here.

A filter has a *level*, which says what it tests:

- ``study``: a property of the study (indication, design, risk of bias, year, size);
- ``arm``: a property of the intervention arm (therapy, approach, guidance). The comparator arms of
  a matching study stay visible: a filter picks a comparison, not an arm, so a PRP arm is never
  shown without its control;
- ``comparison``: the comparator class; a contrast tests its own, a study or an arm tests
  whether its study has such a comparator;
- ``row``: the follow-up window of a data point (not applied to lists of studies);
- ``choice`` and ``rule``: what is drawn (outcome, measure) and the pooling rules' switches; they
  select series and rules, they do not mask rows.

No widgets here (the panel is :mod:`explorer.dashboard.panel`): this module is testable alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from explorer.analysis.harmonise import OUTCOMES
from explorer.analysis.series import RESPONDERS
from explorer.analysis.windows import DEFAULT_WINDOWS

MEASURES = {
    "final": "Value at follow-up",
    "change": "Change from baseline",
    "difference": "Difference vs comparator",
}
OUTCOME_CHOICES = {
    "pain": "Pain, 0-10 (leg pain for radicular conditions, back pain otherwise)",
    "leg_pain": "Leg pain, 0-10",
    "back_pain": "Back pain, 0-10",
    "function": "Function / disability, % of the scale",
    "quality_of_life": "Quality of life, % of the scale",
    RESPONDERS: "Responders, % of the group (each paper's definition)",
}
assert set(OUTCOME_CHOICES) - {RESPONDERS} <= set(OUTCOMES)
#: the finer comparisons (explorer/analysis/comparisons.py; the review_estimates vocabulary)
COMPARISON_CHOICES = {
    "placebo_sham": "Placebo or sham",
    "conservative": "Conservative care",
    "systemic_drug": "A systemic drug",
    "other_therapy": "Another therapy",
    "approach": "Same therapy, another approach (e.g. transforaminal vs caudal)",
    "agent": "Same therapy, another agent (e.g. particulate vs non-particulate)",
    "dose": "Same therapy, another dose",
    "guidance": "Same therapy, another image guidance",
    "injections": "Same therapy, another number of injections",
}


@dataclass(frozen=True)
class Filter:
    """One filter: its state field, URL key, panel control and what it tests.

    ``kind`` is the control and value type: ``one`` (a single choice, a string), ``many`` (a set
    of codes as a tuple; empty means all), ``switch`` (a bool), ``years`` (an inclusive
    ``(first, last)`` pair, ``None`` for open) or ``at_least`` (an int, 0 for no minimum).
    ``vocabulary`` names the data package field whose codes and labels are offered, or a fixed
    mapping of code to label. ``column`` is the data column tested by the mask.
    """

    name: str
    key: str
    label: str
    kind: str
    level: str
    default: Any
    column: str | None = None
    vocabulary: tuple[str, str] | Mapping[str, str] | None = None
    help: str = ""
    #: shown open in the panel (the others start folded, to keep the panel short)
    open: bool = False


FILTERS: tuple[Filter, ...] = (
    Filter(
        "outcome", "outcome", "Outcome", "one", "choice", "pain", vocabulary=OUTCOME_CHOICES,
        help="For the plots and the forest plot; the findings table shows every outcome.", open=True,
    ),
    Filter(
        "measure", "show", "Show", "one", "choice", "final", vocabulary=MEASURES,
        help="For the efficacy plot (published pools are drawn under 'Difference vs comparator').", open=True,
    ),
    Filter(
        "therapies", "therapy", "Therapy", "many", "arm", (), "therapy", ("arms", "therapy"),
        "The comparison's intervention; its control arms stay in view.", open=True,
    ),
    Filter(
        "comparators", "comparator", "Compared with", "many", "comparison", (), "comparator_kind",
        ("arms", "comparator_kind"), "Local anaesthetic alone counts as placebo/sham unless the strict rule is on.",
        open=True,
    ),
    Filter(
        "comparisons", "vs", "What is compared", "many", "comparison", (), "comparison", COMPARISON_CHOICES,
        "Placebo/sham, conservative care, a drug, another therapy, or the same therapy in another form.",
    ),
    Filter("indications", "indication", "Indication", "many", "study", (), "indication", ("studies", "indication")),
    Filter(
        "designs", "design", "Study design", "many", "study", ("rct",), "design", ("studies", "design"),
        "Randomised trials by default; tick All for every design (safety series are mostly non-randomised).",
    ),
    Filter(
        "windows", "window", "Follow-up", "many", "row", (), "window",
        {w.name: w.label for w in DEFAULT_WINDOWS},
    ),
    Filter("approaches", "approach", "Approach", "many", "arm", (), "approach", ("arms", "approach")),
    Filter("guidance", "guidance", "Image guidance", "many", "arm", (), "guidance", ("arms", "guidance")),
    Filter("rob", "rob", "Risk of bias", "many", "study", (), "risk_of_bias", ("studies", "risk_of_bias")),
    Filter("years", "year", "Published", "years", "study", (None, None), "year"),
    Filter("min_n", "min_n", "At least n randomised", "at_least", "study", 0, "study_n"),
    Filter(
        "strict_placebo", "strict", "Placebo = inert injections only (strict; local anaesthetic counts as active)",
        "switch", "rule", False,
    ),
    Filter("inferred_scales", "inferred", "Pool VAS rows whose range was inferred from the values", "switch", "rule", False),
    Filter("imputed_sd", "imputed", "Pool rows whose SD was imputed from other trials", "switch", "rule", True),
)  # fmt: skip
BY_NAME = {f.name: f for f in FILTERS}
BY_KEY = {f.key: f for f in FILTERS}
_TYPES = {"one": str, "many": tuple, "switch": bool, "years": tuple, "at_least": int}


def _with(self, **changes: Any):
    return dataclasses.replace(self, **changes)


#: What the user picked: one field per filter, generated from :data:`FILTERS` (immutable and
#: hashable, so derived data can be memoised on it). ``state.with_(therapies=("prp",))`` copies.
FilterState = dataclasses.make_dataclass(
    "FilterState",
    [(f.name, _TYPES[f.kind], dataclasses.field(default=f.default)) for f in FILTERS],
    frozen=True,
    namespace={"with_": _with, "__module__": __name__},
)


def choices(
    f: Filter, vocabulary: Callable[[str, str], Mapping[str, str]], present: Callable[[str, str], set] | None = None
) -> list[tuple[str, str]]:
    """``(code, label)`` offered for ``f``: a fixed mapping, or the data package's vocabulary of
    the field, restricted to codes present in the data (``present(resource, column)``)."""
    if f.vocabulary is None:
        return []
    if isinstance(f.vocabulary, Mapping):
        return list(f.vocabulary.items())
    resource, column = f.vocabulary
    vocab = vocabulary(resource, column)
    have = present(resource, column) if present is not None else set(vocab)
    return [(code, label) for code, label in vocab.items() if code in have]


def clean(state_values: Mapping[str, Any], known: Mapping[str, Sequence[str]], years: tuple[int, int]):
    """A :class:`FilterState` from loose values (the panel's or a URL's): unknown codes dropped,
    types coerced, defaults for what is missing. Returns ``(state, dropped)`` where ``dropped``
    lists ``key=value`` strings that were not understood."""
    changes: dict[str, Any] = {}
    dropped: list[str] = []
    for f in FILTERS:
        if f.name not in state_values:
            continue
        raw = state_values[f.name]
        if f.kind == "one":
            if isinstance(raw, str) and raw in known.get(f.name, ()):
                changes[f.name] = raw
            else:
                dropped.append(f"{f.key}={raw}")
        elif f.kind == "many":
            picked: list[str] = []
            for v in [raw] if isinstance(raw, str) else raw if isinstance(raw, (list, tuple)) else ():
                if v in known.get(f.name, ()):
                    if v not in picked:
                        picked.append(v)
                else:
                    dropped.append(f"{f.key}={v}")
            changes[f.name] = tuple(picked)
        elif f.kind == "switch":
            changes[f.name] = bool(raw)
        elif f.kind == "years":
            lo, hi = (_integer(v) for v in [*(raw if isinstance(raw, (list, tuple)) else ()), None, None][:2])
            if lo is not None and hi is not None and lo > hi:
                lo, hi = hi, lo
            lo = None if lo is None or lo <= years[0] else min(lo, years[1])
            hi = None if hi is None or hi >= years[1] else max(hi, years[0])
            changes[f.name] = (lo, hi)
        elif f.kind == "at_least":
            n = _integer(raw)
            changes[f.name] = min(max(0, n or 0), 99_999)
    return FilterState().with_(**changes), dropped


def _integer(value: Any) -> int | None:
    """An integer from a loose value (a number or digits), else None: the panel's values (years,
    a minimum n) come from a browser and are not trusted."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and np.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def values(state) -> dict[str, Any]:
    """The state as JSON-ready values, keyed by field name (what the panel holds)."""
    out: dict[str, Any] = {}
    for f in FILTERS:
        v = getattr(state, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def panel_spec(options: Mapping[str, list[tuple[str, str]]], years: tuple[int, int]) -> list[dict[str, Any]]:
    """What the generic panel component draws: one entry per filter, in the table's order."""
    spec = []
    for f in FILTERS:
        entry: dict[str, Any] = {
            "name": f.name,
            "label": f.label,
            "kind": f.kind,
            "help": f.help,
            "open": f.open,
            "default": list(f.default) if isinstance(f.default, tuple) else f.default,
        }
        if f.kind in ("one", "many"):
            entry["options"] = [[code, label] for code, label in options.get(f.name, [])]
        if f.kind == "years":
            entry["min"], entry["max"] = years
        spec.append(entry)
    return spec


def mask(
    df: pd.DataFrame,
    state,
    rows: str,
    *,
    arm_studies: Callable[[Any], set] | None = None,
    study_comparators: Mapping[str, frozenset] | None = None,
    levels: tuple[str, ...] = ("study", "arm", "comparison", "row"),
) -> np.ndarray:
    """Which rows of ``df`` the selection keeps.

    ``rows`` says what a row is: ``"arms"`` (one arm at one time; comparator arms follow their
    study), ``"contrasts"`` (a comparison: intervention arm vs comparator class) or ``"studies"``
    (a study x intervention arm list; windows do not apply). ``arm_studies(state)`` gives the
    studies with an intervention arm that passes the arm-level filters (used for comparator arms);
    ``study_comparators`` the comparator classes of each study (used where a row has no class of
    its own). ``levels`` restricts which levels apply.
    """
    keep = np.ones(len(df), dtype=bool)
    if not len(df):
        return keep
    study = df["study_id"].to_numpy() if "study_id" in df.columns else None
    follows = None  # comparator arms whose study has an intervention arm that passes (computed once)
    for f in FILTERS:
        value = getattr(state, f.name)
        if f.level not in levels or not _narrows(f, value) or (f.level == "row" and rows == "studies"):
            continue
        if f.level == "arm" and rows == "arms" and "role" in df.columns and arm_studies is not None:
            comparator = (df["role"] == "comparator").to_numpy()
            own = df[f.column].isin(value).to_numpy() if f.column in df.columns else np.zeros(len(df), bool)
            if follows is None:
                follows = np.isin(study, list(arm_studies(state))) if study is not None else comparator
            keep &= np.where(comparator, follows, own)
        elif f.level == "comparison" and rows != "contrasts":
            wanted = set(value)
            lookup = study_comparators or {}
            keep &= np.fromiter((bool(lookup.get(s, frozenset()) & wanted) for s in study), bool, len(df))
        elif f.column in df.columns:
            keep &= _test(f, df[f.column], value)
    return keep


def _narrows(f: Filter, value: Any) -> bool:
    """Whether ``value`` of ``f`` leaves rows out (an empty set or a default bound does not)."""
    return bool(value) if f.kind == "many" else value != f.default


def _test(f: Filter, column: pd.Series, value: Any) -> np.ndarray:
    """The rows whose ``column`` passes ``f`` at ``value``."""
    if f.kind == "many":
        return column.isin(value).to_numpy()
    numbers = pd.to_numeric(column, errors="coerce")
    if f.kind == "years":
        years = numbers.to_numpy(dtype=float)
        lo, hi = value
        return (years >= lo if lo is not None else True) & (years <= hi if hi is not None else True)
    if f.kind == "at_least":
        return numbers.fillna(0).to_numpy() >= value
    return np.ones(len(column), dtype=bool)
