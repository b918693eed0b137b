"""From the evidence tables to effect sizes (``yi``, ``vi``) and pooled estimates per group.

One vocabulary through every layer, as in metafor: :func:`effects` is our ``escalc`` over the
data package, :func:`pool` our ``rma`` per group, and :func:`explain` says, row by row, what a
pool took and what it left out, by the rule of :mod:`explorer.analysis.comparability` that
decided it.

Which numbers become an effect (for each study, arm pair, time and outcome):

1. a between-group mean difference the paper reports (model-adjusted, of changes, of final
   values), with its SE, its CI at the printed level, or an exact p-value;
2. a difference computed from the two arms' reported changes from baseline;
3. a difference computed from the two arms' values at follow-up;
4. for binary outcomes, a risk ratio, odds ratio or risk difference from the arms' counts.

Contrasts are oriented intervention minus comparator; a contrast between two comparator arms is
not an effect of any therapy and is left out. Single-arm studies give within-arm changes
(``effect_kind='within_arm'``), which never pool with controlled contrasts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from explorer.analysis import comparability as rules
from explorer.analysis import effect_sizes as es
from explorer.analysis.comparisons import COMPARISON_COLUMNS, comparisons
from explorer.analysis.harmonise import OUTCOMES, harmonise, keep_one_pain_domain
from explorer.analysis.pooling import FEW_STUDIES_KEYS, few_studies, pool_frame
from explorer.analysis.windows import DEFAULT_WINDOWS, Window, assign_windows, to_weeks
from explorer.data.load import Evidence

CONTINUOUS_MEASURES = ("MD", "SMD")
BINARY_MEASURES = ("RR", "OR", "RD")
RATIO_MEASURES = ("RR", "OR")
#: Binary outcomes: key -> (domains, measure of the rows, label).
BINARY_OUTCOMES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "responders": (
        ("responders", "pain_leg", "pain_back", "pain_overall", "function", "global_rating", "quality_of_life"),
        "responders",
        "Responders (one responder class at a time)",
    ),
    "surgery": (("surgery",), "events", "Surgery performed (lower is better)"),
    "surgery_avoided": (("surgery_avoided",), "responders", "Avoided surgery (higher is better)"),
}
ALL_OUTCOMES = (*OUTCOMES, *BINARY_OUTCOMES)
#: Columns that make two effects "alike": pool() always groups by them (rule 'alike').
ALIKE = ("outcome", "measure", "effect_kind", "comparator_kind", "responder_class", "basis")
EFFECT_COLUMNS = [
    "row_id",
    "study_id",
    "label",
    "cohort",
    "year",
    "design",
    "indication",
    "risk_of_bias",
    "arm_id",
    "comparator_arm_id",
    "arm_label",
    "comparator_label",
    "therapy",
    "approach",
    "guidance",
    "comparator_therapy",
    "comparator_kind",
    "comparison",
    "comparison_label",
    "differs",
    "placebo_is_active",
    "outcome",
    "domain",
    "instrument",
    "responder_class",
    "basis",
    "time_weeks",
    "time_note",
    "window",
    "effect_kind",
    "measure",
    "source",
    "yi",
    "vi",
    "n1",
    "n2",
    "unit",
    "subgroup",
    "primary",
    "population",
    "approximate",
    "scale_basis",
    "scale_inferred",
    "sd_imputed",
    "sd_note",
    "events_derived",
    "se_from_p",
    "locator",
    # arm-level parts, so that the arms of a multi-arm trial can be combined (rule 'multi-arm')
    "m1",
    "sd1",
    "m2",
    "sd2",
    "v1",
    "v2",
    "e1",
    "e2",
]
_NUMERIC = {"time_weeks", "yi", "vi", "n1", "n2", "m1", "sd1", "m2", "sd2", "v1", "v2", "e1", "e2", "year"}
_FLAGS = ("approximate", "scale_inferred", "sd_imputed", "events_derived", "se_from_p", "primary")
#: True, False or unknown (NA): an empty placebo_is_active is not read as inert (rule 'one-per-cohort').
_TRISTATE = ("placebo_is_active",)


def _empty_effects() -> pd.DataFrame:
    def dtype(c: str):
        return float if c in _NUMERIC else (bool if c in _FLAGS else ("boolean" if c in _TRISTATE else object))

    return pd.DataFrame({c: pd.Series(dtype=dtype(c)) for c in EFFECT_COLUMNS})


# --------------------------------------------------------------------------- continuous rows


def _continuous_rows(ev: Evidence, outcome: str) -> pd.DataFrame:
    """The outcome's continuous rows on the common scale, placed in time, with their flags."""
    _, domains, top = OUTCOMES[outcome]
    o = rules.derive_scales(ev.outcomes)  # rule 'scale': a 0-100 range that follows by arithmetic
    o = o[
        o["domain"].isin(domains)
        & o["scale_max"].notna()
        & o["higher_is_better"].notna()
        & o["measure"].isin(["final", "change", "improvement", "mean_difference"])
    ]
    o = o[o["time_value"] > 0].copy()
    if o.empty:
        return o
    o = o.merge(ev.studies[["study_id", "indication"]], on="study_id", how="left")
    if len(domains) > 1:  # one pain domain per study, as in the arm series
        o = keep_one_pain_domain(o)
    o = o.drop(columns=["indication"]).reset_index(drop=True)
    # n of the arm as randomised where the row gives none (Handbook 6.3: the numbers randomised
    # stand in for the numbers analysed); the derivation says so. A reported contrast without its
    # own n takes the sum of its two arms' sizes (rule 'conversions': t, not z, where they are known).
    sizes = ev.arms[["study_id", "arm_id", "n_randomised"]]
    arm_n = o[["study_id", "arm_id"]].merge(sizes, how="left")["n_randomised"].astype(float)
    comp_n = (
        o[["study_id", "comparator_arm_id"]]
        .merge(sizes.rename(columns={"arm_id": "comparator_arm_id"}), how="left")["n_randomised"]
        .astype(float)
    )
    contrast = o["measure"].eq("mean_difference").to_numpy()
    fallback = pd.Series(np.where(contrast, arm_n + comp_n, arm_n))
    h = harmonise(o, top, n_fallback=fallback)
    o = o.drop(columns=["mean", "sd", "se", "ci_lb", "ci_ub", "n"]).join(h)
    o = o.join(rules.place_in_time(o, to_weeks))
    o["scale_basis"] = o["scale_basis"].fillna("").astype(str)
    o["scale_inferred"] = o["scale_basis"].eq("inferred").to_numpy()
    o["sd_imputed"] = False
    o["sd_note"] = ""
    o["basis"] = np.where(o["measure"] == "final", "final", "change")
    o.loc[o["measure"] == "mean_difference", "basis"] = o["contrast_basis"].fillna("final")
    return o


