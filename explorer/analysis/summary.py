"""Plain-language summaries of the current selection, written from the numbers.

Meant for patients and a room: short sentences, pain on a 0-10 scale, what the numbers can and
cannot say. The "how sure" wording is a rough guide from the amount of randomised evidence and
whether the interval excludes no effect; it is not a GRADE assessment.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from explorer.analysis.harmonise import MCID

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


def _n(x: float) -> str:
    return f"{x:.1f}"


def certainty(pool_row: pd.Series | None, rcts: int) -> str:
    if pool_row is None or rcts == 0:
        return "very uncertain: no pooled comparison of randomised trials for this selection"
    crosses = pool_row["ci_lb"] <= 0 <= pool_row["ci_ub"]
    if rcts >= 3 and not crosses:
        return "moderately sure that there is some effect (several randomised trials agree)"
    if crosses:
        return "unsure: the range of plausible results includes no difference"
    return "unsure: only one or two randomised trials"


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
    people = pd.to_numeric(st["study_n"], errors="coerce").fillna(0).sum()
    parts = [
        f"{label}: {len(st)} {'study' if len(st) == 1 else 'studies'} ({rcts} randomised), "
        f"{people:.0f} participants in the selection."
    ]
    ch = changes[changes["therapy"] == therapy]
    if not ch.empty:
        bits = []
        for window, words in WINDOW_WORDS.items():
            w = ch[ch["window"] == window]
            if len(w):
                g = w["series_id"].nunique()
                bits.append(
                    f"{_n(-np.median(w['change']))} points {words} ({g} {'group' if g == 1 else 'groups'})"
                )
        if bits:
            parts.append(
                "In the treated groups, pain on a 0-10 scale fell by a typical "
                + "; ".join(bits)
                + ". These are changes over time, which include natural recovery and placebo effects."
            )
        lasting = [
            wd for wd in WINDOW_WORDS if len(ch[(ch["window"] == wd) & (ch["change"] <= -MCID["pain"])])
        ]
        if lasting:
            parts.append(
                f"Improvements of at least {MCID['pain']:g} points (what most patients notice) were "
                f"reported up to {WINDOW_WORDS[lasting[-1]].replace('up to ', '').replace('in the first ', 'the first ')}."
            )
    else:
        parts.append(
            "No pain scores on a common scale are available for its treated groups in this selection."
        )
    pt = pooled[pooled["therapy"] == therapy] if len(pooled) else pooled
    best = None
    if len(pt):
        best = pt.sort_values("k", ascending=False).iloc[0]
        kind = KIND_WORDS.get(str(best["comparator_kind"]), str(best["comparator_kind"]))
        verdict = "more than" if best["estimate"] <= -MCID["pain"] else "less than"
        parts.append(
            f"Compared with {kind} {WINDOW_WORDS.get(str(best['window']), '')}, pain differed by "
            f"{_n(best['estimate'])} points (95% CI {_n(best['ci_lb'])} to {_n(best['ci_ub'])}; "
            f"{int(best['k'])} {'study' if best['k'] == 1 else 'studies'}), {verdict} the {MCID['pain']:g} points most "
            "patients notice."
        )
    parts.append("How sure we are: " + certainty(best, rcts) + ".")
    hm = harms[harms["therapy"] == therapy] if len(harms) else harms
    if len(hm):
        listed = "; ".join(
            f"{r.event_type.replace('_', ' ')} {int(r.events)} of {int(r.total)}"
            for r in hm.itertuples(index=False)
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
    people = pd.to_numeric(uniq["study_n"], errors="coerce").fillna(0).sum()
    return html.escape(
        f"This selection holds {len(uniq)} studies ({rcts} randomised trials, about {people:.0f} "
        f"participants) and {n_rows} data points."
    )
