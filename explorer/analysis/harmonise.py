"""Common scales: pain on 0-10, everything else on 0-100 % of the instrument's range.

Direction is harmonised so that lower is better everywhere (a higher SF-36 score becomes a lower
harmonised score). Nothing is converted silently: :func:`harmonise` returns, beside each value, a
``derivation`` text saying how it was obtained.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
#: Minimal clinically important difference on each outcome's common scale, for the reference line:
#: 15 of 100 for pain (1.5 on 0-10) and 10 points of ODI (10 % of the scale), the thresholds of the
#: international consensus of Ostelo et al., Spine 2008;33(1):90-94 (doi 10.1097/BRS.0b013e31815e3a10).
MCID: dict[str, float] = {"pain": 1.5, "leg_pain": 1.5, "back_pain": 1.5, "function": 10.0}
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
    se = np.where(np.isnan(se) & has_ci, (ub - lb) / (2 * Z95), se)
    lb = np.where(has_ci, lb, value - Z95 * se)
    ub = np.where(has_ci, ub, value + Z95 * se)

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
        if has_ci[i]:
            parts.append("95% CI as reported")
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