def _impute_sd(o: pd.DataFrame, top: float) -> pd.DataFrame:
    """Borrow a pooled SD for arm rows without one (rule 'imputed-sd', Furukawa 2006), by
    :func:`explorer.analysis.comparability.impute_sd`: donors are the arm rows of *other* studies
    with the same instrument, the same printed scale and the same kind of value (final or change),
    at least three of them. A row left without an SD (too few donors, or an SD refused) keeps the
    reason in ``sd_note``, which :func:`explain` gives.
    """
    arm = o["measure"].isin(["final", "change", "improvement"])
    has = arm & o["sd"].notna() & o["n"].gt(1)
    need = arm & o["sd"].isna() & o["se"].isna() & o["n"].gt(0)
    if not need.any():
        return o
    o = o.copy()
    cols = ["study_id", "instrument", "scale_min", "scale_max"]
    donors = o.loc[has, [*cols, "sd", "n"]].assign(kind=o.loc[has, "basis"])
    recipients = o.loc[need, cols].assign(kind=o.loc[need, "basis"])
    sds, notes = rules.impute_sd(recipients, donors, np.full(int(need.sum()), top))
    rows = np.flatnonzero(need.to_numpy())
    n = o["n"].to_numpy(dtype=float)
    derivation = o["derivation"].to_numpy(dtype=object)
    for i, sd, note in zip(rows, sds, notes, strict=True):
        if np.isnan(sd):
            o.iat[i, o.columns.get_loc("sd_note")] = note
            continue
        o.iat[i, o.columns.get_loc("sd")] = sd
        o.iat[i, o.columns.get_loc("se")] = sd / np.sqrt(n[i])
        o.iat[i, o.columns.get_loc("sd_imputed")] = True
        o.iat[i, o.columns.get_loc("derivation")] = f"{derivation[i]}; {note}"
    return o


def _reported_contrasts(o: pd.DataFrame) -> pd.DataFrame:
    md = o[o["measure"] == "mean_difference"].copy()
    if md.empty:
        return md
    md["yi"] = md["value"]
    md["vi"] = md["se"] ** 2
    names = {
        "adjusted": "adjusted",
        "adjusted_baseline": "adjusted for baseline",
        "change": "of changes",
        "final": "of final values",
    }
    md["source"] = np.where(
        md["se_from_p"], "MD from p-value", "reported MD (" + md["contrast_basis"].map(names) + ")"
    )
    md["approximate"] = md["approximate"] | md["se_from_p"]
    md["row_id"] = md["outcome_id"]
    return md


def _arm_pairs(o: pd.DataFrame, kinds: Sequence[str], arms: pd.DataFrame, extra_keys: Sequence[str] = ()) -> pd.DataFrame:
    """All (intervention arm, comparator arm) pairs of one study at the same time and outcome."""
    a = o[o["measure"].isin(kinds)].merge(arms[["study_id", "arm_id", "role"]], on=["study_id", "arm_id"])
    keys = ["study_id", "domain", "instrument", "time_value", "time_unit", "subgroup_key", *extra_keys]
    a = a.assign(subgroup_key=a["subgroup"].fillna(""))
    pairs = a.merge(a, on=keys, suffixes=("", "_c"))
    return pairs[
        (pairs["arm_id"] != pairs["arm_id_c"]) & (pairs["role"] == "intervention") & (pairs["role_c"] == "comparator")
    ].copy()


def _computed_contrasts(o: pd.DataFrame, arms: pd.DataFrame, measure: str) -> pd.DataFrame:
    out = []
    for kinds, source in ((("change", "improvement"), "arms' changes"), (("final",), "arms' final values")):
        p = _arm_pairs(o, kinds, arms)
        if p.empty:
            continue
        p["comparator_arm_id"] = p["arm_id_c"]
        p["m1"], p["m2"] = p["value"], p["value_c"]
        p["sd1"] = p["sd"].where(p["sd"].notna(), p["se"] * np.sqrt(p["n"]))
        p["sd2"] = p["sd_c"].where(p["sd_c"].notna(), p["se_c"] * np.sqrt(p["n_c"]))
        p["v1"], p["v2"] = p["se"] ** 2, p["se_c"] ** 2
        if measure == "MD":
            p["yi"] = p["value"] - p["value_c"]
            p["vi"] = p["v1"] + p["v2"]
        else:  # SMD needs each arm's SD (harmonised scale; the SMD is scale free)
            ok = p["sd1"].notna() & p["sd2"].notna() & p["n"].gt(1) & p["n_c"].gt(1)
            p = p[ok].copy()
            p["yi"], p["vi"] = es.standardized_mean_difference(
                p["m1"], p["sd1"], p["n"], p["m2"], p["sd2"], p["n_c"]
            )
        p["n1"], p["n2"] = p["n"], p["n_c"]
        for flag in ("approximate", "sd_imputed", "scale_inferred"):
            p[flag] = p[flag].astype(bool) | p[f"{flag}_c"].astype(bool)
        p["scale_basis"] = rules.weaker_scale_basis(p["scale_basis"], p["scale_basis_c"])
        p["sd_note"] = [
            "; ".join(x for x in (f"{a} arm: {n1}" if n1 else "", f"{c} arm: {n2}" if n2 else "") if x)
            for a, c, n1, n2 in zip(p["arm_id"], p["arm_id_c"], p["sd_note"], p["sd_note_c"], strict=True)
        ]
        p["primary"] = p["primary"].fillna(False).astype(bool) & p["primary_c"].fillna(False).astype(bool)
        p["source"] = source
        p["row_id"] = p["outcome_id"] + "+" + p["outcome_id_c"]
        out.append(p)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _within_arm(o: pd.DataFrame, arms: pd.DataFrame) -> pd.DataFrame:
    single = arms.loc[arms["role"] == "single", ["study_id", "arm_id"]]
    ch = o[o["measure"].isin(["change", "improvement"])].merge(single, on=["study_id", "arm_id"])
    if ch.empty:
        return ch
    ch["yi"], ch["vi"] = ch["value"], ch["se"] ** 2
    ch["n1"], ch["n2"] = ch["n"], np.nan
    ch["source"] = "within-arm change"
    ch["comparator_arm_id"] = pd.NA
    ch["row_id"] = ch["outcome_id"]
    return ch


