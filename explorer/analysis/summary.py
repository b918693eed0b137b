"""Plain-language summaries of the current selection, written from the numbers.

Meant for patients and a room: short sentences, pain on a 0-10 scale, what the numbers can and
cannot say. "How sure" (:func:`how_sure`) is a rough guide computed from the pool itself (its
number of trials, participants, risk of bias, inconsistency and imprecision); it is not a GRADE
rating, and the page says so.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from explorer.analysis.harmonise import MIC, MIC_SOURCE

WINDOW_WORDS = {
    "immediate": "in the first 2 weeks",
    "short": "up to 3 months",
    "intermediate": "at 3 to 12 months",
    "long": "at 12 months or later",
}
KIND_WORDS = {
    "placebo_sham": "placebo or sham",
    "active": "an active comparator",
    "conservative": "conservative care",
}
#: Below this many participants a pooled estimate is imprecise whatever its interval says: the
#: optimal information size rule of thumb of GRADE (Guyatt et al., J Clin Epidemiol 2011;64:1283).
OPTIMAL_INFORMATION_SIZE = 400
HOW_SURE_NOTE = "a rough guide from this pool's own numbers, not a GRADE rating"


def _n(x: float) -> str:
    return f"{x:.1f}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def how_sure(pool_row: pd.Series | dict | None) -> dict[str, object]:
    """What limits confidence in one pool, from the pool's own columns (k, n_participants,
    high_rob, I2, ci_lb/ci_ub, pi_lb/pi_ub; no effect is 0, on the log scale for ratios).

    Returns ``level`` ('none', 'very low', 'low', 'moderate'), ``concerns`` (short phrases) and
    ``text`` (one sentence ending with :data:`HOW_SURE_NOTE`). A single trial is never called a pool.
    """
    if pool_row is None or not int(pool_row.get("k", 0) or 0):
        return {"level": "none", "concerns": [], "text": "No pooled comparison of trials for this selection."}
    k = int(pool_row["k"])
    concerns: list[str] = []
    if k == 1:
        concerns.append("a single trial, not a pool")
    elif k == 2:
        concerns.append("only 2 trials")
    n = float(pool_row.get("n_participants") or np.nan)
    if np.isnan(n):
        concerns.append("participant numbers not reported")
    elif n < OPTIMAL_INFORMATION_SIZE:
        concerns.append(f"{n:.0f} participants (fewer than {OPTIMAL_INFORMATION_SIZE})")
    high = int(pool_row.get("high_rob") or 0)
    if high:
        concerns.append(f"{plural(high, 'trial')} of {k} at high risk of bias")
    lb, ub = float(pool_row["ci_lb"]), float(pool_row["ci_ub"])
    if lb <= 0 <= ub:
        concerns.append("the 95% CI includes no difference")
    if k >= 3:
        i2 = float(pool_row.get("I2") or 0)
        pi_lb, pi_ub = float(pool_row.get("pi_lb", np.nan)), float(pool_row.get("pi_ub", np.nan))
        if i2 >= 50:
            concerns.append(f"inconsistent results (I² {i2:.0f}%)")
        elif not np.isnan(pi_lb) and pi_lb <= 0 <= pi_ub and not (lb <= 0 <= ub):
            concerns.append("the prediction interval for a new setting includes no difference")
    serious = len(concerns)
    level = "moderate" if serious == 0 else ("low" if serious == 1 else "very low")
    words = {"moderate": "fairly sure", "low": "somewhat unsure", "very low": "very unsure"}[level]
    because = f" ({'; '.join(concerns)})" if concerns else f" ({plural(k, 'trial')}, {n:.0f} participants)"
    return {"level": level, "concerns": concerns, "text": f"{words.capitalize()}{because}: {HOW_SURE_NOTE}."}


def describe_pool(row: pd.Series | dict, unit: str = "points on 0-10") -> str:
    """One sentence for one pooled comparison; a one-trial result is described as one trial.
    ``row`` is a pool's row, as a Series or a dict (the findings table passes its records as they
    are, without building a Series for each)."""
    k = int(row["k"])
    kind = KIND_WORDS.get(str(row["comparator_kind"]), str(row["comparator_kind"]))
    when = WINDOW_WORDS.get(str(row.get("window", "")), "")
    what = "one trial" if k == 1 else f"a pool of {k} trials"
    ratio = str(row.get("measure", "")) in ("RR", "OR")
    if ratio:
        name = "risk ratio" if row["measure"] == "RR" else "odds ratio"
        est = f"{name} {row['exp_estimate']:.2f} (95% CI {row['exp_ci_lb']:.2f} to {row['exp_ci_ub']:.2f})"
    else:
        est = f"{_n(row['estimate'])} {unit} (95% CI {_n(row['ci_lb'])} to {_n(row['ci_ub'])})"
    return f"Compared with {kind} {when}, {what}: {est}."


def therapy_summary(
    therapy: str,
    label: str,
    studies: pd.DataFrame,
    changes: pd.DataFrame,
    pooled: pd.DataFrame,
    harms: pd.DataFrame,
) -> str:
    """One paragraph (HTML-escaped text) for one therapy in the current selection."""
    st = studies[studies["therapy"] == therapy].drop_duplicates("study_id")
    if st.empty:
        return ""
    rcts = int((st["design"] == "rct").sum())
    n = pd.to_numeric(st["study_n"], errors="coerce")
    people = (
        f"{n.sum():.0f} participants" + ("" if n.notna().all() else " where reported")
        if n.notna().any()
        else "participant numbers not reported"
    )
    parts = [f"{label}: {plural(len(st), 'study', 'studies')} ({rcts} randomised), {people}."]
    ch = changes[changes["therapy"] == therapy]
    if not ch.empty:
        bits = []
        for window, words in WINDOW_WORDS.items():
            w = ch[ch["window"] == window]
            if len(w):
                g = w["series_id"].nunique()
                centre = f"{_n(-np.median(w['change']))} points" if g > 1 else f"{_n(-w['change'].iloc[0])} points"
                bits.append(f"{centre} {words} ({'median of ' + plural(g, 'group') if g > 1 else 'one group'})")
        if bits:
            parts.append(
                "In the treated groups, pain on a 0-10 scale fell by "
                + "; ".join(bits)
                + ". These are changes over time, which include natural recovery and placebo effects."
            )
        mic = MIC["pain"]
        lasting = [wd for wd in WINDOW_WORDS if len(ch[(ch["window"] == wd) & (ch["change"] <= -mic)])]
        if lasting:
            last = WINDOW_WORDS[lasting[-1]].replace("up to ", "").replace("in the first ", "the first ")
            parts.append(
                f"Falls of at least {mic:g} points (the minimal important change for a person, "
                f"{MIC_SOURCE}) were reported up to {last}."
            )
    else:
        parts.append("No pain scores on a common scale are available for its treated groups in this selection.")
    pt = pooled[pooled["therapy"] == therapy] if len(pooled) else pooled
    best = None
    if len(pt):
        best = pt.sort_values(["k", "n_participants"], ascending=False).iloc[0]
        parts.append(describe_pool(best))
    parts.append("How sure we are: " + str(how_sure(best)["text"]))
    hm = harms[harms["therapy"] == therapy] if len(harms) else harms
    if len(hm):
        listed = "; ".join(
            f"{r.event_type.replace('_', ' ')} {int(r.events)} of {int(r.total)}" for r in hm.itertuples(index=False)
        )
        parts.append(f"Harms reported: {listed}.")
    else:
        parts.append("No harms were counted per group in these studies' reports.")
    return html.escape(" ".join(parts))


def overall_summary(studies: pd.DataFrame, n_rows: int) -> str:
    if studies.empty:
        return "No study matches this selection."
    uniq = studies.drop_duplicates("study_id")
    rcts = int((uniq["design"] == "rct").sum())
    n = pd.to_numeric(uniq["study_n"], errors="coerce")
    people = f", {n.sum():.0f} participants where reported" if n.notna().any() else ""
    return html.escape(
        f"This selection holds {plural(len(uniq), 'study', 'studies')} "
        f"({plural(rcts, 'randomised trial')}{people}) and {plural(n_rows, 'data point')}."
    )
