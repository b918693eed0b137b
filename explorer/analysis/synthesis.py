"""Synthesis without meta-analysis: effect direction by the point estimate, and vote counts with
their uncertainty.

Where a comparison and follow-up window has no pool, the Cochrane Handbook (version 6.4, section
12.2.2) and the SWiM guideline (Campbell et al., BMJ 2020;368:l6890) still allow two honest
questions: *is there evidence of an effect in one direction* (the proportion of trials whose
point estimate favours the intervention, with its confidence interval and the sign test), and,
where trials print exact p-values, *is there evidence of an effect in at least one trial*
(Stouffer's combined p). Neither says how large an effect is.

:func:`directions` gives each trial one direction per outcome x therapy x comparator class x
window, from the sign of its point estimate where it has one (Boon & Thomson, Res Synth Methods
2021;12:34-45: direction by the point estimate, significance apart), and from the direction the
paper prints only where it has none. :func:`vote_counts` counts them per cell.

The arithmetic needs only the standard library (:class:`statistics.NormalDist`, exact integer
binomial sums), so a dashboard kernel that shows vote counts never imports scipy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

from explorer.analysis.comparability import Z95, cohort_roots, comparator_class, place_in_time
from explorer.analysis.comparisons import COMPARISON_COLUMNS
from explorer.analysis.effects import BINARY_OUTCOMES, effects, explain, with_comparisons
from explorer.analysis.harmonise import OUTCOMES, keep_one_pain_domain
from explorer.analysis.windows import assign_windows, to_weeks
from explorer.data.load import Evidence

#: (outcome, measure) pairs, as the summary-of-findings table reports them.
DIRECTION_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("pain", "MD"),
    ("function", "MD"),
    ("responders", "RR"),
    ("surgery", "RR"),
)
#: The cell a direction belongs to (the findings table's keys).
CELL = ["outcome", "therapy", "comparator_kind", "window"]
#: The finer cell, by comparison (rule 'comparison'): ``directions(by_comparison=True)``.
CELL_BY_COMPARISON = ["outcome", "therapy", "comparator_kind", "comparison", "window"]
#: Binary outcomes where fewer events favour the intervention (surgery performed).
FEWER_EVENTS_BETTER = frozenset({"surgery"})
DIRECTION_COLUMNS = [
    *CELL,
    *COMPARISON_COLUMNS,
    "study_id",
    "label",
    "direction",
    "significant",
    "basis",
    "n",
    "p_value",
    "p_operator",
    "significance_from",
    "measure",
    "yi",
    "time_weeks",
    "source",
    "row_id",
]
VOTE_COLUMNS = [
    *CELL,
    "n_trials",
    "n_favour",
    "n_against",
    "n_neither",
    "proportion",
    "prop_lb",
    "prop_ub",
    "sign_p",
    "stouffer_p",
    "stouffer_k",
    "stouffer_weighted",
    "studies",
    "label",
]
#: What a vote count answers, for every row of :func:`vote_counts`.
VOTE_LABEL = (
    "Vote count: is there an effect in one direction, not how large (Cochrane Handbook 12.2.2; "
    "proportion of classifiable trials favouring the therapy, 95% Wilson CI, sign test; "
    "Stouffer's combined one-sided p where trials print exact p-values)"
)
#: Source names of the rows :func:`directions` adds to the one-per-cohort choice. Both rank after
#: every source of :data:`explorer.analysis.comparability.SOURCE_RANK` (unknown sources rank last).
SOURCE_PRINTED_MD = "reported MD (no common scale)"
SOURCE_DIRECTION = "reported direction"
_BY = ["therapy", "window", "comparator_kind"]
_NORMAL = NormalDist()


# --------------------------------------------------------------------------- the arithmetic


def wilson_interval(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``x`` successes in ``n`` trials, without continuity correction:
    R's ``prop.test(x, n, correct = FALSE)$conf.int``, including its exact 0 lower bound at
    ``x = 0`` and exact 1 upper bound at ``x = n``. (NaN, NaN) for ``n = 0``."""
    if n <= 0:
        return math.nan, math.nan
    z = _NORMAL.inv_cdf(1 - (1 - level) / 2)
    p = x / n
    z22n = z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z22n / (2 * n))
    upper = 1.0 if p >= 1 else (p + z22n + half) / (1 + 2 * z22n)
    lower = 0.0 if p <= 0 else (p + z22n - half) / (1 + 2 * z22n)
    return lower, upper


