"""Dashboard state and derived data, without widgets (testable without a browser).

state (what the user picked) -> derived data (filtered series) -> view (the widgets in app.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from explorer.analysis.effects import pool
from explorer.analysis.harmonise import MCID, SHORT_LABEL, outcome_unit
from explorer.analysis.series import arm_series, contrast_series, describe_span
from explorer.data.load import Evidence

MEASURES = {
    "final": "Value at follow-up",
    "change": "Change from baseline",
    "difference": "Difference vs comparator",
}


@dataclass(frozen=True)
class FilterState:
    outcome: str = "pain"
    measure: str = "final"
    therapies: tuple[str, ...] = ()  # empty = all
    indications: tuple[str, ...] = ()  # empty = all
    windows: tuple[str, ...] = ()  # follow-up windows; empty = all times (baseline included)

    def with_(self, **changes) -> FilterState:
        return replace(self, **changes)


@dataclass
class Model:
    """The evidence plus cached per-outcome series; filtering is a mask on a cached frame."""

    ev: Evidence
    _cache: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)

    def series(self, outcome: str, measure: str) -> pd.DataFrame:
        key = (outcome, measure)
        if key not in self._cache:
            if measure == "difference":
                self._cache[key] = contrast_series(self.ev, outcome=outcome)
            else:
                self._cache[key] = arm_series(self.ev, outcome=outcome, measure=measure)
        return self._cache[key]

    def pooled(self, state: FilterState, rows: pd.DataFrame) -> pd.DataFrame:
        """Random-effects pools (REML) per therapy x window of the shown contrasts; empty otherwise."""
        if state.measure != "difference" or rows.empty:
            return pd.DataFrame(columns=["therapy"])
        return pool(rows, by=["therapy", "window"], method="REML")

    def mcid(self, state: FilterState) -> float | None:
        """The MCID reference line applies to changes and differences, not to raw values."""
        return None if state.measure == "final" else MCID.get(state.outcome)

    def therapy_options(self) -> list[tuple[str, str]]:
        """(label, code) for therapies present in the arms table, in vocabulary order."""
        vocab = self.ev.package.vocabulary("arms", "therapy")
        present = set(self.ev.arms["therapy"].dropna())
        return [(label, code) for code, label in vocab.items() if code in present]

    def indication_options(self) -> list[tuple[str, str]]:
        vocab = self.ev.package.vocabulary("studies", "indication")
        present = set(self.ev.studies["indication"].dropna())
        return [(label, code) for code, label in vocab.items() if code in present]

    def filtered(self, state: FilterState) -> pd.DataFrame:
        s = self.series(state.outcome, state.measure)
        mask = pd.Series(True, index=s.index)
        if state.therapies:
            mask &= s["therapy"].isin(state.therapies)
        if state.indications:
            mask &= s["indication"].isin(state.indications)
        if state.windows:
            mask &= s["window"].isin(state.windows)
        return s[mask]

    def y_title(self, state: FilterState) -> str:
        label = SHORT_LABEL[state.outcome]
        unit = outcome_unit(state.outcome)
        what = {"change": "change from baseline", "difference": "difference vs comparator"}.get(
            state.measure, "value"
        )
        return f"{label}: {what} ({unit}; lower is better)"

    def status(self, state: FilterState, rows: pd.DataFrame) -> str:
        if rows.empty:
            what = "between-group contrast" if state.measure == "difference" else "study arm"
            return f"No {what} matches this selection. Widen the filters or press Reset."
        span = describe_span(rows)
        if state.measure == "difference":
            span = span.replace(" arm", " contrast")
        return f"{span} match ({len(rows)} data points)."