# --------------------------------------------------------------------------- binary rows


def _derive_events(o: pd.DataFrame, arms: pd.DataFrame) -> pd.DataFrame:
    """Rule 'derived-events': counts from a printed percentage, for rows without counts.

    The denominator is the row's own (its total, else its analysed n), else the arm's randomised
    number; never guessed where none is printed. Flagged ``events_derived``; notes say how.
    """
    o = o.assign(events_derived=False)
    todo = o["events"].isna() & o["percent"].notna()
    if not todo.any():
        return o
    arm_n = o[["study_id", "arm_id"]].merge(arms[["study_id", "arm_id", "n_randomised"]], how="left")
    arm_n = arm_n["n_randomised"].astype(float).to_numpy()
    total = o["total"].astype(float).to_numpy()
    n = o["n"].astype(float).to_numpy()
    denom = np.where(~np.isnan(total), total, np.where(~np.isnan(n), n, arm_n))
    which = np.where(~np.isnan(total), "the row's total", np.where(~np.isnan(n), "the analysed n", "the arm's randomised n"))
    ok = todo.to_numpy() & ~np.isnan(denom) & (denom > 0)
    if not ok.any():
        return o
    o = o.astype({"events": "Float64", "total": "Float64"})
    events = rules.events_from_percent(o["percent"].astype(float).to_numpy(), denom)
    o.loc[ok, "events"] = events[ok]
    o.loc[ok, "total"] = denom[ok]
    o.loc[ok, "events_derived"] = True
    pct = o["percent"].astype(float).to_numpy()
    o.loc[ok, "derivation"] = [
        f"events derived: {pct[i]:g}% of {denom[i]:g} ({which[i]}) = {events[i]:g}" for i in np.flatnonzero(ok)
    ]
    return o


def _binary(ev: Evidence, outcome: str, measure: str) -> pd.DataFrame:
    domains, row_measure, _ = BINARY_OUTCOMES[outcome]
    o = ev.outcomes
    o = o[o["domain"].isin(domains) & (o["measure"] == row_measure) & (o["time_value"] > 0)].copy()
    o = _derive_events(o, ev.arms)
    o = o[o["events"].notna() & o["total"].notna()]
    if o.empty:
        return o
    o = o.join(rules.place_in_time(o, to_weeks))
    o["approximate"] = False
    o["responder_class"] = o["responder_class"].fillna("")
    p = _arm_pairs(o, [row_measure], ev.arms, extra_keys=["responder_class"])
    if p.empty:
        return p
    fn = {"RR": es.log_risk_ratio, "OR": es.log_odds_ratio, "RD": es.risk_difference}[measure]
    p["yi"], p["vi"] = fn(p["events"], p["total"], p["events_c"], p["total_c"])
    p["e1"], p["e2"] = p["events"].astype(float), p["events_c"].astype(float)
    p["n1"], p["n2"] = p["total"].astype(float), p["total_c"].astype(float)
    p["comparator_arm_id"] = p["arm_id_c"]
    p["primary"] = p["primary"].fillna(False).astype(bool) & p["primary_c"].fillna(False).astype(bool)
    p["events_derived"] = p["events_derived"].astype(bool) | p["events_derived_c"].astype(bool)
    p["source"] = np.where(p["events_derived"], "arms' percentages", "arms' counts")
    p["row_id"] = p["outcome_id"] + "+" + p["outcome_id_c"]
    p["basis"] = ""
    p["scale_basis"] = ""
    p["sd_note"] = ""
    p["scale_inferred"] = False
    p["sd_imputed"] = False
    p["se_from_p"] = False
    return p


# --------------------------------------------------------------------------- effects