def sign_test(x: int, n: int) -> float:
    """Exact two-sided sign test: ``binom.test(x, n, p = 0.5)$p.value`` in R, by exact integer
    summation (the two tails of a symmetric binomial: twice the smaller tail, at most 1). NaN for
    ``n = 0``."""
    if n <= 0:
        return math.nan
    k = min(x, n - x)
    if 2 * k == n:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2**n)


def stouffer(p: Sequence[float], sign: Sequence[int], n: Sequence[float] | None = None) -> tuple[float, bool]:
    """Stouffer's combined one-sided p from two-sided p-values and the direction of each result.

    ``z_i = Phi^-1(1 - p_i / 2)``, positive where the result favours the intervention (``sign``
    +1) and negative where it favours the comparator (-1); weights ``sqrt(n_i)`` where every
    ``n_i`` is known (and positive), else equal; ``Z = sum(w z) / sqrt(sum(w^2))`` and the
    one-sided p is ``1 - Phi(Z)`` (small: the trials together favour the intervention). Returns
    (p, weighted). The normal quantile is the standard library's (Wichura's AS 241, as R's qnorm).
    """
    pv = np.asarray(p, dtype=float)
    s = np.asarray(sign, dtype=float)
    z = np.array([-_NORMAL.inv_cdf(v / 2) if v < 1 else 0.0 for v in pv]) * s
    nn = None if n is None else np.asarray(n, dtype=float)
    weighted = nn is not None and bool(np.all(np.isfinite(nn) & (nn > 0)))
    w = np.sqrt(nn) if weighted else np.ones(len(z))
    big_z = float(np.sum(w * z) / math.sqrt(float(np.sum(w * w))))
    return 0.5 * math.erfc(big_z / math.sqrt(2)), weighted


def significant_from_p(p: float, operator: object) -> bool | None:
    """Whether a printed p-value says p < 0.05: ``= p`` by its value; ``< p`` or ``<= p`` with
    p at most 0.05 is significant; ``> p`` or ``>= p`` with p at least 0.05 is not; otherwise
    (or without a p-value) unknown (None)."""
    if p is None or not np.isfinite(p) or not isinstance(operator, str):
        return None
    if operator == "=":
        return bool(p < 0.05)
    if operator in ("<", "<=") and p <= 0.05:
        return True if operator == "<" or p < 0.05 else None
    if operator in (">", ">=") and p >= 0.05:
        return False
    return None


# --------------------------------------------------------------------------- directions


def _outcome_rows(o: pd.DataFrame, outcome: str) -> pd.Series:
    """Which outcome rows speak to ``outcome`` (as :func:`explorer.effects` selects them)."""
    if outcome in BINARY_OUTCOMES:
        domains, row_measure, _ = BINARY_OUTCOMES[outcome]
        if row_measure == "responders":
            named = o["domain"].eq(outcome) if outcome == "responders" else o["domain"].isin(domains)
            return (o["measure"].eq("responders") & o["domain"].isin(domains)) | named
        return o["domain"].isin(domains)
    return o["domain"].isin(OUTCOMES[outcome][1]) & ~o["measure"].isin(["responders", "events"])


