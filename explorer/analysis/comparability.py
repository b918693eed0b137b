"""What may be combined with what: the explorer's pooling rules, written down once.

Every layer that pools or describes a pool (``explorer.effects``/``explorer.pool``, the CLI, the
dashboard, the summary sentences) takes its rules from here, and ``explorer dictionary`` prints
:data:`RULES` into the data dictionary, so the text a user reads is the code that runs.

The rules follow the Cochrane Handbook for Systematic Reviews of Interventions (version 6.4,
2023): chapter 6 for turning what papers print into effect sizes, chapter 10 for what is
combined, chapter 23 for multi-arm trials, and the Cochrane Back and Neck group's follow-up
windows. Where a rule is a choice among defensible options, the choice and its reason are given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.analysis import distributions as dist
from explorer.analysis.effect_sizes import level_to_alpha


@dataclass(frozen=True)
class Rule:
    """One pooling rule: a short id used in "left out because ..." reasons, and its text."""

    id: str
    title: str
    text: str


RULES: tuple[Rule, ...] = (
    Rule(
        "alike",
        "Only like with like",
        "Effects pool only within one outcome, effect measure, kind of effect (between-group "
        "contrast or within-arm change), comparator class and, for responders, one responder "
        "class. A standardised mean difference never mixes differences of changes with differences "
        "of final values (Handbook 10.5.2). Rows that give only a p-value or a direction feed the "
        "effect-direction display, never a pool.",
    ),
    Rule(
        "comparator",
        "Comparator classes",
        "Default (Cochrane: Oliveira 2020, Quraishi 2012): an inert injection (saline, contrast, "
        "sham) or local anaesthetic alone is placebo/sham; another active treatment is active; "
        "conservative care is conservative. Strict (a sensitivity choice): placebo/sham only for "
        "inert injections without local anaesthetic; local anaesthetic alone then counts as active. "
        "Epidural saline counts as inert in both, as in Oliveira 2020 (Bicket 2013 argues it is not).",
    ),
    Rule(
        "scale",
        "A common scale",
        "A continuous row enters a mean-difference pool only with its scale range and direction. "
        "Pain is put on 0-10 and every other instrument on 0-100 % of its range, lower is better. "
        "A scale stated by the paper or fixed by the instrument pools. So does a scale derived by "
        "arithmetic (scale_basis 'derived'): a VAS or NRS whose range the paper does not state is "
        "0-100 when any number the study prints on that instrument (a mean, SD, SE, median, quartile, "
        "range bound or CI bound, baseline and between-group differences included) exceeds 10 in "
        "absolute value, which no 0-10 scale allows; the explorer applies this to every VAS/NRS row "
        "entered as 'inferred' or without a range, and the effect row records the basis. A weaker "
        "inference (scale_basis 'inferred': a VAS taken as 0-10 because none of its values exceeds "
        "10) is left out unless asked for (inferred_scales=True; the dashboard's 'inferred scales' "
        "switch). A contrast of two arms takes the weaker basis of the two.",
    ),
    Rule(
        "unit",
        "Participants only",
        "Only rows counting participants pool; rows counting joints, injections, levels or discs are "
        "shown, not pooled (unit-of-analysis error, Handbook 6.2).",
    ),
    Rule(
        "subgroup",
        "Whole trials only",
        "Subgroup results are shown, never pooled with whole trials (Handbook 10.11).",
    ),
    Rule(
        "time",
        "One time axis",
        "Every row is placed at weeks since the first injection: a printed range at its midpoint, a "
        "time counted from a later injection shifted by the protocol's schedule (anchor_offset_weeks). "
        "Both are flagged; a time whose anchor cannot be placed is kept at its printed value and "
        "flagged. Follow-up windows: immediate <= 2 weeks, short term <= 3 months, intermediate < 12 "
        "months, long term >= 12 months (Cochrane Back and Neck group).",
    ),
    Rule(
        "one-per-cohort",
        "One contribution per cohort and pool",
        "Papers reporting the same participants share a cohort (the root of their parent_id chain) "
        "and contribute once per pool. Among a cohort's candidate rows the choice, independent of "
        "row order, is: the trial's primary outcome first; then intention to treat; then the best "
        "source: a reported difference adjusted for prognostic covariates, one adjusted for baseline "
        "only (a trial printing a 'crude' and an 'adjusted' contrast of the same time, as Iversen "
        "2011, enters with the adjusted one; Handbook 10.5.2 prefers adjusted analyses), a reported "
        "difference of changes, of final values, one computed from the arms' changes, from their "
        "final values (for responders: printed counts before counts derived from percentages); then "
        "the time nearest the window's reference time (1, 7.5, 32.5 and 52 weeks); then an inert "
        "comparator before one whose activity is not recorded (placebo_is_active empty), and that "
        "before an active 'placebo'; then exact before approximate values; then the larger sample; "
        "then ids.",
    ),
    Rule(
        "multi-arm",
        "Multi-arm trials",
        "When several arms of one trial enter the same pool (two steroid arms against one placebo, "
        "or one steroid arm against two placebo arms), the arms on each side are combined into one "
        "group, the approach the Handbook recommends (23.3.4; formulae in Table 6.5.a): counts are "
        "added, means weighted by n, SDs combined. No arm is dropped or counted twice and the trial "
        "counts once. Where an arm lacks the n or SD that combining needs, the first comparison by "
        "the one-per-cohort order enters and the others are listed as left out.",
    ),
    Rule(
        "conversions",
        "From printed numbers to effect sizes",
        "Handbook chapter 6: a CI's level is honoured; an SD or SE from a CI uses Student's t when a "
        "group has fewer than 60 participants (6.5.2.2-6.5.2.3); a reported between-group difference "
        "that prints no n of its own takes the sum of its two arms' randomised numbers for this test "
        "(t with n - 2 df below 120 in all; the normal where either arm's size is unknown); the SE of "
        "a mean difference printed only with an exact p-value comes from that p-value (flagged "
        "approximate, 6.3.2); medians stand in for means only when asked (include_approximate=True).",
    ),
    Rule(
        "derived-events",
        "Counts from printed percentages",
        "A responder or event row that prints only a percentage gives a count: the percentage times "
        "the row's own denominator (its total, else its analysed n), else the arm's randomised "
        "number, rounded to the nearest integer (halves up): the ordinary extraction step for "
        "dichotomous data (Handbook 6.4), flagged as derived because the printed percentage may be "
        "of a denominator the paper does not state. "
        "Never where no denominator is printed for the row or its arm. Every such row is flagged "
        "(events_derived; source 'arms' percentages', ranked after printed counts), each pool counts "
        "them (n_derived_events, derived_events_rows), and every pool is also given without them "
        "(derived_events=False).",
    ),
    Rule(
        "imputed-sd",
        "Missing standard deviations",
        "An arm without an SD, SE or CI borrows the pooled SD, sqrt(sum((n-1) SD^2) / sum(n-1)), of "
        "other studies that report the same instrument on the same scale (the same printed range) "
        "and the same kind of value (final or change), only when at least three such studies give "
        "one (Furukawa 2006, J Clin Epidemiol 59:7-10; Handbook 6.5.2.7), or a documented reference "
        "SD with its source (REFERENCE_SD; none is documented in this package). An imputed SD "
        "outside the range of its donors' SDs, or below a tenth of the scale's range, is refused. "
        "A row whose SD is refused, or has too few donors, stays in the effects without a variance "
        "and explain() says why. Every imputed row is flagged, each pool lists its imputed rows "
        "(n_imputed_sd, imputed_sd_rows), and every pool is also given without them "
        "(imputed_sd=False).",
    ),
    Rule(
        "comparison",
        "Comparisons, not only classes",
        "Each contrast also has a finer comparison, read from its two arms (data/arms.csv), in the "
        "vocabulary of review_estimates.comparison_class so that our pools and published pools line "
        "up; the comparator class stays the coarser grouping (active = every comparison below but "
        "placebo/sham and conservative). placebo_sham and conservative are the comparator's class. "
        "An active comparator is a systemic_drug when it is given orally, intramuscularly or "
        "subcutaneously, is an intramuscular steroid or an oral drug (an oral drug the data class as "
        "conservative care stays conservative); it is other_therapy when the two arms' therapy "
        "families differ (arms.therapy; 'other' never matches, so PRP vs steroid, facet joint "
        "injection vs medial branch block, steroid vs radiofrequency or surgery); otherwise it is the "
        "same therapy in another form, named by what differs, in this order: approach (the coded "
        "approaches, or where these are the same or unstated, approach variants the arm labels name: "
        "parasagittal vs midline, Kambin vs supraneural, preganglionic vs ganglionic, ...), agent "
        "(the agent class, or named steroids, or an agent such as ketamine, magnesium, hyaluronidase "
        "or ozone named in one arm only), dose (the same named steroid at two printed doses), "
        "guidance (fluoroscopy, ultrasound, CT, landmark; both recorded), injections (both numbers "
        "printed). The comparison is the first difference in that order; the column differs lists "
        "them all ('therapy' first for other_therapy). Two forms of one therapy whose arms record no "
        "difference are 'unclassified' (said, never guessed). Under the strict comparator definition "
        "a placebo made active (local anaesthetic alone, or an inert injection with it) is compared by "
        "agent: the same injection without the active agent. Pools group by comparison when asked "
        "(by=[..., 'comparison']; explorer pool --by therapy,window,comparison); each contrast also "
        "carries a label ('transforaminal vs interlaminar', 'ultrasound vs fluoroscopy', 'PRP vs "
        "steroid').",
    ),
    Rule(
        "responders",
        "Responder classes",
        "Responder rows pool only within one responder class, and a class holds one definition: at "
        "least 50 % or 30 % pain relief, at least 75 % pain relief, complete relief, at least 30 % "
        "improvement of a disability score, improvement of a disability score by at least its "
        "minimal important change in points (Ostelo 2008, Spine 33:90-94: 10 of 100 on the ODI, 5 "
        "of 24 on the RMDQ, never the ODI's 10 % read onto the RMDQ), at least 50 % pain relief "
        "together with at least 50 % functional improvement (the composite of Manchikanti's trials), "
        "or a global rating of success. Any other threshold (another percentage, a pain level "
        "below a cut-off, an unstated MCID, walking distance, a distribution-based change, another "
        "composite) is class 'other' and is shown, not pooled.",
    ),
    Rule(
        "small-k",
        "Intervals for few studies",
        "Random effects by REML with Hartung-Knapp-Sidik-Jonkman intervals and metafor's ad hoc "
        "correction (the variance factor is not allowed below 1: test='adhoc'), because with few "
        "studies the normal-based interval is too narrow and plain HKSJ can be narrower than the "
        "common-effect interval (Roever, Knapp, Friede 2015, BMC Med Res Methodol 15:99; IntHout "
        "2014; Handbook 10.10.4). Prediction intervals only from 3 studies on (IntHout 2016).",
    ),
    Rule(
        "few-studies-curve",
        "Time courses from few studies",
        "A time course's 95% interval uses cluster-robust (CR2) standard errors with Satterthwaite "
        "degrees of freedom only where they can be trusted: every Satterthwaite df of the curve over "
        "its covered range at least 4 (Tipton 2015, Psychol Methods 20:375: below 4 the CR2 test's "
        "Type I error exceeds nominal; with two studies the robust SE can collapse to almost nothing). "
        "For an intercept or a line that needs about six studies. Otherwise the whole curve uses the "
        "model-based standard error with Student's t on (studies - coefficients) df, t(1) for a "
        "constant from two studies: a wide interval, because two studies say little. In a seeded "
        "simulation at 2-6 studies (tests/test_timecourse.py) this rule covered the true effect in every fit "
        "(83-100 per k); CR2 alone covered 93-99% overall but collapsed in 4 of 83 "
        "two-study fits, and the model-based SE with the normal covered only 83-94%. The curve, its "
        "coefficients and its fit say which (se_basis) and why (se_note), and the efficacy view "
        "prints the sentence under the figure.",
    ),
    Rule(
        "two-trials",
        "Pools of two trials",
        "With two trials the between-trial variance cannot be estimated usefully and no interval is "
        "right: a normal-based random-effects interval is falsely narrow, the HKSJ one (t with 1 df) "
        "often wider than either trial's own (Gonnermann et al. 2015, Stat Med 34:2476; Bender et al. "
        "2018, Res Synth Methods 9:382). A pool of two keeps the random-effects estimate with its "
        "HKSJ interval (the 'small-k' rule: never narrower than the common-effect one), is flagged "
        "(few_studies), and gives beside it the common-effect (inverse-variance) estimate and "
        "interval (fe_estimate, fe_ci_lb, fe_ci_ub), which holds only if both trials estimate one "
        "effect; wider_than_trials says when the pooled interval is wider than both trials' own, "
        "so that pooling added no precision. Its sentence says both in words; it has no prediction "
        "interval, and 'how sure' counts 'only 2 trials' as a concern.",
    ),
    Rule(
        "how-sure",
        "How sure: a guide, not a GRADE rating",
        "From the pool's own numbers, one concern each: a single trial or only two; fewer than 400 "
        "participants (GRADE's optimal information size, Guyatt 2011); risk of bias, where any trial "
        "is judged high or has not been assessed at all (published per-trial judgements are used "
        "where the data hold them: studies.risk_of_bias, rob_source); a 95% CI that includes both "
        "no difference and an important effect; from three trials, I² >= 50% or a prediction "
        "interval crossing no difference. No concern reads 'moderate' (never 'high'), one 'low', "
        "more 'very low'. A CI wholly within the band of little or no difference is precise, not a "
        "concern, and reads 'probably (or may) make little or no difference' (GRADE informative "
        "statements, Santesso et al. 2020, J Clin Epidemiol 119:126); other sentences say "
        "'probably' (moderate), 'may' (low) or 'the evidence is very uncertain' (very low). The band "
        "needs a between-group minimal important difference: for risk and odds ratios GRADE's "
        "default, a 25% relative change (0.75 to 1.25); for mean differences none with a source is "
        "in this package, so a mean difference is never called 'little or no difference' unless a "
        "caller passes a sourced one.",
    ),
)


def rules_markdown() -> str:
    """The rules as the data dictionary's last section (``explorer dictionary`` appends it)."""
    out = [
        "## Pooling rules",
        "",
        "<!-- From explorer/analysis/comparability.py (RULES): the text is the code that runs. -->",
        "",
        "What the explorer combines, and why. `explorer pool --explain` (or `explorer.explain()`) "
        "lists, row by row, what each pool took and which rule left a row out.",
        "",
    ]
    for r in RULES:
        out += [f"**{r.title}** (`{r.id}`). {r.text}", ""]
    return "\n".join(out)

