"""Dashboard state and derived data, without widgets (testable without a browser).

state (what the user picked) -> derived data (filtered series, pools, tables) -> view (page.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.analysis.effects import explain, pool
from explorer.analysis.harmonise import MIC, OUTCOMES, SHORT_LABEL, outcome_unit
from explorer.analysis.series import RESPONDERS, arm_series, changes_from_finals, contrast_series
from explorer.dashboard import filters
from explorer.dashboard.filters import FILTERS, MEASURES, OUTCOME_CHOICES, FilterState
from explorer.data.load import Evidence

__all__ = ["MEASURES", "OUTCOME_CHOICES", "FilterState", "Model"]

@dataclass
class Model:
    """The evidence plus cached series; every filter is a boolean mask on a cached frame."""

    ev: Evidence
    #: what depends on the evidence only (series, effects, choices): computed once per kernel
    _cache: dict[tuple, object] = field(default_factory=dict)
    _filtered: dict[FilterState, pd.DataFrame] = field(default_factory=dict)
    _per_state: dict[tuple, object] = field(default_factory=dict)
    #: held while a findings table is computed (the page may compute one in a background thread)
    _computing: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        ev = self.ev
        comps = ev.arms[ev.arms["role"] == "comparator"].groupby("study_id")["comparator_kind"].agg(frozenset)
        # the coarse classes and the finer comparisons of each study, in one set: the two filters
        # of the 'comparison' level test it (their vocabularies mean the same where they overlap)
        from explorer.analysis.comparisons import comparisons

        fine = comparisons(ev.arms).groupby("study_id")["comparison"].agg(frozenset)
        self.study_comparators = {
            sid: frozenset(comps.get(sid, frozenset())) | frozenset(fine.get(sid, frozenset()))
            for sid in set(comps.index) | set(fine.index)
        }
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
    def choices(self, name: str) -> list[tuple[str, str]]:
        """``(code, label)`` the filter ``name`` offers: its vocabulary's codes present in the data."""
        key = ("choices", name)
        if key not in self._cache:
            arms = self.ev.arms
            if filters.BY_NAME[name].level == "arm":  # the comparison's intervention: not a control arm
                arms = arms[arms["role"] != "comparator"]
            frames = {"arms": arms, "studies": self.ev.studies}

            def present(resource: str, column: str) -> set:
                return set(frames[resource][column].dropna())

            self._cache[key] = filters.choices(filters.BY_NAME[name], self.labels, present)
        return self._cache[key]

    def known(self) -> dict[str, list[str]]:
        """Every filter's known codes (what a link or the panel may pick). Asked on every panel
        change, so made once."""
        if ("known",) not in self._cache:
            self._cache[("known",)] = {
                f.name: [code for code, _ in self.choices(f.name)] for f in FILTERS if f.kind in ("one", "many")
            }
        return self._cache[("known",)]

    def therapy_codes(self) -> list[str]:
        """Therapies of every arm in the data (control arms too), in the vocabulary's order: the
        efficacy plot's traces (asked on every redraw, so made once)."""
        if ("therapy_codes",) not in self._cache:
            have = set(self.ev.arms["therapy"].dropna())
            self._cache[("therapy_codes",)] = [code for code in self.labels("arms", "therapy") if code in have]
        return self._cache[("therapy_codes",)]

    def state_from(self, loose: dict) -> tuple[FilterState, list[str]]:
        """A valid state from loose values (the panel's, or a link's): see :func:`filters.clean`."""
        return filters.clean(loose, self.known(), self.year_range())

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

    def _arm_studies(self, state: FilterState) -> set:
        """Studies with an intervention arm that passes the arm-level filters: their comparator
        arms stay in view (a filter picks a comparison, not an arm)."""
        key = ("arm_studies", *(getattr(state, f.name) for f in FILTERS if f.level == "arm"))
        found = self._per_state.get(key)
        if found is None:
            st = self.study_therapy
            found = self._remember(key, set(st["study_id"][filters.mask(st, state, "studies", levels=("arm",))]))
        return found

    def _mask(self, df: pd.DataFrame, state: FilterState, rows: str, **kw) -> np.ndarray:
        """:func:`explorer.dashboard.filters.mask` with this evidence's study lookups."""
        return filters.mask(
            df, state, rows, arm_studies=self._arm_studies, study_comparators=self.study_comparators, **kw
        )

    @staticmethod
    def _rows(state: FilterState) -> str:
        """What one row of the drawn series is: a contrast (difference view) or an arm."""
        return "contrasts" if state.measure == "difference" and state.outcome != RESPONDERS else "arms"

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
        return int(pd.unique(s["study_id"].to_numpy()[self._mask(s, state, self._rows(state))]).size)

    def _filter(self, state: FilterState) -> pd.DataFrame:
        s = self.series(state.outcome, state.measure, self.comparator_definition(state))
        return s[self._mask(s, state, self._rows(state))]

    def rules(self, state: FilterState) -> dict[str, bool]:
        """The pooling switches of ``state``, as :func:`explorer.analysis.effects.pool` takes them."""
        return {"inferred_scales": state.inferred_scales, "imputed_sd": state.imputed_sd}

    def pooled(self, state: FilterState, rows: pd.DataFrame) -> pd.DataFrame:
        """Random-effects pools per therapy x window (x comparator class, always) of the shown
        contrasts, by the comparability rules; empty otherwise."""
        if state.measure != "difference" or state.outcome == RESPONDERS or rows.empty:
            return pd.DataFrame(columns=["therapy"])
        return pool(rows, by=["therapy", "window"], p_values=False, **self.rules(state))  # none shown: no scipy

    def curves(self, state: FilterState, rows: pd.DataFrame):
        """The time course of the shown contrasts per therapy and comparator class (issue 16's
        multilevel model), or None outside the difference view. Memoised per state."""
        if state.measure != "difference" or state.outcome == RESPONDERS:
            return None
        key = ("curves", state)
        if key in self._per_state:
            return self._per_state.get(key)
        from explorer.analysis.timecourse import timecourse

        at = np.unique(np.round(np.geomspace(0.5, 260, 48), 3))
        data = rows[rows["effect_kind"] == "contrast"] if "effect_kind" in rows else rows
        fit = timecourse(data, by=["therapy", "comparator_kind"], at=at, **self.rules(state)) if len(data) else None
        return self._remember(key, fit)

    def _remember(self, key: tuple, value):
        """Results memoised per selection (pools, curves): bounded, like :meth:`filtered`, so a
        long session of filter changes does not grow the kernel. Returns ``value`` (another
        thread may clear the memo at any time: callers use what they computed)."""
        if len(self._per_state) > 32:
            self._per_state.clear()
        self._per_state[key] = value
        return value

    def effects(self, outcome: str, measure: str, comparators: str) -> pd.DataFrame:
        """:func:`explorer.analysis.effects.effects` of the whole evidence, computed once."""
        key = ("effects", outcome, measure, comparators)
        if key not in self._cache:
            from explorer.analysis.effects import effects

            self._cache[key] = effects(self.ev, outcome, measure, comparators=comparators)
        return self._cache[key]

    @staticmethod
    def _findings_key(state: FilterState) -> tuple:
        """One findings table serves every outcome, measure, therapy, comparator and window."""
        return ("findings", state.with_(outcome="pain", measure="final", therapies=(), comparators=(), windows=()))

    def has_findings(self, state: FilterState) -> bool:
        """Whether the findings of ``state`` are computed (asking for them then costs nothing)."""
        return self._findings_key(state) in self._per_state

    def findings(self, state: FilterState) -> pd.DataFrame:
        """The summary-of-findings rows of the selection: study-level filters pick the trials,
        therapy / comparator / follow-up filters pick the rows (a comparison, not an arm)."""
        from explorer.analysis.findings import FINDING_OUTCOMES, findings

        definition = self.comparator_definition(state)
        key = self._findings_key(state)
        with self._computing:  # a second thread asking for the same table waits for the first
            f = self._per_state.get(key)
            if f is None:
                st = self.study_therapy[self._mask(self.study_therapy, key[1], "studies")]
                frames = {(o, m): self.effects(o, m, definition) for o, m in FINDING_OUTCOMES}
                f = self._remember(
                    key,
                    findings(
                        self.ev,
                        studies=set(st["study_id"]),
                        comparators=definition,
                        effect_frames=frames,
                        **self.rules(state),
                    ),
                )
        return f[self._mask(f, state, "contrasts", levels=("arm", "comparison", "row"))].reset_index(drop=True)

    @staticmethod
    def comparator_definition(state: FilterState) -> str:
        return "strict" if state.strict_placebo else "cochrane"

    def studies(self, state: FilterState) -> pd.DataFrame:
        """One row per (study, therapy of a non-comparator arm) matching the filters, any outcome."""
        st = self.study_therapy
        return st[self._mask(st, state, "studies")]

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
        return s[self._mask(s, state.with_(windows=()), "contrasts") & (s["window"] != "")]

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
        p = pool(kept, by=["therapy", "window"], p_values=False, **self.rules(state))
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

    def published(self, state: FilterState) -> pd.DataFrame | None:
        """The published pooled estimates the difference view draws beside ours: comparative,
        placed in a stated window, on the drawn scale (points on 0-10 for pain, % of the scale
        for function), of the selection's therapies and comparator classes. None where the view
        draws no differences on such a scale."""
        from explorer.analysis.reviews import reviews

        if state.measure != "difference" or state.outcome not in ("pain", "leg_pain", "back_pain", "function"):
            return None
        key = ("published", state.outcome, state.therapies, state.comparators)
        if key in self._cache:
            return self._cache[key]
        t = reviews(self.ev, outcome=state.outcome, design_basis="comparative")
        unit = "% of the scale" if state.outcome == "function" else "points on 0-10"
        t = t[(t["time_basis"] == "window") & t["shown"].notna() & t["unit"].astype(str).str.startswith(unit)]
        if state.therapies:
            t = t[t["therapy"].isin(state.therapies)]
        if state.comparators:
            t = t[t["comparator_kind"].isin(state.comparators)]
        self._cache[key] = t.reset_index(drop=True)
        return self._cache[key]

    def pain_changes(self, state: FilterState) -> pd.DataFrame:
        """Within-arm pain changes on 0-10 for the summary: reported changes and final-minus-baseline."""
        s = state.with_(outcome="pain", measure="change")
        reported = self.filtered(s)
        reported = reported.assign(change=reported["value"])
        finals = changes_from_finals(self.filtered(s.with_(measure="final", windows=())))
        finals = finals[self._mask(finals, s, "arms")]
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