def effects(
    ev: Evidence,
    outcome: str = "pain",
    measure: str = "MD",
    windows: tuple[Window, ...] = DEFAULT_WINDOWS,
    comparators: str = "cochrane",
) -> pd.DataFrame:
    """Tidy effect sizes: one row per study contrast (or single-arm change) and follow-up time.

    ``measure`` is ``MD`` (on the outcome's common scale: points on 0-10 for pain, % of the
    scale otherwise; negative favours the intervention) or ``SMD`` (Hedges' g) for continuous
    outcomes; ``RR``/``OR`` (on the log scale, as metafor's ``yi``; :func:`pool` adds the
    exponentiated estimates) or ``RD`` for ``responders``, ``surgery`` or ``surgery_avoided``.
    ``comparators`` is the comparator-class definition (``cochrane`` or ``strict``). Every row
    keeps its flags (approximate, scale inferred, SD imputed, SE from a p-value, time placement),
    so that :func:`pool` can apply the rules and :func:`explain` can say which applied.
    """
    measure = measure.upper()
    if outcome not in ALL_OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose from {', '.join(ALL_OUTCOMES)}")
    if measure in BINARY_MEASURES:
        if outcome not in BINARY_OUTCOMES:
            raise ValueError(
                f"{measure} needs a binary outcome ({', '.join(BINARY_OUTCOMES)}), not {outcome!r}"
            )
        rows = _binary(ev, outcome, measure)
        rows = rows.assign(effect_kind="contrast") if not rows.empty else rows
    elif measure in CONTINUOUS_MEASURES:
        if outcome in BINARY_OUTCOMES:
            raise ValueError(f"{outcome!r} is binary: use RR, OR or RD, not {measure}")
        o = _continuous_rows(ev, outcome)
        o = _impute_sd(o, OUTCOMES[outcome][2]) if not o.empty else o
        parts = []
        if not o.empty:
            if measure == "MD":
                parts.append(_reported_contrasts(o).assign(effect_kind="contrast"))
            parts.append(_computed_contrasts(o, ev.arms, measure).assign(effect_kind="contrast"))
            if measure == "MD":
                parts.append(_within_arm(o, ev.arms).assign(effect_kind="within_arm"))
        parts = [p for p in parts if not p.empty]
        rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if not rows.empty:
            rows["responder_class"] = ""
            if measure == "MD":
                rows["basis"] = ""  # MDs of changes and of final values may pool (Handbook 10.5.2)
    else:
        raise ValueError(f"unknown measure {measure!r}; choose from MD, SMD, RR, OR, RD")
    if rows.empty:
        return _empty_effects()
    rows = _orient(rows, ev)
    rows = _context(ev, rows, comparators)
    rows = rows[(rows["role"] == "intervention") | (rows["effect_kind"] == "within_arm")]
    # a row left without a variance only because its SD was not imputed stays, so that explain()
    # can say why (rule 'imputed-sd'); any other row without an estimate and its variance goes
    said = rows["sd_note"].fillna("").astype(str).ne("").to_numpy() if "sd_note" in rows else False
    finite_v = np.isfinite(rows["vi"].to_numpy(dtype=float))
    rows = rows[np.isfinite(rows["yi"].to_numpy(dtype=float)) & (finite_v | said)]
    rows = rows.assign(
        outcome=outcome,
        measure=measure,
        window=assign_windows(rows["time_weeks"], windows),
        subgroup=rows["subgroup"].fillna(""),
        unit=rows["unit"].fillna("participants"),
        population=rows["population"].fillna("not_reported"),
    )
    for c in EFFECT_COLUMNS:
        if c not in rows:
            rows[c] = np.nan if c in _NUMERIC else (False if c in _FLAGS else "")
    for c in _FLAGS:
        rows[c] = rows[c].fillna(False).astype(bool)
    for c in _TRISTATE:
        rows[c] = rows[c].astype("boolean")
    for c in ("sd_note", "scale_basis"):
        rows[c] = rows[c].fillna("").astype(str)
    return (
        rows[EFFECT_COLUMNS]
        .sort_values(["therapy", "study_id", "time_weeks", "row_id"], kind="stable")
        .reset_index(drop=True)
    )


def _context(ev: Evidence, rows: pd.DataFrame, comparators: str) -> pd.DataFrame:
    studies = ev.studies[["study_id", "label", "year", "design", "indication", "risk_of_bias"]]
    rows = rows[[c for c in rows.columns if not c.endswith("_c") and c not in studies.columns[1:]]]
    rows = rows.merge(studies, on="study_id", how="left")
    roots = rules.cohort_roots(ev.studies)
    rows["cohort"] = rows["study_id"].map(dict(zip(ev.studies["study_id"], roots, strict=True)))
    arms = ev.arms.assign(comparator_class=rules.comparator_class(ev.arms, comparators))
    mine = arms[["study_id", "arm_id", "arm_label", "therapy", "approach", "guidance", "role"]]
    rows = rows.drop(columns=[c for c in mine.columns[2:] if c in rows.columns]).merge(
        mine, on=["study_id", "arm_id"], how="left"
    )
    comp = arms[["study_id", "arm_id", "arm_label", "therapy", "comparator_class", "placebo_is_active"]].rename(
        columns={
            "arm_id": "comparator_arm_id",
            "arm_label": "comparator_label",
            "therapy": "comparator_therapy",
            "comparator_class": "comparator_kind",
        }
    )
    rows = rows.drop(columns=[c for c in comp.columns[2:] if c in rows.columns]).merge(
        comp, on=["study_id", "comparator_arm_id"], how="left"
    )
    rows["comparator_kind"] = rows["comparator_kind"].where(rows["effect_kind"] == "contrast", "none").fillna("none")
    return with_comparisons(rows, ev.arms, comparators)


def with_comparisons(rows: pd.DataFrame, arms: pd.DataFrame, comparators: str = "cochrane") -> pd.DataFrame:
    """``rows`` (study_id, arm_id, comparator_arm_id, effect_kind) with the comparison of each
    contrast (rule 'comparison': :func:`explorer.analysis.comparisons.comparison_of`):
    ``comparison``, ``comparison_label`` and ``differs``; 'none' and '' for within-arm rows."""
    rows = rows.drop(columns=[c for c in COMPARISON_COLUMNS if c in rows.columns])
    pairs = comparisons(arms, comparators)
    rows = rows.merge(pairs, on=["study_id", "arm_id", "comparator_arm_id"], how="left")
    contrast = (rows["effect_kind"] == "contrast").to_numpy() if "effect_kind" in rows else True
    rows["comparison"] = rows["comparison"].where(contrast, "none").fillna("none").replace("", "none")
    for c in ("comparison_label", "differs"):
        rows[c] = rows[c].where(contrast, "").fillna("")
    return rows


