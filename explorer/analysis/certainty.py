""""How sure": a rough guide to the certainty of one pooled comparison, and a sentence for it.

Not a GRADE rating, and every text says so (:data:`HOW_SURE_NOTE`): GRADE needs judgements a
program cannot make (indirectness, publication bias, the importance of an effect to patients).
What the guide does count, each once, from the pool's own columns:

* **Few trials**: one trial is not a pool; two trials are only two (rule 'two-trials').
* **Participants** below GRADE's optimal information size rule of thumb of 400 (Guyatt et al.,
  GRADE guidelines 6, J Clin Epidemiol 2011;64:1283).
* **Risk of bias**: a trial judged at high risk, *or not assessed at all*, is a concern. The
  package holds published per-trial judgements where a review prints them
  (``studies.risk_of_bias`` with ``rob_source``); a trial nobody has assessed gives no
  assurance of a low risk of bias, so it is not counted as one. ``pool()`` counts them per pool
  (``high_rob``, ``rob_not_assessed``).
* **Imprecision**: the 95% CI includes no difference *and* an important effect. A CI that lies
  wholly within the band of little or no difference (:func:`near_null_band`) is precise: it
  says "little or no difference", which GRADE's informative statements word as
  "probably/may make little or no difference" (Santesso et al., J Clin Epidemiol
  2020;119:126-135), and is no concern.
* **Inconsistency** (from 3 trials): I² of 50% or more, or a prediction interval that includes
  no difference when the CI does not.

Level: no concern "moderate" (never "high": a guide from numbers alone), one "low", more
"very low". The sentence follows Santesso 2020: moderate "probably", low "may", very low "the
evidence is very uncertain"; the direction from the CI (an effect where it excludes no
difference; little or no difference where it lies within the band).

The band of little or no difference needs a minimal important difference *between groups*.
For risk and odds ratios GRADE 6 gives a default, a relative risk reduction or increase of 25%
(0.75 to 1.25). For mean differences no between-group threshold with a source is in this
package (the within-person MIC of Ostelo 2008 is not one): :data:`MID_BETWEEN` is empty for them
and a caller that has a sourced threshold passes it (``mid=``); without one a mean difference is
never called "little or no difference".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Below this many participants a pooled estimate is imprecise whatever its interval says: the
#: optimal information size rule of thumb of GRADE (Guyatt et al., J Clin Epidemiol 2011;64:1283).
OPTIMAL_INFORMATION_SIZE = 400
HOW_SURE_NOTE = "a rough guide from this pool's own numbers, not a GRADE rating"
#: The same for a single trial (never called a pool).
HOW_SURE_NOTE_ONE_TRIAL = "a rough guide from this trial's own numbers, not a GRADE rating"
#: Between-group minimal important differences by effect measure, each with its source: the
#: band of "little or no difference" is (-mid, mid) on the analysis scale (log for ratios).
#: Ratios: GRADE 6's default (Guyatt et al., J Clin Epidemiol 2011;64:1283-1293), a relative
#: risk reduction or increase of 25%. Mean differences: none documented in this package.
MID_BETWEEN: dict[str, tuple[float, str]] = {
    "RR": (float(np.log(1.25)), "GRADE 6 (Guyatt 2011): a relative risk reduction or increase of 25%"),
    "OR": (float(np.log(1.25)), "GRADE 6 (Guyatt 2011): a relative risk reduction or increase of 25%"),
}
LEVEL_WORDS = {"moderate": "fairly sure", "low": "somewhat unsure", "very low": "very unsure"}
#: Santesso 2020's words by certainty: (effect, little or no difference).
STATEMENTS = {
    "moderate": ("probably {verb} {what}", "probably makes little or no difference to {what}"),
    "low": ("may {base} {what}", "may make little or no difference to {what}"),
}


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _get(row, key: str, default=np.nan):
    v = row.get(key, default) if hasattr(row, "get") else default
    return default if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v


def near_null_band(measure: str | None, mid: float | None = None) -> float | None:
    """Half-width of the band of little or no difference on the analysis scale: ``mid`` when
    given (a sourced between-group MID on the pool's scale; for ratios as a log ratio), else
    :data:`MID_BETWEEN` for the measure, else None (no band: never "little or no difference")."""
    if mid is not None and np.isfinite(mid) and mid > 0:
        return float(mid)
    found = MID_BETWEEN.get(str(measure).upper() if measure is not None else "")
    return found[0] if found else None


def direction(lb: float, ub: float, band: float | None) -> str:
    """'lower' or 'higher' where the CI excludes no difference (0), 'none' where it lies
    within (-band, band), else 'unclear'."""
    if np.isnan(lb) or np.isnan(ub):
        return "unclear"
    if ub < 0:
        return "lower"
    if lb > 0:
        return "higher"
    if band is not None and -band < lb and ub < band:
        return "none"
    return "unclear"


def _verb(dirn: str, outcome: str, measure: str) -> str:
    """What a lower or higher value means for the patient (differences: lower is better; ratios of
    responders: more is better; of surgery or harms: more is worse)."""
    ratio = measure.upper() in ("RR", "OR")
    good_when_higher = ratio and outcome not in ("surgery", "harms", "adverse_events")
    better = (dirn == "higher") == good_when_higher
    return "improves" if better else "worsens"


def how_sure(pool_row: pd.Series | dict | None, mid: float | None = None) -> dict[str, object]:
    """How sure one pool lets us be (see the module docstring), from its columns: k,
    n_participants, high_rob, rob_not_assessed, I2, ci_lb/ci_ub, pi_lb/pi_ub, measure and outcome
    (no effect is 0, on the log scale for ratios). ``mid``: a sourced between-group MID on the
    pool's scale, where the caller has one.

    Returns ``level`` ('none', 'very low', 'low', 'moderate'), ``concerns`` (short phrases),
    ``statement`` (the informative statement, Santesso 2020) and ``text`` (one sentence ending
    with :data:`HOW_SURE_NOTE`). A single trial is never called a pool.
    """
    if pool_row is None or not int(_get(pool_row, "k", 0) or 0):
        return {"level": "none", "concerns": [], "statement": "",
                "text": "No pooled comparison of trials for this selection."}  # fmt: skip
    k = int(pool_row["k"])
    concerns: list[str] = []
    if k == 1:
        concerns.append("a single trial, not a pool")
    elif k == 2:
        concerns.append("only 2 trials")
    n = float(_get(pool_row, "n_participants"))
    if np.isnan(n):
        concerns.append("participant numbers not reported")
    elif n < OPTIMAL_INFORMATION_SIZE:
        concerns.append(f"{plural(round(n), 'participant')} (fewer than {OPTIMAL_INFORMATION_SIZE})")
    high = int(_get(pool_row, "high_rob", 0) or 0)
    unassessed = int(_get(pool_row, "rob_not_assessed", 0) or 0)
    rob = []
    if high:
        rob.append(f"{plural(high, 'trial')} of {k} at high risk of bias")
    if unassessed:
        rob.append(f"risk of bias not assessed for {'the trial' if k == 1 else f'{unassessed} of {k} trials'}")
    if rob:
        concerns.append(" and ".join(rob))  # one concern: the risk-of-bias domain
    lb, ub = float(pool_row["ci_lb"]), float(pool_row["ci_ub"])
    measure = str(_get(pool_row, "measure", "") or "")
    band = near_null_band(measure, mid)
    dirn = direction(lb, ub, band)
    if dirn == "unclear":
        concerns.append("the 95% CI includes no difference" + (" and an important effect" if band else ""))
    if k >= 3:
        i2 = float(_get(pool_row, "I2", 0.0) or 0.0)
        pi_lb, pi_ub = float(_get(pool_row, "pi_lb")), float(_get(pool_row, "pi_ub"))
        if i2 >= 50:
            concerns.append(f"inconsistent results (I² {i2:.0f}%)")
        elif not np.isnan(pi_lb) and pi_lb <= 0 <= pi_ub and dirn in ("lower", "higher"):
            concerns.append("the prediction interval for a new setting includes no difference")
    serious = len(concerns)
    level = "moderate" if serious == 0 else ("low" if serious == 1 else "very low")
    what = str(_get(pool_row, "outcome", "") or "the outcome").replace("_", " ")
    if level == "very low":
        statement = f"the evidence is very uncertain about the injection's effect on {what}"
    elif dirn in ("none", "unclear"):
        statement = "the injection " + STATEMENTS[level][1].format(what=what)
    else:
        verb = _verb(dirn, str(_get(pool_row, "outcome", "") or ""), measure)
        statement = "the injection " + STATEMENTS[level][0].format(verb=verb, base=verb[:-1], what=what)
    words = LEVEL_WORDS[level]
    people = plural(round(n), "participant") if not np.isnan(n) else "participant numbers not reported"
    because = f" ({'; '.join(concerns)})" if concerns else f" ({plural(k, 'trial')}, {people})"
    return {
        "level": level,
        "concerns": concerns,
        "statement": statement,
        "text": f"{words.capitalize()}{because}: {statement}; {HOW_SURE_NOTE_ONE_TRIAL if k == 1 else HOW_SURE_NOTE}.",
    }