def _placed(ev: Evidence, rows: pd.DataFrame, comparators: str) -> pd.DataFrame:
    """Outcome rows of a comparison, turned to read intervention vs comparator, with the columns
    the one-per-cohort choice (:func:`explorer.explain`) needs. ``swapped`` says which were turned."""
    arms = ev.arms.assign(_class=comparator_class(ev.arms, comparators))
    role = arms.set_index(["study_id", "arm_id"])["role"].to_dict()
    r_arm = np.array([role.get(k) for k in zip(rows["study_id"], rows["arm_id"], strict=True)], dtype=object)
    r_cmp = np.array([role.get(k) for k in zip(rows["study_id"], rows["comparator_arm_id"], strict=True)], dtype=object)
    swap = (r_arm != "intervention") & (r_cmp == "intervention")
    keep = (r_arm == "intervention") | swap
    rows = rows.assign(
        swapped=swap,
        arm_id=np.where(swap, rows["comparator_arm_id"], rows["arm_id"]),
        comparator_arm_id=np.where(swap, rows["arm_id"], rows["comparator_arm_id"]),
    )[keep]
    mine = arms[["study_id", "arm_id", "therapy", "n_randomised"]].rename(columns={"n_randomised": "n1"})
    theirs = arms[["study_id", "arm_id", "_class", "placebo_is_active", "n_randomised"]].rename(
        columns={"arm_id": "comparator_arm_id", "_class": "comparator_kind", "n_randomised": "n2"}
    )
    rows = rows.merge(mine, on=["study_id", "arm_id"], how="left").merge(
        theirs, on=["study_id", "comparator_arm_id"], how="left"
    )
    rows = rows[rows["comparator_kind"].notna()]
    studies = ev.studies.assign(cohort=cohort_roots(ev.studies))[["study_id", "label", "cohort", "indication"]]
    rows = rows.merge(studies, on="study_id", how="left")
    rows = rows.join(place_in_time(rows, to_weeks))
    rows = with_comparisons(rows.assign(effect_kind="contrast"), ev.arms, comparators)
    return rows.assign(
        window=assign_windows(rows["time_weeks"]),
        row_id=rows["outcome_id"],
        effect_kind="contrast",
        basis="",
        responder_class="",
        subgroup=rows["subgroup"].fillna(""),
        unit=rows["unit"].fillna("participants"),
        population=rows["population"].fillna("not_reported"),
        primary=rows["primary"].fillna(False).astype(bool),
        placebo_is_active=rows["placebo_is_active"].fillna(False).astype(bool),
    )


def _printed_contrasts(ev: Evidence, outcome: str, measure: str, taken: set, comparators: str) -> pd.DataFrame:
    """Mean differences the papers print that :func:`explorer.effects` cannot put on a common
    scale (no scale range, or no variance): their sign still gives a direction. Oriented as the
    effects are (negative favours the intervention, lower is better)."""
    if measure != "MD":
        return pd.DataFrame()
    o = ev.outcomes
    o = o[
        (o["measure"] == "mean_difference")
        & o["mean"].notna()
        & o["higher_is_better"].notna()
        & o["comparator_arm_id"].notna()
        & (o["time_value"] > 0)
        & _outcome_rows(o, outcome)
        & ~o["outcome_id"].isin(taken)
    ]
    if o.empty:
        return pd.DataFrame()
    rows = _placed(ev, o, comparators)
    sign = np.where(rows["higher_is_better"].astype(bool), -1.0, 1.0) * np.where(rows["swapped"], -1.0, 1.0)
    return rows.assign(
        yi=rows["mean"].astype(float) * sign,
        vi=np.nan,
        outcome=outcome,
        measure=measure,
        source=SOURCE_PRINTED_MD,
        **_NOT_CONVERTED,
    )


#: flags an effect row carries (explorer.effects): a printed MD or a reported direction was not
#: converted, so none of the conversions' flags applies
_NOT_CONVERTED = dict(approximate=False, scale_inferred=False, sd_imputed=False, se_from_p=False)