def _orient(rows: pd.DataFrame, ev: Evidence) -> pd.DataFrame:
    """Make every reported contrast read intervention minus comparator (swap and negate if needed)."""
    roles = ev.arms.set_index(["study_id", "arm_id"])["role"]
    arm_role = pd.Series(list(zip(rows["study_id"], rows["arm_id"], strict=True))).map(roles.to_dict())
    comp_role = pd.Series(list(zip(rows["study_id"], rows["comparator_arm_id"], strict=True))).map(roles.to_dict())
    swap = ((arm_role != "intervention") & (comp_role == "intervention")).to_numpy(dtype=bool)
    if swap.any():
        rows = rows.copy()
        a, c = rows.loc[swap, "arm_id"].copy(), rows.loc[swap, "comparator_arm_id"].copy()
        rows.loc[swap, "arm_id"], rows.loc[swap, "comparator_arm_id"] = c.to_numpy(), a.to_numpy()
        rows.loc[swap, "yi"] = -rows.loc[swap, "yi"].to_numpy(dtype=float)  # RD, log RR, log OR, MD: all odd
    return rows


# --------------------------------------------------------------------------- selection


def _with_defaults(eff: pd.DataFrame) -> pd.DataFrame:
    """Fill the columns a plain ``yi``/``vi`` frame lacks, so that any frame can be pooled."""
    missing = [c for c in ("yi", "vi") if c not in eff.columns]
    if missing:
        raise ValueError(f"a frame to pool needs columns yi and vi (missing: {', '.join(missing)})")
    eff = eff.reset_index(drop=True)
    fill: dict[str, object] = {}
    if "study_id" not in eff:
        fill["study_id"] = [f"row{i + 1}" for i in range(len(eff))]
    for c in EFFECT_COLUMNS:
        if c in eff or c in fill:
            continue
        if c in _FLAGS:
            fill[c] = False
        elif c in _TRISTATE:
            fill[c] = pd.array([pd.NA] * len(eff), dtype="boolean")
        elif c in _NUMERIC:
            fill[c] = np.nan
        elif c == "cohort" or c in ("label", "row_id"):
            fill[c] = eff["study_id"] if "study_id" in eff else fill["study_id"]
        elif c == "unit":
            fill[c] = "participants"
        elif c == "effect_kind":
            fill[c] = "contrast"
        elif c == "window":
            fill[c] = "all"
        else:
            fill[c] = ""
    return eff.assign(**fill) if fill else eff


def _reasons(
    eff: pd.DataFrame, include_approximate: bool, inferred_scales: bool, imputed_sd: bool, derived_events: bool = True
) -> pd.Series:
    """Why each row may not enter any pool ('' where it may), named by rule id.

    The reasons are written into a plain array (the first rule that applies wins) and made a
    Series once: a pandas assignment per rule cost more than the rules themselves.
    """
    r = np.full(len(eff), "", dtype=object)

    def mark(mask, text):
        mask = np.asarray(mask, dtype=bool) & (r == "")
        if mask.any():
            r[mask] = text.to_numpy(dtype=object)[mask] if isinstance(text, pd.Series) else text

    mark(eff["window"].astype(str) == "", "time: baseline, or outside every follow-up window")
    mark(eff["unit"].astype(str) != "participants", "unit: counts " + eff["unit"].astype(str) + ", not participants")
    mark(eff["subgroup"].astype(str) != "", "subgroup: a subgroup result (" + eff["subgroup"].astype(str) + ")")
    rc = eff["responder_class"].fillna("").astype(str)
    mark((rc != "") & ~rc.isin(rules.POOLED_RESPONDER_CLASSES), "alike: responder definition not classified")
    if not inferred_scales:
        mark(eff["scale_inferred"] & (eff["measure"] == "MD"), "scale: scale range inferred from the values")
    if not include_approximate:
        mark(eff["approximate"] & ~eff["se_from_p"], "conversions: median in place of a mean (approximate)")
    if not imputed_sd:
        mark(eff["sd_imputed"], "imputed-sd: SD imputed from other studies")
    note = eff["sd_note"].fillna("").astype(str)
    mark(note != "", "imputed-sd: " + note)
    if not derived_events:
        mark(eff["events_derived"], "derived-events: counts derived from printed percentages")
    mark(~(np.isfinite(eff["yi"].astype(float)) & np.isfinite(eff["vi"].astype(float))), "conversions: no variance")
    return pd.Series(r, index=eff.index, dtype=object)


