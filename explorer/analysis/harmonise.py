"""Common scales: pain on 0-10, everything else on 0-100 % of the instrument's range.

Direction is harmonised so that lower is better everywhere (a higher SF-36 score becomes a lower
harmonised score). Nothing is converted silently: :func:`harmonise` returns, beside each value, a
``derivation`` text saying how it was obtained.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.analysis.comparability import MIC_POINTS, critical_value, se_from_p, small_sample_df
from explorer.analysis.comparability import MIC_SOURCE as MIC_SOURCE  # one source, re-exported

PAIN_DOMAINS = ("pain_leg", "pain_back", "pain_overall")
Z95 = 1.959963984540054

#: Outcome groups offered to users: key -> (label, domains in priority order, common scale top).
OUTCOMES: dict[str, tuple[str, tuple[str, ...], float]] = {
    "pain": ("Pain (leg pain for radicular conditions, back pain otherwise), 0-10", PAIN_DOMAINS, 10.0),
    "leg_pain": ("Leg pain, 0-10", ("pain_leg",), 10.0),
    "back_pain": ("Back pain, 0-10", ("pain_back",), 10.0),
    "function": ("Function / disability, % of the scale", ("function",), 100.0),
    "quality_of_life": ("Quality of life, % of the scale (lower is better)", ("quality_of_life",), 100.0),
}
#: Minimal important change *within a person* on each outcome's common scale, from the
#: international consensus of Ostelo et al., Spine 2008;33(1):90-94 (doi
#: 10.1097/BRS.0b013e31815e3a10): 2 points (or 30 %) on a 0-10 pain scale, 10 points on the ODI
#: (10 % of its range; the RMDQ's is 5 of 24 points). It applies to change within a group over
#: time, never to a difference between groups: no between-group threshold with a source is in
#: this package, so none is drawn there.
MIC: dict[str, float] = {"pain": 2.0, "leg_pain": 2.0, "back_pain": 2.0, "function": 10.0}
#: Full ranges of the instruments whose MIC (comparability.MIC_POINTS) is in their own points.
_INSTRUMENT_RANGE = {"odi": 100.0, "modified_odi": 100.0, "rmdq": 24.0, "nrs": 10.0, "vas": 10.0}


def mic(outcome: str, instruments=None) -> float | None:
    """The within-person minimal important change on ``outcome``'s common scale for the rows of
    ``instruments`` (Ostelo 2008, :data:`explorer.analysis.comparability.MIC_POINTS`): function
    10 % of the range for the ODI, 5/24 = 20.8 % for the RMDQ. One line only where every
    instrument shown has the same MIC; None where they differ or one has none recorded (the
    ODI's 10 % is never drawn for the RMDQ). Without ``instruments``: :data:`MIC` (the ODI's
    line for function, as drawn where only the outcome is known)."""
    if outcome not in OUTCOMES:
        return None
    if instruments is None:
        return MIC.get(outcome)
    top = OUTCOMES[outcome][2]
    lines = set()
    for inst in {str(i) for i in instruments}:
        points, rng = MIC_POINTS.get(inst), _INSTRUMENT_RANGE.get(inst)
        if points is None or rng is None:
            return None
        lines.add(round(points / rng * top, 9))
    return lines.pop() if len(lines) == 1 else None
#: Short names for axis titles and summaries.
SHORT_LABEL = {
    "pain": "Pain",
    "leg_pain": "Leg pain",
    "back_pain": "Back pain",
    "function": "Function",
    "quality_of_life": "Quality of life",
}
RADICULAR = {"radiculopathy", "spinal_stenosis", "mixed_radicular"}


def outcome_unit(outcome: str) -> str:
    return "points on 0-10" if OUTCOMES[outcome][2] == 10.0 else "% of scale"


def pain_priority(domain: pd.Series, indication: pd.Series) -> np.ndarray:
    """Rank of a pain domain for a study (0 = preferred): leg pain first for radicular conditions,
    back pain first otherwise, overall pain in between. Used to keep one pain series per study."""
    radicular = indication.isin(RADICULAR).to_numpy()
    d = domain.to_numpy(dtype=object)
    leg = np.where(radicular, 0, 2)
    back = np.where(radicular, 2, 0)
    return np.select([d == "pain_leg", d == "pain_overall", d == "pain_back"], [leg, 1, back], default=3)


def harmonise(rows: pd.DataFrame, top: float, n_fallback: pd.Series | None = None) -> pd.DataFrame:
    """Put continuous outcome rows on a common lower-is-better scale from 0 to ``top``.

    ``rows`` holds outcome columns (measure, mean, sd, se, ci_lb, ci_ub, median, n, scale_min,
    scale_max, higher_is_better). Returns columns value, ci_lb, ci_ub, se, sd, n, approximate,
    derivation (index aligned with ``rows``). ``final`` values are rescaled with the offset;
    ``change``, ``improvement`` and ``mean_difference`` rows are differences, so only the factor
    applies; ``improvement`` (baseline minus follow-up) changes sign to become a change.
    """
    lo = rows["scale_min"].to_numpy(dtype=float)
    hi = rows["scale_max"].to_numpy(dtype=float)
    factor = top / (hi - lo)
    measure = rows["measure"].to_numpy(dtype=object)
    is_final = measure == "final"
    hib = rows["higher_is_better"].fillna(False).to_numpy(dtype=bool)
    # sign: +1 keeps direction; -1 for improvement rows and for higher-is-better instruments.
    sign = np.where(measure == "improvement", -1.0, 1.0) * np.where(hib, -1.0, 1.0)

    mean = rows["mean"].to_numpy(dtype=float)
    median = rows["median"].to_numpy(dtype=float)
    use_median = np.isnan(mean) & ~np.isnan(median)
    centre = np.where(use_median, median, mean)

    def scale(x: np.ndarray) -> np.ndarray:
        shifted = np.where(is_final, x - lo, x) * factor
        out = sign * shifted
        return np.where(is_final & hib, top + out, out)

    value = scale(centre)
    lb_raw, ub_raw = scale(rows["ci_lb"].to_numpy(dtype=float)), scale(rows["ci_ub"].to_numpy(dtype=float))
    lb, ub = np.fmin(lb_raw, ub_raw), np.fmax(lb_raw, ub_raw)  # a sign flip swaps the bounds

    n = rows["n"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    n_from_arm = np.zeros(len(rows), dtype=bool)
    if n_fallback is not None:
        fb = pd.Series(n_fallback).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        n_from_arm = np.isnan(n) & ~np.isnan(fb)
        n = np.where(n_from_arm, fb, n)
    sd = rows["sd"].to_numpy(dtype=float) * factor
    se_rep = rows["se"].to_numpy(dtype=float) * factor
    se = np.where(~np.isnan(se_rep), se_rep, sd / np.sqrt(n))
    has_ci = ~np.isnan(lb)
    # Handbook 6.5.2.2-6.5.2.3: the printed level, and Student's t for small groups.
    level = rows["ci_level"].to_numpy(dtype=float) if "ci_level" in rows else np.full(len(rows), np.nan)
    level = np.where(np.isnan(level), 95.0, level)
    df = small_sample_df(measure, n)
    if has_ci.any():  # quantiles only where a CI is printed (no scipy on data without one)
        crit = np.full(len(rows), np.nan)
        crit[has_ci] = critical_value(level[has_ci], df[has_ci])
        se = np.where(np.isnan(se) & has_ci, (ub - lb) / (2 * crit), se)
    # Handbook 6.3.2: a mean difference printed only with an exact p-value.
    from_p = np.zeros(len(rows), dtype=bool)
    if "p_value" in rows and "p_operator" in rows:
        exact = (rows["p_operator"] == "=").to_numpy() & (measure == "mean_difference") & np.isnan(se)
        exact &= ~np.isnan(rows["p_value"].to_numpy(dtype=float))
        if exact.any():
            se_p = np.full(len(rows), np.nan)
            se_p[exact] = se_from_p(value[exact], rows["p_value"].to_numpy(dtype=float)[exact], df[exact])
            from_p = exact & ~np.isnan(se_p)
            se = np.where(from_p, se_p, se)
    keep_ci = has_ci & (level == 95.0)
    lb = np.where(keep_ci, lb, value - Z95 * se)
    ub = np.where(keep_ci, ub, value + Z95 * se)

    unit = "0-10" if top == 10 else "% of range"
    how = []
    for i in range(len(rows)):
        parts = [f"{measure[i]} on {lo[i]:g}-{hi[i]:g} rescaled to {unit}"]
        if measure[i] == "improvement":
            parts.append("sign changed (improvement = -change)")
        if hib[i]:
            parts.append("direction reversed (higher was better)")
        if use_median[i]:
            parts.append("median shown in place of a mean (approximate)")
        if keep_ci[i]:
            parts.append("95% CI as reported")
        elif has_ci[i]:
            t_note = f", t with {df[i]:g} df" if not np.isnan(df[i]) else ""
            if t_note and n_from_arm[i]:
                t_note += " (n = arms randomised)" if measure[i] == "mean_difference" else " (n = arm randomised)"
            parts.append(f"SE from the reported {level[i]:g}% CI{t_note}; 95% CI from that SE")
        elif from_p[i]:
            parts.append("SE from the exact p-value (approximate)")
        elif not np.isnan(se_rep[i]):
            parts.append("CI from reported SE")
        elif not np.isnan(se[i]):
            parts.append("CI from SD/√n" + (" (n = arm randomised)" if n_from_arm[i] else ""))
        else:
            parts.append("no CI (no SD, SE or CI reported)")
        how.append("; ".join(parts))
    return pd.DataFrame(
        {
            "value": value,
            "ci_lb": lb,
            "ci_ub": ub,
            "se": se,
            "sd": sd,
            "n": n,
            "approximate": use_median,
            "se_from_p": from_p,
            "derivation": how,
        },
        index=rows.index,
    )


def keep_one_pain_domain(rows: pd.DataFrame) -> pd.DataFrame:
    """Keep, per study, only the rows of its preferred pain domain (see :func:`pain_priority`).

    ``rows`` needs ``study_id``, ``domain`` and ``indication`` columns. One pain series per study
    keeps a trial that reports leg and back pain from drawing, or pooling, twice.
    """
    rank = pain_priority(rows["domain"], rows["indication"])
    best = pd.Series(rank, index=rows.index).groupby(rows["study_id"]).transform("min")
    return rows[rank == best.to_numpy()]