def _one_per_cohort(cand: pd.DataFrame, by: Sequence[str] = tuple(_BY)) -> pd.DataFrame:
    """The rows the pools' one-per-cohort rule (:func:`explorer.explain`, rule 'one-per-cohort',
    with 'multi-arm') chooses, for every cohort and cell. Rules about the scale, medians and
    imputed SDs are off (they do not change a sign); variances play no part in the choice, so a
    row without one gets a stand-in of 1 for it."""
    if cand.empty:
        return cand
    cand = cand.reset_index(drop=True)
    yi = cand["yi"].astype(float)
    vi = cand["vi"].astype(float)
    stand_in = cand.assign(yi=yi.where(np.isfinite(yi), 0.0), vi=vi.where(np.isfinite(vi), 1.0))
    out = explain(stand_in, by=list(by), include_approximate=True, inferred_scales=True, imputed_sd=True)
    base = out.iloc[: len(cand)]
    chosen = base.index[base["status"] == "pooled"]
    merged = out.iloc[len(cand) :]
    picked = cand.loc[chosen]
    if len(merged):  # arms of a multi-arm trial combined: the combination's own numbers
        picked = pd.concat([picked, merged[[c for c in cand.columns if c in merged.columns]]], ignore_index=True)
    return picked.reset_index(drop=True)


def _printed_p(ev: Evidence) -> dict:
    """Printed between-group p-values by comparison occasion (study, the two arms in either
    order, domain, time, subgroup); a key with two different p-values maps to None (ambiguous)."""
    o = ev.outcomes[ev.outcomes["p_value"].notna() & ev.outcomes["comparator_arm_id"].notna()]
    found: dict = {}
    for r in o.itertuples(index=False):
        key = (r.study_id, frozenset((r.arm_id, r.comparator_arm_id)), r.domain, r.time_value, r.time_unit,
               r.subgroup if isinstance(r.subgroup, str) else "")  # fmt: skip
        val = (float(r.p_value), r.p_operator)
        found[key] = val if found.get(key, val) == val else None
    return found


def _number(x: object) -> float:
    """A float from a cell that may hold None, NA or NaN (all read as NaN)."""
    return math.nan if x is None or pd.isna(x) else float(x)


def _estimate_rows(ev: Evidence, picked: pd.DataFrame, outcome: str, cell: Sequence[str] = tuple(CELL)) -> pd.DataFrame:
    """Direction, significance and printed p of each chosen estimate row."""
    o = ev.outcomes.set_index("outcome_id")
    printed = _printed_p(ev)
    randomised = ev.arms.set_index(["study_id", "arm_id"])["n_randomised"].astype(float).to_dict()
    favour = 1.0 if outcome in BINARY_OUTCOMES and outcome not in FEWER_EVENTS_BETTER else -1.0
    rows = []
    for r in picked.to_dict("records"):
        yi = float(r["yi"])
        e1, e2, n1, n2 = (_number(r.get(c)) for c in ("e1", "e2", "n1", "n2"))
        if r["measure"] in ("RR", "OR", "RD") and all(np.isfinite([e1, e2, n1, n2])):
            s = np.sign(e1 * n2 - e2 * n1)  # exact: risks equal -> 'neither', whatever a zero-cell correction does
        else:
            s = np.sign(yi)
        direction = {1.0: "arm", -1.0: "comparator"}.get(float(s * favour), "neither")
        ids = [i for i in str(r["row_id"]).strip("()").replace(", ", "+").split("+") if i in o.index]
        sig, frm, p, op = None, "", np.nan, None
        own = o.loc[ids[0]] if len(ids) == 1 and r["source"] not in ("arms' changes", "arms' final values") else None
        if own is not None and np.isfinite(own["ci_lb"]) and np.isfinite(own["ci_ub"]):
            sig, frm = bool(own["ci_lb"] > 0 or own["ci_ub"] < 0), "printed CI"
        if ids:
            first = o.loc[ids[0]]
            sub = first["subgroup"] if isinstance(first["subgroup"], str) else ""
            key = (r["study_id"], frozenset((r["arm_id"], r["comparator_arm_id"])), first["domain"],
                   first["time_value"], first["time_unit"], sub)  # fmt: skip
            if own is not None and np.isfinite(own["p_value"]):
                p, op = float(own["p_value"]), own["p_operator"]
            elif printed.get(key):
                p, op = printed[key]
        if sig is None and np.isfinite(p):
            sig = significant_from_p(p, op)
            frm = "printed p-value" if sig is not None else ""
        vi = _number(r["vi"])
        if sig is None and np.isfinite(vi) and vi > 0 and r["source"] != SOURCE_PRINTED_MD:
            half = Z95 * math.sqrt(vi)
            sig, frm = bool(yi - half > 0 or yi + half < 0), "Wald CI of the estimate"
        rows.append(
            {
                **{k: r[k] for k in cell},
                **{k: r.get(k, "") for k in COMPARISON_COLUMNS},
                "cohort": r["cohort"],
                "study_id": r["study_id"],
                "label": r["label"],
                "direction": direction,
                "significant": sig,
                "basis": "estimate",
                # as analysed where the estimate gives it, else as randomised (NaN if unknown)
                "n": n1 + n2 if np.isfinite(n1 + n2) else randomised.get((r["study_id"], r["arm_id"]), math.nan)
                + randomised.get((r["study_id"], r["comparator_arm_id"]), math.nan),
                "p_value": p,
                "p_operator": op,
                "significance_from": frm,
                "measure": r["measure"],
                "yi": yi,
                "time_weeks": float(r["time_weeks"]),
                "source": r["source"],
                "row_id": r["row_id"],
            }
        )
    return pd.DataFrame(rows)