def explain(
    eff: pd.DataFrame,
    by: Sequence[str] = ("therapy", "window"),
    include_approximate: bool = False,
    inferred_scales: bool = False,
    imputed_sd: bool = True,
    derived_events: bool = True,
) -> pd.DataFrame:
    """Every row of ``eff`` with ``status`` and ``reason``: what a pool takes, and why not.

    ``status`` is 'pooled', 'left out' (``reason`` names the rule, see
    :data:`explorer.analysis.comparability.RULES`) or 'combined' (an arm of a multi-arm trial
    merged with its sibling arms into one comparison: the merged comparison is an extra row with
    status 'pooled' and ``combined_from`` listing the rows it came from). :func:`pool` pools
    exactly the 'pooled' rows. Independent of row order: every tie is broken by ids.
    """
    eff = _with_defaults(eff)
    by = list(by)
    unknown = [c for c in by if c not in eff.columns]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; choose from {', '.join(eff.columns)}")
    keys = [*dict.fromkeys([*by, *ALIKE])]
    out = eff.copy()
    out["reason"] = _reasons(eff, include_approximate, inferred_scales, imputed_sd, derived_events)
    out["status"] = np.where(out["reason"] == "", "pooled", "left out")
    out["combined_from"] = ""
    cand = out[out["status"] == "pooled"]
    if cand.empty:
        return out
    ref = cand["window"].map(rules.WINDOW_REFERENCE_WEEKS).astype(float)
    ranked = cand.assign(
        _primary=~cand["primary"].astype(bool),
        _pop=cand["population"].map(rules.POPULATION_RANK).fillna(9),
        _src=cand["source"].map(rules.SOURCE_RANK).fillna(9),
        _dist=(cand["time_weeks"].astype(float) - ref).abs().fillna(0.0),
        _active=_activity_rank(cand["placebo_is_active"]),
        _approx=cand["approximate"].astype(bool),
        _n=-(cand["n1"].astype(float).fillna(0) + cand["n2"].astype(float).fillna(0)),
        _key=_group_key(cand[keys]),
        _cmp=cand["comparator_arm_id"].fillna("").astype(str),
    )
    order = ["_key", "cohort", "_primary", "_pop", "_src", "_dist", "_active", "_approx", "_n", "study_id", "row_id", "arm_id", "_cmp"]
    ranked = ranked.sort_values(order, kind="mergesort")
    first = ranked.drop_duplicates(["_key", "cohort"], keep="first")
    occasion = ["study_id", "time_weeks", "source", "domain", "instrument"]
    top = first.set_index(["_key", "cohort"])
    where = pd.MultiIndex.from_frame(ranked[["_key", "cohort"]])
    mine = top[occasion].reindex(where).reset_index(drop=True)
    same = np.ones(len(ranked), dtype=bool)
    for c in occasion:
        a, b = ranked[c].to_numpy(), mine[c].to_numpy()
        same &= (a == b) | (pd.isna(a) & pd.isna(b))
    from_arms = ranked["source"].isin(list(_COMBINABLE)).to_numpy()
    is_first = ranked.index.isin(first.index)
    keep = is_first | (same & from_arms)
    win_of = top["row_id"].reindex(where).to_numpy()
    dropped = ranked.index[~keep]
    out.loc[dropped, "status"] = "left out"
    out.loc[dropped, "reason"] = [f"one-per-cohort: {w} chosen for this cohort and pool" for w in win_of[~keep]]
    kept = ranked[keep]
    multi = kept.groupby(["_key", "cohort"])["row_id"].transform("size") > 1
    merged = []
    for _, g in kept[multi.to_numpy()].groupby(["_key", "cohort"], sort=True):
        row = _combine_arms(g)
        if row is None:  # arms without n or SD cannot be combined: the first comparison stands
            rest = g.index[1:]
            out.loc[rest, "status"] = "left out"
            out.loc[rest, "reason"] = f"multi-arm: arms lack n or SD to combine; {g['row_id'].iloc[0]} chosen"
            continue
        out.loc[g.index, "status"] = "combined"
        out.loc[g.index, "reason"] = f"multi-arm: combined into {row['row_id']}"
        merged.append(row)
    if merged:
        extra = pd.DataFrame(merged)[[c for c in out.columns]]
        out = pd.concat([out, extra], ignore_index=True)
    return out


_COMBINABLE = {"arms' changes": "MD", "arms' final values": "MD", "arms' counts": "binary", "arms' percentages": "binary"}


def _activity_rank(active: pd.Series) -> np.ndarray:
    """0 for an inert comparator, 1 where placebo_is_active is not recorded, 2 for an active one
    (:data:`explorer.analysis.comparability.PLACEBO_ACTIVITY_RANK`)."""
    a = active.astype("boolean")
    known = a.notna().to_numpy()
    on = a.fillna(False).to_numpy(dtype=bool)
    r = rules.PLACEBO_ACTIVITY_RANK
    return np.where(known, np.where(on, r[True], r[False]), r[None])


def _group_key(cols: pd.DataFrame) -> pd.Series:
    """One string per row naming its pooling group: the columns' texts joined by ``\x1f``.

    The same strings as ``cols.astype(str).agg("\x1f".join, axis=1)`` at a third of its cost
    (pandas builds a Series for every row there): the columns are zipped as plain arrays. A
    missing value fails as it did there (a group key must be known).
    """
    texts = [cols[c].astype(str).to_numpy(dtype=object) for c in cols.columns]
    return pd.Series(["\x1f".join(t) for t in zip(*texts, strict=True)], index=cols.index, dtype="str")


def _pool_side(m: np.ndarray, sd: np.ndarray, n: np.ndarray) -> tuple[float, float, float]:
    """Several arms as one group (Handbook Table 6.5.a): total n, weighted mean, combined SD."""
    mean, s, total = float(m[0]), float(sd[0]), float(n[0])
    for mi, si, ni in zip(m[1:], sd[1:], n[1:], strict=True):
        nt = total + ni
        s = float(np.sqrt(((total - 1) * s**2 + (ni - 1) * si**2 + total * ni / nt * (mean - mi) ** 2) / (nt - 1)))
        mean = (total * mean + ni * mi) / nt
        total = nt
    return mean, s, total


def _combine_arms(g: pd.DataFrame) -> dict | None:
    """One comparison from the comparisons of a multi-arm trial that fall in one pool: the arms on
    each side merged into one group (rule 'multi-arm'; Handbook 23.3.4, its recommended approach,
    so that one trial counts once). None when a side lacks the n or SD that merging needs."""
    first = g.iloc[0].to_dict()
    side1 = g.drop_duplicates("arm_id")
    side2 = g.drop_duplicates("_cmp")
    measure = str(first["measure"])
    n1, n2 = side1["n1"].to_numpy(float), side2["n2"].to_numpy(float)
    if np.isnan(n1).any() or np.isnan(n2).any():
        return None
    if measure in BINARY_MEASURES:
        e1, e2 = side1["e1"].to_numpy(float).sum(), side2["e2"].to_numpy(float).sum()
        fn = {"RR": es.log_risk_ratio, "OR": es.log_odds_ratio, "RD": es.risk_difference}[measure]
        yi, vi = fn(np.array([e1]), np.array([n1.sum()]), np.array([e2]), np.array([n2.sum()]))
        first.update(e1=e1, e2=e2, n1=n1.sum(), n2=n2.sum())
    else:
        sd1, sd2 = side1["sd1"].to_numpy(float), side2["sd2"].to_numpy(float)
        if np.isnan(sd1).any() or np.isnan(sd2).any():
            return None
        m1, s1, t1 = _pool_side(side1["m1"].to_numpy(float), sd1, n1)
        m2, s2, t2 = _pool_side(side2["m2"].to_numpy(float), sd2, n2)
        fn = es.mean_difference if measure == "MD" else es.standardized_mean_difference
        yi, vi = fn(*(np.array([x]) for x in (m1, s1, t1, m2, s2, t2)))
        first.update(m1=m1, sd1=s1, n1=t1, m2=m2, sd2=s2, n2=t2, v1=s1**2 / t1, v2=s2**2 / t2)
    first.update(
        yi=float(np.ravel(yi)[0]),
        vi=float(np.ravel(vi)[0]),
        arm_id="+".join(side1["arm_id"].astype(str)),
        comparator_arm_id="+".join(side2["_cmp"].astype(str)),
        arm_label=" + ".join(side1["arm_label"].astype(str)),
        comparator_label=" + ".join(side2["comparator_label"].astype(str)),
        **{c: _joined(g[c]) for c in ("comparison", "comparison_label", "differs") if c in g},
        row_id="(" + ", ".join(g["row_id"].astype(str)) + ")",
        combined_from=", ".join(g["row_id"].astype(str)),
        status="pooled",
        reason="",
        source=f"{first['source']}, arms combined",
    )
    return first