#: Rule 'comparison': the same therapy in another form, named by the first of these that differs.
COMPARISON_ORDER = ("approach", "agent", "dose", "guidance", "injections")
UNCLASSIFIED_COMPARISON = "unclassified"
#: Routes that make an active comparator a systemic drug.
SYSTEMIC_APPROACHES = frozenset({"oral", "intramuscular", "subcutaneous"})
#: Agents that make a placebo inert under the strict definition.
INERT_AGENTS = frozenset({"saline", "contrast", "none"})
COMPARATOR_DEFINITIONS = ("cochrane", "strict")
#: Responder classes that pool, each one definition (rule 'responders'); ``other`` (undefined,
#: one-off or unlike definitions) is shown, never pooled.
POOLED_RESPONDER_CLASSES = frozenset(
    {
        "pain_relief_50",
        "pain_relief_30",
        "pain_relief_75",
        "complete_relief",
        "function_improvement_30",
        "function_mic",
        "composite_success",
        "global_rating",
    }
)
#: Minimal important change within a person, in points of each instrument's own range (Ostelo R
#: et al., Spine 2008;33(1):90-94): the line a responder class 'function_mic' (and a drawn MIC)
#: uses for that instrument. The RMDQ's is 5 of 24 points, not the ODI's 10 % of its range.
MIC_POINTS = {"odi": 10.0, "modified_odi": 10.0, "rmdq": 5.0, "nrs": 2.0, "vas": 2.0}
MIC_SOURCE = "Ostelo 2008 (Spine 33:90-94)"
POPULATION_RANK = {"itt": 0, "available_case": 1, "per_protocol": 2, "not_reported": 3}
#: Reported contrasts first, the most fully adjusted first (rule 'one-per-cohort'; Handbook 10.5.2
#: prefers adjusted analyses): covariate-adjusted, then adjusted for baseline only.
SOURCE_RANK = {
    "reported MD (adjusted)": 0,
    "reported MD (adjusted for baseline)": 1,
    "reported MD (of changes)": 2,
    "reported MD (of final values)": 3,
    "MD from p-value": 4,
    "arms' changes": 5,
    "arms' final values": 6,
    "arms' counts": 0,
    "arms' percentages": 1,
    "within-arm change": 0,
}
#: The comparator's activity in the one-per-cohort order: inert, not recorded, active (D8: an
#: empty placebo_is_active is not taken for inert).
PLACEBO_ACTIVITY_RANK = {False: 0, None: 1, True: 2}
#: Reference time of each window (weeks) for the one-per-cohort choice.
WINDOW_REFERENCE_WEEKS = {"immediate": 1.0, "short": 7.5, "intermediate": 32.5, "long": 52.0}
Z95 = 1.959963984540054  # qnorm(0.975)
#: Below this many participants in a group, a CI of a mean is taken to use Student's t.
SMALL_GROUP = 60
#: Prediction intervals are drawn only from this many studies on.
MIN_K_PREDICTION = 3
#: Rule 'imputed-sd': other studies needed to borrow an SD, and the smallest SD accepted as a
#: fraction of the scale's range.
MIN_SD_DONORS = 3
MIN_SD_FRACTION = 0.1
#: Documented reference SDs: (instrument, scale_min, scale_max, kind of value) -> (SD on that
#: scale, source). None is documented in this package; an entry needs its published source.
REFERENCE_SD: dict[tuple[str, float, float, str], tuple[float, str]] = {}
#: Rule 'scale': instruments whose unstated range may be derived from their numbers, the numbers
#: read, and the threshold no 0-10 scale can exceed.
DERIVABLE_SCALE_INSTRUMENTS = ("vas", "nrs")
SCALE_NUMBERS = ("mean", "sd", "se", "median", "q1", "q3", "range_min", "range_max", "ci_lb", "ci_ub")
CONTINUOUS_ROW_MEASURES = ("final", "change", "improvement", "mean_difference")
PAIN_DOMAINS = ("pain_leg", "pain_back", "pain_overall")


