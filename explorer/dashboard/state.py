"""Dashboard state and derived data, without widgets (testable without a browser).

state (what the user picked) -> derived data (filtered series, pools, tables) -> view (page.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from explorer.analysis.effects import explain, pool
from explorer.analysis.harmonise import MIC, OUTCOMES, SHORT_LABEL, outcome_unit
from explorer.analysis.series import RESPONDERS, arm_series, changes_from_finals, contrast_series
from explorer.data.load import Evidence

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


@dataclass(frozen=True)
class FilterState:
    outcome: str = "pain"
    measure: str = "final"
    therapies: tuple[str, ...] = ()  # every tuple: empty = all
    approaches: tuple[str, ...] = ()
    indications: tuple[str, ...] = ()
    guidance: tuple[str, ...] = ()
    comparators: tuple[str, ...] = ()
    designs: tuple[str, ...] = ("rct",)  # randomised trials by default; observational on request
    windows: tuple[str, ...] = ()
    rob: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    min_n: int = 0
    # pooling rules offered as sensitivity choices (explorer.analysis.comparability)
    strict_placebo: bool = False  # comparator classes: Cochrane (default) or inert injections only
    inferred_scales: bool = False  # pool VAS rows whose range was inferred from the values
    imputed_sd: bool = True  # pool rows whose SD was borrowed from other studies

    def with_(self, **changes) -> FilterState:
        return replace(self, **changes)


@dataclass
class Model:
    """The evidence plus cached series; every filter is a boolean mask on a cached frame."""

    ev: Evidence
    _cache: dict[tuple, pd.DataFrame] = field(default_factory=dict)
    _filtered: dict[FilterState, pd.DataFrame] = field(default_factory=dict)
    _per_state: dict[tuple, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ev = self.ev
        comps = ev.arms[ev.arms["role"] == "comparator"].groupby("study_id")["comparator_kind"].agg(frozenset)
        self.study_comparators = comps.to_dict()
        arms = ev.arms[ev.arms["role"] != "comparator"][["study_id", "therapy", "approach", "guidance"]]
        st = ev.studies.rename(columns={"n_randomised": "study_n"})
        self.study_therapy = arms.merge(st, on="study_id", how="left").drop_duplicates(
            ["study_id", "therapy", "approach", "guidance"]
        )
        ae = ev.adverse_events.merge(
            ev.arms[["study_id", "arm_id", "therapy", "approach", "guidance"]],
            on=["study_id", "arm_id"],
            how="left",
        )
        self.adverse = ae.merge(
            st[["study_id", "label", "design", "indication", "year", "study_n", "risk_of_bias"]],
            on="study_id",
            how="left",
        )

    # ------------------------------------------------------------------ vocabularies
    def options(self, resource: str, column: str, present: pd.Series | None = None) -> list[tuple[str, str]]:
        vocab = self.ev.package.vocabulary(resource, column)
        have = set(present.dropna()) if present is not None else set(vocab)
        return [(label, code) for code, label in vocab.items() if code in have]

    def therapy_options(self) -> list[tuple[str, str]]:
        return self.options("arms", "therapy", self.ev.arms["therapy"])

    def indication_options(self) -> list[tuple[str, str]]:
        return self.options("studies", "indication", self.ev.studies["indication"])

    def labels(self, resource: str, column: str) -> dict[str, str]:
        return self.ev.package.vocabulary(resource, column)

    def year_range(self) -> tuple[int, int]:
        years = self.ev.studies["year"].dropna().astype(int)
        return (int(years.min()), int(years.max())) if len(years) else (1950, 2030)

    # ------------------------------------------------------------------ derived data
    def series(self, outcome: str, measure: str, comparators: str = "cochrane") -> pd.DataFrame:
        if outcome == RESPONDERS:
            measure = "final"  # responders are shown as % of each group
        key = (outcome, measure, comparators if measure == "difference" else "")
        if key not in self._cache:
            if measure == "difference":
                self._cache[key] = contrast_series(self.ev, outcome=outcome, comparators=comparators)
            else:
                self._cache[key] = arm_series(self.ev, outcome=outcome, measure=measure)
        return self._cache[key]

    def _mask(
        self,
        df: pd.DataFrame,
        state: FilterState,
        *,
        windows: bool = True,
        comparator_column: str | None = None,
    ) -> np.ndarray:
        mask = np.ones(len(df), dtype=bool)
        for attr, col in (
            ("therapies", "therapy"),
            ("approaches", "approach"),
            ("indications", "indication"),
            ("guidance", "guidance"),
            ("designs", "design"),
            ("rob", "risk_of_bias"),
        ):
            chosen = getattr(state, attr)
            if chosen and col in df.columns:
                mask &= df[col].isin(chosen).to_numpy()
        if windows and state.windows and "window" in df.columns:
            mask &= df["window"].isin(state.windows).to_numpy()
        years = (
            pd.to_numeric(df["year"], errors="coerce").to_numpy(dtype=float) if "year" in df.columns else None
        )
        if years is not None and state.year_min is not None:
            mask &= years >= state.year_min
        if years is not None and state.year_max is not None:
            mask &= years <= state.year_max
        if state.min_n and "study_n" in df.columns:
            mask &= pd.to_numeric(df["study_n"], errors="coerce").fillna(0).to_numpy() >= state.min_n
        if state.comparators:
            if comparator_column and comparator_column in df.columns:
                mask &= df[comparator_column].isin(state.comparators).to_numpy()
            else:
                wanted = set(state.comparators)
                mask &= (
                    df["study_id"]
                    .map(lambda s: bool(self.study_comparators.get(s, frozenset()) & wanted))
                    .to_numpy(dtype=bool)
                )
        return mask

    def filtered(self, state: FilterState) -> pd.DataFrame:
        """The series rows the selection shows. Memoised on the (immutable) state: one filter
        change asks for the same rows from the status line, the view and the exports."""
        cached = self._filtered.get(state)
        if cached is None:
            if len(self._filtered) > 16:
                self._filtered.clear()
            cached = self._filtered[state] = self._filter(state)
        return cached

    def _study_count(self, state: FilterState) -> int:
        """Studies the selection would show (a mask, no copy of the rows, nothing memoised)."""
        s = self.series(state.outcome, state.measure, self.comparator_definition(state))
        comp = "comparator_kind" if state.measure == "difference" and state.outcome != RESPONDERS else None
        return int(pd.unique(s["study_id"].to_numpy()[self._mask(s, state, comparator_column=comp)]).size)

    def _filter(self, state: FilterState) -> pd.DataFrame:
        s = self.series(state.outcome, state.measure, self.comparator_definition(state))
        comp = "comparator_kind" if state.measure == "difference" and state.outcome != RESPONDERS else None
        return s[self._mask(s, state, comparator_column=comp)]

    def rules(self, state: FilterState) -> dict[str, bool]:
        """The pooling switches of ``state``, as :func:`explorer.analysis.effects.pool` takes them."""
        return {"inferred_scales": state.inferred_scales, "imputed_sd": state.imputed_sd}

    def pooled(self, state: FilterState, rows: pd.DataFrame) -> pd.DataFrame:
        """Random-effects pools per therapy x window (x comparator class, always) of the shown
        contrasts, by the comparability rules; empty otherwise."""
        if state.measure != "difference" or state.outcome == RESPONDERS or rows.empty:
            return pd.DataFrame(columns=["therapy"])
        return pool(rows, by=["therapy", "window"], **self.rules(state))

    def curves(self, state: FilterState, rows: pd.DataFrame):
        """The time course of the shown contrasts per therapy and comparator class (issue 16's
        multilevel model), or None outside the difference view. Memoised per state."""
        if state.measure != "difference" or state.outcome == RESPONDERS:
            return None
        key = ("curves", state)
        if key not in self._per_state:
            from explorer.analysis.timecourse import timecourse

            at = np.unique(np.round(np.geomspace(0.5, 260, 48), 3))
            data = rows[rows["effect_kind"] == "contrast"] if "effect_kind" in rows else rows
            fit = timecourse(data, by=["therapy", "comparator_kind"], at=at, **self.rules(state)) if len(data) else None
            self._remember(key, fit)
        return self._per_state[key]

    def _remember(self, key: tuple, value) -> None:
        """Results memoised per selection (pools, curves): bounded, like :meth:`filtered`, so a
        long session of filter changes does not grow the kernel."""
        if len(self._per_state) > 32:
            self._per_state.clear()
        self._per_state[key] = value

    def effects(self, outcome: str, measure: str, comparators: str) -> pd.DataFrame:
        """:func:`explorer.analysis.effects.effects` of the whole evidence, computed once."""
        key = ("effects", outcome, measure, comparators)
        if key not in self._cache:
            from explorer.analysis.effects import effects

            self._cache[key] = effects(self.ev, outcome, measure, comparators=comparators)
        return self._cache[key]

    def findings(self, state: FilterState) -> pd.DataFrame:
        """The summary-of-findings rows of the selection: study-level filters pick the trials,
        therapy / comparator / follow-up filters pick the rows (a comparison, not an arm)."""
        from explorer.analysis.findings import FINDING_OUTCOMES, findings

        definition = self.comparator_definition(state)
        key = ("findings", state.with_(outcome="pain", measure="final", therapies=(), comparators=(), windows=()))
        if key not in self._per_state:
            st = self.study_therapy[self._mask(self.study_therapy, key[1], windows=False)]
            frames = {(o, m): self.effects(o, m, definition) for o, m in FINDING_OUTCOMES}
            self._remember(
                key,
                findings(
                    self.ev,
                    studies=set(st["study_id"]),
                    comparators=definition,
                    effect_frames=frames,
                    **self.rules(state),
                ),
            )
        f = self._per_state[key]
        for attr, col in (("therapies", "therapy"), ("comparators", "comparator_kind"), ("windows", "window")):
            chosen = getattr(state, attr)
            if chosen:
                f = f[f[col].isin(chosen)]
        return f.reset_index(drop=True)

    @staticmethod
    def comparator_definition(state: FilterState) -> str:
        return "strict" if state.strict_placebo else "cochrane"

    def studies(self, state: FilterState) -> pd.DataFrame:
        """One row per (study, therapy of a non-comparator arm) matching the filters, any outcome."""
        st = self.study_therapy
        return st[self._mask(st, state, windows=False)]

    def harms(self, state: FilterState) -> pd.DataFrame:
        ae = self.adverse
        keep = set(self.studies(state)["study_id"])
        ae = ae[ae["study_id"].isin(keep)]
        if state.therapies:
            ae = ae[ae["therapy"].isin(state.therapies)]
        return ae

    def contrasts(self, state: FilterState) -> pd.DataFrame:
        """The between-group effects the forest plot draws from: mean differences on the common
        scale, or (responders) log risk ratios; study-level filters applied, not the windows."""
        definition = self.comparator_definition(state)
        if state.outcome == RESPONDERS:
            s = self.effects(RESPONDERS, "RR", definition)
        else:
            s = self.series(state.outcome, "difference", definition)
        return s[self._mask(s, state.with_(windows=()), comparator_column="comparator_kind") & (s["window"] != "")]

    def forest(
        self,
        state: FilterState,
        therapy: str,
        window: str,
        comparator: str,
        leave_out: tuple[str, ...] = (),
        responder_class: str = "",
    ) -> tuple[pd.DataFrame, pd.Series | None]:
        """The effects of one pooling group (one per cohort, as pooled) and its pool."""
        s = self.contrasts(state)
        s = s[(s["therapy"] == therapy) & (s["window"] == window) & (s["comparator_kind"] == comparator)]
        if responder_class:
            s = s[s["responder_class"] == responder_class]
        rows = explain(s, ["therapy", "window"], **self.rules(state))
        chosen = rows[rows["status"] == "pooled"].reset_index(drop=True)
        kept = chosen[~chosen["study_id"].isin(leave_out)]
        if kept.empty:
            return chosen, None
        p = pool(kept, by=["therapy", "window"], **self.rules(state))
        return chosen, (p.iloc[0] if len(p) else None)

    def forest_groups(self, state: FilterState) -> list[tuple[str, str, str, str, int]]:
        """(therapy, window, comparator class, responder class, k) of every group the rules pool,
        most trials first."""
        s = self.contrasts(state)
        if s.empty:
            return []
        rows = explain(s, ["therapy", "window"], **self.rules(state))
        rows = rows[rows["status"] == "pooled"]  # groups the rules leave empty are not offered
        if rows.empty:
            return []
        keys = ["therapy", "window", "comparator_kind", "responder_class"]
        g = rows.assign(responder_class=rows["responder_class"].fillna("")).groupby(keys)["cohort"].nunique()
        g = g.reset_index().sort_values(["cohort", *keys], ascending=[False, True, True, True, True])
        return [(r.therapy, r.window, r.comparator_kind, r.responder_class, int(r.cohort)) for r in g.itertuples(index=False)]

    def pain_changes(self, state: FilterState) -> pd.DataFrame:
        """Within-arm pain changes on 0-10 for the summary: reported changes and final-minus-baseline."""
        s = state.with_(outcome="pain", measure="change")
        reported = self.filtered(s)
        reported = reported.assign(change=reported["value"])
        finals = changes_from_finals(self.filtered(s.with_(measure="final", windows=())))
        finals = finals[self._mask(finals, s)]
        both = pd.concat([reported, finals], ignore_index=True)
        return both[both["role"] != "comparator"] if "role" in both.columns else both

    # ------------------------------------------------------------------ words
    def y_title(self, state: FilterState) -> str:
        if state.outcome == RESPONDERS:
            return "Responders (% of the group; higher is better)"
        label = SHORT_LABEL[state.outcome]
        unit = outcome_unit(state.outcome)
        what = {"change": "change from baseline", "difference": "difference vs comparator"}.get(
            state.measure, "value"
        )
        return f"{label}: {what} ({unit}; lower is better)"

    def full_scale(self, state: FilterState) -> tuple[float, float] | None:
        """The y range of values at follow-up: the whole common scale (0-10 for pain, 0-100 % for
        the others, 0-100 % for responders), so that a small difference does not look large.
        Changes and differences keep an automatic range."""
        if state.measure != "final" and state.outcome != RESPONDERS:
            return None
        top = 100.0 if state.outcome == RESPONDERS else OUTCOMES[state.outcome][2]
        return (-0.02 * top, 1.02 * top)

    def mcid(self, state: FilterState) -> float | None:
        """The within-person minimal important change (Ostelo 2008) is drawn only where
        within-group change is shown: never on values, nor on differences between groups."""
        if state.measure != "change" or state.outcome == RESPONDERS:
            return None
        return MIC.get(state.outcome)

    def other_outcomes(self, state: FilterState) -> list[tuple[str, int]]:
        """Other outcomes (label, studies) that the same filters find in more studies, richest
        first: where few papers report the chosen outcome in a usable form, say where the
        evidence is."""
        here = self.filtered(state)["study_id"].nunique()
        found = []
        for outcome, label in OUTCOME_CHOICES.items():
            if outcome != state.outcome:
                n = self._study_count(state.with_(outcome=outcome))
                if n > here:
                    found.append((label.split(",")[0], n))
        return sorted(found, key=lambda x: -x[1])

    def status(self, state: FilterState, rows: pd.DataFrame) -> str:
        what = "contrast" if state.measure == "difference" and state.outcome != RESPONDERS else "arm"
        if rows.empty:
            return (
                f"No study {what} with this outcome matches this selection. "
                "Widen the filters (for example include non-randomised designs) or press Reset."
            )
        studies = rows["study_id"].nunique()
        n = rows["series_id"].nunique()
        note = ""
        if state.outcome == RESPONDERS and state.measure != "final":
            note = (
                " Responders are drawn as each arm's percentage here; their between-arm risk ratios are in "
                "the Findings table and the Forest plot."
            )
        return (
            f"{studies} {'study' if studies == 1 else 'studies'}, {n} {what}{'' if n == 1 else 's'} match "
            f"({len(rows)} data points).{note}"
        )