def _joined(values: pd.Series) -> str:
    """The distinct texts of the arms combined into one comparison, '; '-separated in order."""
    return "; ".join(dict.fromkeys(str(v) for v in values if str(v) != ""))


# --------------------------------------------------------------------------- pooling


POOL_COLUMNS = [
    "k",
    "n_participants",
    "estimate",
    "se",
    "ci_lb",
    "ci_ub",
    "pval",
    "tau2",
    "I2",
    "Q",
    "Q_p",
    "pi_lb",
    "pi_ub",
    "exp_estimate",
    "exp_ci_lb",
    "exp_ci_ub",
    "exp_pi_lb",
    "exp_pi_ub",
    "exp_fe_estimate",
    "exp_fe_ci_lb",
    "exp_fe_ci_ub",
    "high_rob",
    "rob_some_concerns",
    "rob_not_assessed",
    "n_imputed_sd",
    "imputed_sd_rows",
    "n_derived_events",
    "derived_events_rows",
    "n_approximate",
    "studies",
    "mean_weeks",
    "method",
    "few_studies",
    "fe_estimate",
    "fe_ci_lb",
    "fe_ci_ub",
    "wider_than_trials",
]


def pool(
    eff: pd.DataFrame,
    by: Sequence[str] = ("therapy", "window"),
    method: str = "REML",
    test: str = "adhoc",
    level: float = 95,
    include_approximate: bool = False,
    inferred_scales: bool = False,
    imputed_sd: bool = True,
    knha: bool | None = None,
    p_values: bool = True,
    derived_events: bool = True,
) -> pd.DataFrame:
    """Random-effects pooling per group (default: therapy x follow-up window), by the rules of
    :mod:`explorer.analysis.comparability` (see :func:`explain` for the rows each pool took).

    ``eff`` is :func:`effects` output or any frame with ``yi`` and ``vi`` (the other columns are
    used when present). ``test`` is ``"adhoc"`` (Hartung-Knapp-Sidik-Jonkman with metafor's ad
    hoc correction, the default), ``"knha"`` (plain HKSJ) or ``"z"``; ``knha=True/False`` is the
    older spelling of ``test="knha"``/``"z"``. Prediction intervals are given from k = 3 on.
    For RR and OR, ``estimate`` and its bounds are on the log scale (as metafor's), and the
    ``exp_*`` columns give them as ratios. One shape always: the group keys then
    :data:`POOL_COLUMNS`, also when nothing pools. ``p_values=False`` leaves ``pval`` and ``Q_p``
    NaN (see :func:`explorer.analysis.pooling.pool_arrays`: the rest does not need scipy).
    """
    if knha is not None:
        test = "knha" if knha else "z"
    by = list(by)
    keys = [*dict.fromkeys([*by, *ALIKE])]
    rows = explain(eff, by, include_approximate, inferred_scales, imputed_sd, derived_events)
    chosen = rows[rows["status"] == "pooled"]
    if chosen.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in [*keys, *POOL_COLUMNS]})
    result = pool_frame(chosen, by=keys, method=method, test=test, level=level, p_values=p_values)
    grouped = chosen.groupby(keys, sort=True, observed=True, dropna=False)
    k = result["k"].to_numpy()
    few = k < rules.MIN_K_PREDICTION
    result.loc[few, ["pi_lb", "pi_ub"]] = np.nan
    codes, n_groups = grouped.ngroup().to_numpy(), grouped.ngroups
    result["n_participants"] = _participants(chosen, codes, n_groups)

    def count(rows: pd.Series) -> np.ndarray:  # per group, as a whole-column bincount
        return np.bincount(codes[rows.to_numpy(dtype=bool)], minlength=n_groups)

    result["high_rob"] = count(chosen["risk_of_bias"] == "high")
    result["rob_some_concerns"] = count(chosen["risk_of_bias"] == "some_concerns")
    # no judgement, published or ours, is a concern of its own for 'how sure' (certainty.py)
    result["rob_not_assessed"] = count(~chosen["risk_of_bias"].isin(["low", "some_concerns", "high"]))
    result["n_imputed_sd"] = count(chosen["sd_imputed"].astype(bool))
    result["n_derived_events"] = count(chosen["events_derived"].astype(bool))

    def listed(flag: str) -> np.ndarray:  # the row ids a flag marks, per group ('; '-separated)
        out = [[] for _ in range(n_groups)]
        for g, rid in zip(codes[chosen[flag].to_numpy(dtype=bool)], chosen.loc[chosen[flag].astype(bool), "row_id"], strict=True):
            out[g].append(str(rid))
        return np.array(["; ".join(sorted(x)) for x in out], dtype=object)

    result["imputed_sd_rows"] = listed("sd_imputed")
    result["derived_events_rows"] = listed("events_derived")
    result["n_approximate"] = count(chosen["approximate"].astype(bool))
    result["studies"] = grouped["label"].agg(lambda s: "; ".join(sorted(set(map(str, s))))).to_numpy()
    result["mean_weeks"] = grouped["time_weeks"].mean().to_numpy()
    result["method"] = method.upper() + {"adhoc": "+HKSJ (ad hoc)", "knha": "+HKSJ", "z": ""}[test]
    # rule 'two-trials': a pool of two is flagged and given its common-effect interval beside
    few = few_studies(chosen["yi"], chosen["vi"], codes, result["ci_lb"], result["ci_ub"], level, n_groups)
    for c in FEW_STUDIES_KEYS:
        result[c] = few[c]
    ratio = result["measure"].isin(RATIO_MEASURES).to_numpy() if "measure" in result else np.zeros(len(result), bool)
    for c in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "fe_estimate", "fe_ci_lb", "fe_ci_ub"):
        result[f"exp_{c}"] = np.where(ratio, np.exp(result[c].astype(float)), np.nan)
    return result[[*keys, *POOL_COLUMNS]]