def comparator_class(arms: pd.DataFrame, definition: str = "cochrane") -> pd.Series:
    """Comparator class of each arm under ``definition`` (NaN for arms that are not comparators).

    ``cochrane`` is the data's ``comparator_kind``. ``strict`` keeps placebo/sham only for inert
    agents (:data:`INERT_AGENTS`) given without local anaesthetic; the others become active.
    """
    if definition not in COMPARATOR_DEFINITIONS:
        raise ValueError(f"unknown comparator definition {definition!r}; choose cochrane or strict")
    kind = arms["comparator_kind"].astype(object)
    if definition == "cochrane":
        return kind
    with_la = arms["local_anaesthetic_added"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    inert = arms["agent_class"].isin(INERT_AGENTS).to_numpy() & ~with_la
    inert &= (arms["therapy"] != "local_anaesthetic").to_numpy()
    return kind.where(~((kind == "placebo_sham").to_numpy() & ~inert), "active")


def cohort_roots(studies: pd.DataFrame) -> pd.Series:
    """The root of each study's ``parent_id`` chain (a chain A <- B <- C gives A for all three).

    A cycle (which the validator refuses) stops at the first repeated study rather than looping.
    """
    parent = dict(zip(studies["study_id"], studies["parent_id"], strict=True))
    roots = {}
    for sid in parent:
        seen, cur = {sid}, sid
        while isinstance(parent.get(cur), str) and parent[cur] in parent and parent[cur] not in seen:
            cur = parent[cur]
            seen.add(cur)
        roots[sid] = cur
    return studies["study_id"].map(roots)


def place_in_time(rows: pd.DataFrame, to_weeks) -> pd.DataFrame:
    """Weeks since the first injection for each outcome row, and a note saying how it was placed.

    ``rows`` needs time_value, time_unit and (optionally) time_value_max, time_anchor,
    anchor_offset_weeks and time_source. Returns columns ``time_weeks`` and ``time_note``.
    """
    lo = to_weeks(rows["time_value"], rows["time_unit"])
    hi_raw = rows["time_value_max"] if "time_value_max" in rows else pd.Series(np.nan, index=rows.index)
    hi = to_weeks(hi_raw.astype(float), rows["time_unit"])
    ranged = ~np.isnan(hi)
    weeks = np.where(ranged, (lo + np.where(ranged, hi, 0.0)) / 2, lo)
    anchor = rows["time_anchor"].fillna("").astype(str).to_numpy() if "time_anchor" in rows else None
    offset = (
        rows["anchor_offset_weeks"].astype(float).to_numpy()
        if "anchor_offset_weeks" in rows
        else np.full(len(rows), np.nan)
    )
    notes = [[] for _ in range(len(rows))]
    for i in np.flatnonzero(ranged):
        notes[i].append("midpoint of a printed range")
    if anchor is not None:
        shifted = (anchor != "") & ~np.isnan(offset) & (offset > 0)
        unplaced = (anchor != "") & np.isnan(offset)
        weeks = np.where(shifted, weeks + np.nan_to_num(offset), weeks)
        for i in np.flatnonzero(shifted):
            notes[i].append(f"shifted {offset[i]:g} weeks (time counted {anchor[i]})")
        for i in np.flatnonzero(unplaced):
            notes[i].append(f"counted {anchor[i]}; schedule not fixed, placed as printed")
    if "time_source" in rows:
        for i in np.flatnonzero((rows["time_source"] == "primary_endpoint").to_numpy()):
            notes[i].append("time of the stated primary endpoint")
    weeks = np.where(np.asarray(lo) == 0, 0.0, weeks)  # a baseline stays a baseline
    return pd.DataFrame({"time_weeks": weeks, "time_note": ["; ".join(n) for n in notes]}, index=rows.index)


def critical_value(level, df=None) -> np.ndarray:
    """Two-sided critical value of a CI at ``level`` (percent, NaN read as 95): Student's t where
    ``df`` is finite and at least 1, the normal quantile elsewhere. Callers pass ``df`` only for
    small groups (:data:`SMALL_GROUP`), as Handbook 6.5.2.2-6.5.2.3 describes."""
    lev = np.atleast_1d(np.asarray(level, dtype=float))
    lev = np.where(np.isnan(lev), 95.0, lev)
    alpha = np.array([level_to_alpha(x) for x in lev.ravel()]).reshape(lev.shape)
    d = np.full(lev.shape, np.nan) if df is None else np.broadcast_to(np.asarray(df, dtype=float), lev.shape)
    use_t = np.isfinite(d) & (d >= 1)
    if not use_t.any() and np.all(lev == 95.0):
        return np.full(lev.shape, Z95)  # the common case, without loading scipy
    z = dist.norm_isf(alpha / 2)
    t = dist.t_isf(alpha / 2, np.where(use_t, d, 1.0))
    return np.where(use_t, t, z)


def small_sample_df(measure: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Degrees of freedom for a printed CI where Student's t applies, NaN where the normal does.

    A mean of one group: n - 1, when n < 60. A difference between two groups (n the total): n - 2,
    when the total is under 120 (both groups under 60 if balanced). Unknown n: normal.
    """
    n = np.asarray(n, dtype=float)
    diff = np.asarray(measure, dtype=object) == "mean_difference"
    df = np.where(diff, n - 2, n - 1)
    small = np.where(diff, n < 2 * SMALL_GROUP, n < SMALL_GROUP)
    return np.where(small & (df >= 1), df, np.nan)


def se_from_p(estimate: np.ndarray, p: np.ndarray, df: np.ndarray | None = None) -> np.ndarray:
    """SE of an estimate printed only with an exact two-sided p-value (Handbook 6.3.2):
    ``|estimate| / crit(p)``, Student's t with ``df`` where given (small groups), else normal.
    NaN where p is 0, 1 or missing, or the estimate is 0 (the SE is then not determined)."""
    est = np.asarray(estimate, dtype=float)
    pv = np.asarray(p, dtype=float)
    ok = (pv > 0) & (pv < 1) & (est != 0) & np.isfinite(est)
    crit = critical_value((1 - np.where(ok, pv, 0.5)) * 100, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, np.abs(est) / crit, np.nan)


def derive_scales(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Rule 'scale': the 0-100 range of a VAS or NRS that follows by arithmetic.

    A continuous VAS/NRS row entered as 'inferred' or without a range is put on 0-100 with
    scale_basis 'derived' when any number the same study prints on the same instrument
    (:data:`SCALE_NUMBERS`, on any continuous row, baseline and contrasts included) exceeds 10
    in absolute value: impossible on 0-10. A pain row without a direction is lower-is-better.
    Other rows are returned unchanged (an 'inferred' 0-10 stays 'inferred'). Returns a copy.
    """
    o = outcomes.copy()
    if o.empty:
        return o
    cont = o["measure"].isin(CONTINUOUS_ROW_MEASURES).to_numpy()
    instr = o["instrument"].isin(DERIVABLE_SCALE_INSTRUMENTS).to_numpy()
    nums = [c for c in SCALE_NUMBERS if c in o.columns]
    biggest = o[nums].apply(pd.to_numeric, errors="coerce").abs().max(axis=1).to_numpy(dtype=float)
    big = pd.Series(np.where(cont & instr, np.nan_to_num(biggest, nan=0.0) > 10, False), index=o.index)
    over = big.groupby([o["study_id"], o["instrument"]]).transform("max").to_numpy(dtype=bool)
    basis = o["scale_basis"].astype(object)
    unset = basis.isna().to_numpy() | (basis.astype(str) == "").to_numpy() | o["scale_max"].isna().to_numpy()
    target = cont & instr & over & (unset | (basis == "inferred").to_numpy())
    if not target.any():
        return o
    o.loc[target, "scale_min"] = 0.0
    o.loc[target, "scale_max"] = 100.0
    o.loc[target, "scale_basis"] = "derived"
    pain = o["domain"].isin(PAIN_DOMAINS).to_numpy() & o["higher_is_better"].isna().to_numpy()
    if (target & pain).any():
        o["higher_is_better"] = o["higher_is_better"].astype("boolean")
        o.loc[target & pain, "higher_is_better"] = False
    return o


def weaker_scale_basis(a: pd.Series, b: pd.Series) -> np.ndarray:
    """The weaker of two arms' scale bases (inferred, then derived, then the first arm's)."""
    a_ = a.fillna("").astype(str).to_numpy(dtype=object)
    b_ = b.fillna("").astype(str).to_numpy(dtype=object)
    return np.where(
        (a_ == "inferred") | (b_ == "inferred"),
        "inferred",
        np.where((a_ == "derived") | (b_ == "derived"), "derived", a_),
    )


def events_from_percent(percent, denominator) -> np.ndarray:
    """Rule 'derived-events': percent x denominator / 100, rounded to the nearest integer (halves
    up); NaN where either is missing. The product is first rounded to 9 decimals, so that a
    binary fraction (e.g. 0.7 x 30 = 20.999999999999996) does not move the rounding."""
    pc = np.asarray(percent, dtype=float)
    d = np.asarray(denominator, dtype=float)
    with np.errstate(invalid="ignore"):
        x = np.round(pc * d / 100.0, 9)
        return np.floor(x + 0.5)


def mic_points(instrument: str) -> float | None:
    """The within-person minimal important change of ``instrument`` in its own points
    (:data:`MIC_POINTS`; Ostelo 2008), or None where none is recorded."""
    return MIC_POINTS.get(str(instrument))


def impute_sd(
    recipients: pd.DataFrame, donors: pd.DataFrame, scale_range: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Rule 'imputed-sd' for each recipient row: the SD to borrow (NaN where refused) and a note.

    ``recipients`` and ``donors`` hold study_id, instrument, scale_min, scale_max, kind (final
    or change) and, for donors, sd and n; SDs on one common scale per key. ``scale_range`` is each
    recipient's scale range on that common scale (a tenth of it is the smallest SD accepted).
    The note is 'SD imputed (...)' where an SD is given, else why none is.
    """
    keys = ["instrument", "scale_min", "scale_max", "kind"]
    per_study = (
        donors.assign(_w=donors["n"] - 1, _ss=(donors["n"] - 1) * donors["sd"] ** 2)
        .groupby([*keys, "study_id"], dropna=False)
        .agg(w=("_w", "sum"), ss=("_ss", "sum"))
        .reset_index()
    )
    per_study["sd"] = np.sqrt(per_study["ss"] / per_study["w"])
    by_key: dict[tuple, pd.DataFrame] = {
        k: g for k, g in per_study.groupby(keys, dropna=False, sort=False)
    }
    out = np.full(len(recipients), np.nan)
    notes = []
    for i, r in enumerate(recipients[[*keys, "study_id"]].itertuples(index=False)):
        key = (r.instrument, r.scale_min, r.scale_max, r.kind)
        scale = f"{r.instrument} {r.scale_min:g}-{r.scale_max:g} {r.kind} values"
        g = by_key.get(key)
        g = g[g["study_id"] != r.study_id] if g is not None else per_study.iloc[:0]
        k = len(g)
        ref = REFERENCE_SD.get(key)
        if k >= MIN_SD_DONORS:
            sd = float(np.sqrt(g["ss"].sum() / g["w"].sum()))
            how = f"pooled from {k} other studies"
        elif ref is not None:
            sd, how = float(ref[0]), f"reference SD from {ref[1]}"
        else:
            notes.append(f"no SD; {k} other {'study gives' if k == 1 else 'studies give'} one for {scale}, "
                         f"fewer than the {MIN_SD_DONORS} an imputation needs")
            continue
        lo, hi = (float(g["sd"].min()), float(g["sd"].max())) if k else (np.nan, np.nan)
        floor = MIN_SD_FRACTION * float(scale_range[i])
        if k and not (lo - 1e-12 <= sd <= hi + 1e-12):
            notes.append(f"imputed SD {sd:.3g} ({how}) refused: outside its donors' range {lo:.3g}-{hi:.3g}")
        elif sd < floor:
            notes.append(f"imputed SD {sd:.3g} ({how}) refused: below a tenth of the scale's range ({floor:.3g})")
        else:
            out[i] = sd
            notes.append(f"SD imputed ({sd:.3g}, {how})")
    return out, notes