def _direction_rows(ev: Evidence, outcome: str, measure: str, comparators: str) -> pd.DataFrame:
    """Candidates from the direction a paper prints (``favours``), turned to the intervention."""
    o = ev.outcomes
    o = o[o["favours"].notna() & o["comparator_arm_id"].notna() & (o["time_value"] > 0) & _outcome_rows(o, outcome)]
    if o.empty:
        return pd.DataFrame()
    rows = _placed(ev, o, comparators)
    flip = {"arm": "comparator", "comparator": "arm", "neither": "neither"}
    return rows.assign(
        favours=np.where(rows["swapped"], rows["favours"].map(flip), rows["favours"]),
        yi=np.nan,
        vi=np.nan,
        outcome=outcome,
        measure=measure,
        source=SOURCE_DIRECTION,
        **_NOT_CONVERTED,
    )


def _pain_domain(rows: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """One pain domain per study (:func:`explorer.analysis.harmonise.keep_one_pain_domain`)."""
    if rows.empty or outcome not in OUTCOMES or len(OUTCOMES[outcome][1]) < 2:
        return rows
    return keep_one_pain_domain(rows)


def _agree(rows: pd.DataFrame, cell: Sequence[str] = tuple(CELL)) -> pd.DataFrame:
    """One row per cohort and cell. Several chosen rows (two responder classes, say) give their
    common direction; rows that disagree give 'neither' (conflicting, as a trial voting two ways
    in the effect-direction display), with unknown significance. The comparison columns give the
    distinct comparisons of the rows, '; '-separated (several only in the coarse cell)."""
    if rows.empty:
        return rows
    cell = list(cell)
    rows = rows.sort_values([*cell, "cohort", "study_id", "time_weeks", "row_id"], kind="mergesort")
    n = rows.groupby([*cell, "cohort"])["direction"].transform("nunique")
    sig = rows["significant"].astype(object)
    any_sig = sig.eq(True).groupby([rows[c] for c in [*cell, "cohort"]]).transform("any")
    all_known = sig.notna().groupby([rows[c] for c in [*cell, "cohort"]]).transform("all")
    joined = {
        c: rows[c].fillna("").astype(str).groupby([rows[k] for k in [*cell, "cohort"]]).transform(_distinct)
        for c in COMPARISON_COLUMNS
        if c not in cell
    }
    rows = rows.assign(
        direction=rows["direction"].where(n == 1, "neither"),
        significant=np.where(n > 1, None, np.where(any_sig, True, np.where(all_known, False, None))),
        **joined,
    )
    return rows.drop_duplicates([*cell, "cohort"])


def _distinct(values: pd.Series) -> str:
    """Distinct texts of several rows, '; '-separated in order (each may itself be a list)."""
    return "; ".join(dict.fromkeys(x for v in values for x in str(v).split("; ") if x))


def directions(
    ev: Evidence,
    comparators: str = "cochrane",
    outcomes: Iterable[tuple[str, str]] = DIRECTION_OUTCOMES,
    studies: Iterable[str] | None = None,
    by_comparison: bool = False,
    effect_frames: dict[tuple[str, str], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Effect direction of every trial in every cell (outcome x therapy x comparator class x
    window): one row per trial (cohort) and cell, ``direction`` 'arm' (favours the intervention),
    'comparator' or 'neither'. ``by_comparison=True``: the finer cell
    (:data:`CELL_BY_COMPARISON`), one row per trial and comparison (rule 'comparison'); else each
    row's ``comparison``, ``comparison_label`` and ``differs`` list the distinct ones of the
    contrasts it stands for ('; '-separated).

    ``basis`` 'estimate': the sign of the trial's point estimate (a contrast of
    :func:`explorer.effects`, oriented as there: a mean difference below 0, a risk ratio of
    responders above 1, of surgery below 1 favour the intervention; or a mean difference the paper
    prints on a scale effects() cannot use), whatever its significance; an estimate exactly at the
    null is 'neither'. ``basis`` 'reported direction': the paper's own ``favours``, used only for
    a trial and cell without an estimate. One time per trial and window, by the pools' rule
    (:func:`explorer.explain`: primary outcome, intention to treat, best source, time nearest the
    window's reference time, ...; arms of a multi-arm trial combined), estimates first.

    ``significant`` apart: the printed CI excludes the null, else the printed p-value (exact, or
    a bound that decides) is below 0.05, else the Wald CI of the estimate excludes the null, else
    for a reported direction the data's ``favours`` ('neither' is "no significant difference
    reported"); None (NA) when unknown. ``significance_from`` says which. ``n``: participants of
    the two sides (as analysed where the estimate gives them, else as randomised), NaN when
    unknown. ``p_value``/``p_operator``: the printed between-group p-value of that comparison and
    time, where printed. ``studies``: restrict to these study ids (the dashboard's selection);
    ``effect_frames``: the effects already computed per (outcome, measure) with the same
    ``comparators`` (the findings table passes its own, so they are not computed twice).
    """
    keep = None if studies is None else set(studies)
    cell = CELL_BY_COMPARISON if by_comparison else CELL
    by = [*_BY, "comparison"] if by_comparison else _BY
    ckey = [c for c in cell if c not in ("outcome",)]
    parts = []
    for outcome, measure in outcomes:
        e = (effect_frames or {}).get((outcome, measure))  # already computed, with these comparators
        if e is None:
            e = effects(ev, outcome, measure, comparators=comparators)
        e = e[e["effect_kind"] == "contrast"]
        extra = _printed_contrasts(ev, outcome, measure, set(e["row_id"]), comparators)
        cand = pd.concat([e, extra], ignore_index=True) if len(extra) else e
        if keep is not None:
            cand = cand[cand["study_id"].isin(keep)]
        if len(cand):
            cand = cand.drop(columns=["indication"]).merge(ev.studies[["study_id", "indication"]], on="study_id")
        est = _estimate_rows(ev, _one_per_cohort(_pain_domain(cand, outcome), by), outcome, cell)
        got = set(zip(*(est[c] for c in ["cohort", *ckey]), strict=True)) if len(est) else set()
        d = _direction_rows(ev, outcome, measure, comparators)
        if keep is not None and len(d):
            d = d[d["study_id"].isin(keep)]
        if len(d):
            d = d[[k not in got for k in zip(*(d[c] for c in ["cohort", *ckey]), strict=True)]]
        d = _one_per_cohort(_pain_domain(d, outcome), by)
        if len(d):
            by_p = [significant_from_p(p, op) for p, op in zip(d["p_value"], d["p_operator"], strict=True)]
            by_dir = d["favours"].map({"arm": True, "comparator": True, "neither": False})
            d = d.assign(
                direction=d["favours"],
                significant=[b if b is not None else f for b, f in zip(by_p, by_dir, strict=True)],
                significance_from=["printed p-value" if b is not None else "reported direction" for b in by_p],
                basis="reported direction",
                n=d["n1"].astype(float) + d["n2"].astype(float),
                p_value=d["p_value"].astype(float),
                p_operator=d["p_operator"].where(d["p_value"].notna(), None),
            )
        parts += [x for x in (est, d) if len(x)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in DIRECTION_COLUMNS})
    out = _agree(pd.concat([p.assign(outcome=p["outcome"].astype(str)) for p in parts], ignore_index=True), cell)
    out = out[out["window"].astype(str) != ""]
    out["significant"] = out["significant"].astype("boolean")
    out["p_operator"] = out["p_operator"].where(out["p_value"].notna(), None)
    out = out.sort_values([*cell, "label", "study_id"], kind="mergesort")
    return out[DIRECTION_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- vote counts


def vote_counts(dirs: pd.DataFrame, by_comparison: bool = False) -> pd.DataFrame:
    """Vote counts per cell of a :func:`directions` frame: what a count of directions can say
    (Cochrane Handbook 12.2.2), with its uncertainty.

    ``n_trials`` trials, of which ``n_favour`` favour the therapy, ``n_against`` the comparator
    and ``n_neither`` neither (an estimate at the null, or a reported 'no difference' without an
    estimate: not classifiable by direction). ``proportion`` = n_favour / (n_favour + n_against),
    the classifiable trials, with its 95% **Wilson** score interval without continuity correction
    (``prop_lb``, ``prop_ub``; R's ``prop.test(correct = FALSE)``; 0 and 1 exactly at 0 and all).
    ``sign_p``: the exact two-sided sign test of the same counts (binomial, p = 0.5, ties
    excluded; R's ``binom.test``). ``stouffer_p``: Stouffer's combined one-sided p (small favours
    the therapy) over the trials that print an exact p-value (``p_operator`` '=') and have a
    direction, where there are at least two (``stouffer_k``), weighted by the square root of n
    where every n is known (``stouffer_weighted``). ``label`` says what they answer: whether there
    is an effect in one direction, never how large. ``by_comparison=True`` counts per
    :data:`CELL_BY_COMPARISON` (of a ``directions(by_comparison=True)`` frame) and adds the column
    ``comparison``.
    """
    cell = CELL_BY_COMPARISON if by_comparison else CELL
    columns = [*cell, *VOTE_COLUMNS[len(CELL):]]
    rows = []
    if len(dirs):
        for key, g in dirs.groupby(cell, sort=True, observed=True):
            fav = int((g["direction"] == "arm").sum())
            against = int((g["direction"] == "comparator").sum())
            lb, ub = wilson_interval(fav, fav + against)
            exact = g[g["p_operator"].eq("=") & g["direction"].isin(["arm", "comparator"])]
            exact = exact[(exact["p_value"] > 0) & (exact["p_value"] <= 1)]
            sp, weighted = math.nan, None
            if len(exact) >= 2:
                sp, weighted = stouffer(
                    exact["p_value"].to_numpy(float),
                    np.where(exact["direction"] == "arm", 1, -1),
                    exact["n"].to_numpy(float),
                )
            rows.append(
                {
                    **dict(zip(cell, key, strict=True)),
                    "n_trials": len(g),
                    "n_favour": fav,
                    "n_against": against,
                    "n_neither": int((g["direction"] == "neither").sum()),
                    "proportion": fav / (fav + against) if fav + against else math.nan,
                    "prop_lb": lb,
                    "prop_ub": ub,
                    "sign_p": sign_test(fav, fav + against),
                    "stouffer_p": sp,
                    "stouffer_k": len(exact) if len(exact) >= 2 else 0,
                    "stouffer_weighted": weighted,
                    "studies": "; ".join(sorted(set(map(str, g["label"])))),
                    "label": VOTE_LABEL,
                }
            )
    out = pd.DataFrame(rows, columns=columns)
    return out.astype({"n_trials": int, "n_favour": int, "n_against": int, "n_neither": int, "stouffer_k": int})