def _participants(chosen: pd.DataFrame, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Participants in each pool (``codes``: the pool of each row): each arm of each study
    counted once, with the first size given for it (intervention arms before comparators, in
    row order); NaN where no arm size is printed (unknown, not zero).

    All pools at once, where a ``groupby().apply`` per pool was a fifth of :func:`pool`'s time;
    each pool's sizes are still summed in the same order by the same reduction.
    """
    arms = pd.concat(
        [
            chosen[["study_id", "arm_id", "n1"]].set_axis(["study_id", "arm", "n"], axis=1).assign(_g=codes),
            chosen[["study_id", "comparator_arm_id", "n2"]].set_axis(["study_id", "arm", "n"], axis=1).assign(_g=codes),
        ]
    ).dropna(subset=["n"])
    arms = arms[arms["arm"].astype(str) != ""].drop_duplicates(["_g", "study_id", "arm"])
    group = arms["_g"].to_numpy()
    order = np.argsort(group, kind="stable")
    group, n = group[order], arms["n"].astype(float).to_numpy()[order]
    out = np.full(n_groups, np.nan)
    if group.size:
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        for g, part in zip(group[starts], np.split(n, starts[1:]), strict=True):
            out[g] = part.sum()
    return out


def _one_group(
    eff: pd.DataFrame,
    by: Sequence[str],
    include_approximate: bool,
    inferred_scales: bool = False,
    imputed_sd: bool = True,
    derived_events: bool = True,
) -> pd.DataFrame:
    rows = explain(eff, by, include_approximate, inferred_scales, imputed_sd, derived_events)
    chosen = rows[rows["status"] == "pooled"]
    keys = [*dict.fromkeys([*by, *ALIKE])]
    groups = chosen.groupby(keys, observed=True, dropna=False).ngroups
    if groups > 1:
        raise ValueError(
            f"the effects form {groups} pooling groups; filter them to one group (by {', '.join(keys)}) first"
        )
    return chosen.reset_index(drop=True)


def sensitivity(
    eff: pd.DataFrame,
    by: Sequence[str] = ("therapy", "window"),
    method: str = "REML",
    test: str = "adhoc",
    include_approximate: bool = False,
    inferred_scales: bool = False,
    imputed_sd: bool = True,
    derived_events: bool = True,
) -> pd.DataFrame:
    """Leave-one-out for one pooling group: the pool without each study in turn (metafor's
    ``leave1out``). ``eff`` must hold a single group once the pooling rules are applied."""
    from explorer.analysis.pooling import leave_one_out

    chosen = _one_group(eff, list(by), include_approximate, inferred_scales, imputed_sd, derived_events)
    res = pd.DataFrame(leave_one_out(chosen["yi"].to_numpy(float), chosen["vi"].to_numpy(float), method, test=test))
    return pd.concat([chosen[["study_id", "label", "yi", "vi"]].rename(columns={"label": "omitted"}), res], axis=1)


def funnel(
    eff: pd.DataFrame,
    by: Sequence[str] = ("therapy", "window"),
    method: str = "REML",
    test: str = "adhoc",
    include_approximate: bool = False,
    inferred_scales: bool = False,
    imputed_sd: bool = True,
    derived_events: bool = True,
) -> tuple[pd.DataFrame, dict[str, float] | None]:
    """Funnel-plot data (yi against its standard error) and Egger's regression test.

    The test is returned only where k >= 10: with fewer studies it has too little power to mean
    anything (Cochrane Handbook, section 13.3.5.4).
    """
    from explorer.analysis.pooling import egger_test

    chosen = _one_group(eff, list(by), include_approximate, inferred_scales, imputed_sd, derived_events)
    points = chosen[["study_id", "label", "yi", "vi"]].assign(sei=np.sqrt(chosen["vi"].to_numpy(float)))
    result = None
    if len(chosen) >= 10:
        result = egger_test(chosen["yi"].to_numpy(float), chosen["vi"].to_numpy(float), method, test=test)
    return points, result


def subgroups(
    eff: pd.DataFrame,
    subgroup: str,
    by: Sequence[str] = ("therapy", "window"),
    method: str = "REML",
    test: str = "adhoc",
    include_approximate: bool = False,
    inferred_scales: bool = False,
    imputed_sd: bool = True,
    derived_events: bool = True,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Pools per level of ``subgroup`` (approach, guidance, indication, ...) within one pooling
    group, and the test for subgroup differences (separate tau² per subgroup, as RevMan)."""
    from explorer.analysis.pooling import subgroup_test

    chosen = _one_group(eff, list(by), include_approximate, inferred_scales, imputed_sd, derived_events)
    if subgroup not in chosen.columns:
        raise ValueError(f"unknown subgroup column {subgroup!r}")
    chosen = chosen.assign(**{subgroup: chosen[subgroup].fillna("not reported")})
    table = pool_frame(chosen, by=[subgroup], method=method, test=test)
    result = subgroup_test(
        chosen["yi"].to_numpy(float),
        chosen["vi"].to_numpy(float),
        chosen[subgroup].to_numpy(),
        method=method,
        test=test,
    )
    return table, result
