"""Published pooled estimates, harmonised, and how much the reviews behind them overlap.

Systematic reviews publish the numbers that answer "by how much, for how long" when the trials'
abstracts print only directions. The data package stores each estimate as printed and in the
project's convention (negative favours the therapy; ratios are therapy over comparator): this
module puts them on the explorer's natural scales and windows, so they can be set beside our
own pools, and counts how much the reviews of one comparison share their trials (the corrected
covered area of Pieper et al., J Clin Epidemiol 2014;67:368-375), so that five reviews of the
same eight trials never read as five confirmations.

Re-expression follows the Cochrane Handbook (section 15.5): a mean difference on a stated
0-100 pain scale becomes points on 0-10 (a change of units, nothing more); a function score
becomes % of its scale; a standardised mean difference keeps its units and gets its size in
words (15.5.3.1: about 0.2 small, 0.5 moderate, 0.8 large) and is re-expressed in points only
with a cited typical SD, of which the package holds none, so it never is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.analysis.windows import DEFAULT_WINDOWS
from explorer.data.load import Evidence

#: domain -> (findings outcome, the finer pain outcome of the filters)
DOMAIN_OUTCOME = {
    "pain_leg": ("pain", "leg_pain"),
    "pain_back": ("pain", "back_pain"),
    "pain_overall": ("pain", "pain"),
    "function": ("function", "function"),
    "quality_of_life": ("quality_of_life", "quality_of_life"),
    "responders": ("responders", "responders"),
    "surgery": ("surgery", "surgery"),
    "surgery_avoided": ("surgery_avoided", "surgery_avoided"),
    "global_rating": ("global_rating", "global_rating"),
}
#: the common scale's top per findings outcome (pain on 0-10, the rest on % of the scale)
COMMON_TOP = {"pain": 10.0, "function": 100.0, "quality_of_life": 100.0}
RATIOS = ("rr", "or")
#: event domains where more events is better (for the others, fewer is better)
BENEFICIAL = ("responders", "surgery_avoided", "global_rating")
#: Cochrane Handbook 15.5.3.1's rule of thumb for a standardised mean difference
SMD_SIZES = ((0.2, "trivial"), (0.5, "small"), (0.8, "moderate"), (np.inf, "large"))
COLUMNS = [
    "estimate_id",
    "review_id",
    "review",
    "year",
    "therapy",
    "comparison_class",
    "comparator_kind",
    "comparison",
    "indication",
    "domain",
    "outcome",
    "pain_outcome",
    "instrument",
    "timing",
    "time_basis",
    "time_weeks_min",
    "time_weeks_max",
    "windows",
    "design_basis",
    "effect_measure",
    "estimate_printed",
    "ci_lb_printed",
    "ci_ub_printed",
    "printed_convention",
    "convention_source",
    "estimate",
    "ci_lb",
    "ci_ub",
    "shown",
    "shown_lb",
    "shown_ub",
    "unit",
    "size",
    "favours",
    "k_studies",
    "n_participants",
    "i2",
    "model",
    "certainty",
    "source",
    "relay_source",
    "relay_url",
    "relay_conflict",
    "locator",
    "second_reading",
    "doi",
    "pmid",
    "text",
]


def windows_of(lo: float, hi: float) -> tuple[str, ...]:
    """The default follow-up windows a review's window [lo, hi] weeks overlaps (an open end is
    empty: NaN). A review's window that spans several of ours is listed in each."""
    lo = 0.0 if pd.isna(lo) else float(lo)
    hi = np.inf if pd.isna(hi) else float(hi)
    if hi <= 0:
        return ()
    out = []
    for w in DEFAULT_WINDOWS:
        # open intervals on both sides: a window ending where ours starts does not overlap it
        if (hi > w.lower and lo < w.upper) or (lo == hi and w.contains(np.array([lo]))[0]):
            out.append(w.name)
    return tuple(out)


def _size_words(smd: float) -> str:
    a = abs(smd)
    return next(word for bound, word in SMD_SIZES if a < bound)


def _favours(lb: float, ub: float, measure: str) -> str:
    """Which side the CI lies on: 'therapy', 'comparator' or 'neither' (it includes no effect).
    Normalised estimates: negative favours the therapy for differences; ratios are read by the
    caller's outcome (responders above 1 favour the therapy, surgery below 1)."""
    if pd.isna(lb) or pd.isna(ub):
        return ""
    null = 1.0 if measure in RATIOS else 0.0
    if ub < null:
        return "below"
    if lb > null:
        return "above"
    return "neither"


def _natural(row: dict) -> tuple[float, float, float, str, str]:
    """(estimate, lower, upper, unit, size words) on the explorer's natural scale."""
    est, lb, ub = row["estimate"], row["ci_lb"], row["ci_ub"]
    m = row["effect_measure"]
    if pd.isna(est):
        return np.nan, np.nan, np.nan, "", ""
    if m == "md":
        top = COMMON_TOP.get(row["outcome"])
        lo, hi = row["scale_min"], row["scale_max"]
        if top is not None and pd.notna(lo) and pd.notna(hi) and hi > lo:
            f = top / (hi - lo)
            unit = "points on 0-10" if top == 10.0 else "% of the scale"
            return est * f, lb * f, ub * f, unit, ""
        if top == 10.0 and max(abs(x) for x in (est, lb, ub) if pd.notna(x)) > 10:
            # the trials' rule (scales from arithmetic): a pain difference beyond 10 points
            # cannot be on 0-10, so the scale is 0-100
            return est / 10, lb / 10, ub / 10, "points on 0-10 (0-100 by arithmetic)", ""
        return est, lb, ub, "points (scale not stated)", ""
    if m == "smd":
        return est, lb, ub, "SMD", _size_words(est)
    if m in RATIOS:
        return est, lb, ub, m.upper(), ""
    if m == "rd":
        return est, lb, ub, "risk difference", ""
    return est, lb, ub, m, ""


def _number(x: float) -> str:
    """A number as the reader needs it: up to three significant figures, a true minus sign."""
    if pd.isna(x):
        return ""
    s = f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"
    s = s.rstrip("0").rstrip(".") if "." in s else s
    return s.replace("-", "−")


def describe(row: dict) -> str:
    """One line a clinician reads: review, estimate in the natural scale, CI, k, n."""
    if pd.isna(row["shown"]):
        printed = _number(row["estimate_printed"])
        return f"{row['review']}: {row['effect_measure'].upper()} {printed} as printed (direction not established)"
    ci = f" ({_number(row['shown_lb'])} to {_number(row['shown_ub'])})" if pd.notna(row["shown_lb"]) else ""
    size = f", {row['size']}" if row["size"] else ""
    unit = row["unit"]
    lead = f"{_number(row['shown'])}{ci} {unit}" if unit.startswith(("points", "%")) else f"{unit} {_number(row['shown'])}{ci}"
    if row["effect_measure"] == "proportion":
        lead = f"{_number(row['estimate_printed'])}{'%' if row['estimate_printed'] > 1 else ''} of participants (before/after)"
    counts = []
    if pd.notna(row["k_studies"]):
        k = int(row["k_studies"])
        counts.append(f"{k} trial{'s' if k != 1 else ''}")
    if pd.notna(row["n_participants"]):
        counts.append(f"{int(row['n_participants']):,} participants")
    tail = f"; {', '.join(counts)}" if counts else ""
    relay = " (as relayed)" if row["source"] == "relay" else ""
    side = {
        "therapy": ", favours the therapy",
        "comparator": ", favours the comparator",
        "neither": ", CI includes no difference",
        "improved": ", improvement",
        "worsened": ", worsening",
    }.get(row.get("favours", ""), "")
    return f"{row['review']}{relay}: {lead}{size}{side}{tail}"


def reviews(
    ev: Evidence,
    therapy: str | None = None,
    comparison_class: str | None = None,
    outcome: str | None = None,
    window: str | None = None,
    design_basis: str | None = None,
) -> pd.DataFrame:
    """The harmonised table of published pooled estimates (one row per estimate), filtered by
    any of the arguments; ``outcome`` is a findings outcome (pain, function, responders, ...) or
    a finer pain outcome (leg_pain, back_pain). Columns: see :data:`COLUMNS`; ``shown`` and its
    bounds are on the natural scale (``unit``), ``favours`` says which side of no effect the CI
    lies ('therapy', 'comparator', 'neither', or '' when not established)."""
    re_ = ev.review_estimates
    if re_.empty:
        return pd.DataFrame(columns=COLUMNS)
    studies = ev.studies.set_index("study_id")
    rows = []
    for r in re_.to_dict("records"):
        outcome_, pain_outcome = DOMAIN_OUTCOME.get(r["domain"], (r["domain"], r["domain"]))
        r = {**r, "outcome": outcome_, "pain_outcome": pain_outcome}
        shown, lb, ub, unit, size = _natural(r)
        side = _favours(r["ci_lb"], r["ci_ub"], r["effect_measure"])
        if side in ("above", "below"):
            good_high = r["effect_measure"] in (*RATIOS, "rd") and r["domain"] in BENEFICIAL
            side = "therapy" if (side == "above") == good_high else "comparator"
        if r["design_basis"] == "single_arm" and side in ("therapy", "comparator"):
            side = "improved" if side == "therapy" else "worsened"
        sid = r["study_id"]
        label = studies["label"].get(sid, sid) if "label" in studies else sid
        rows.append(
            {
                **r,
                "review_id": sid,
                "review": label,
                "year": studies["year"].get(sid, np.nan),
                "windows": windows_of(r["time_weeks_min"], r["time_weeks_max"]) if r["time_basis"] == "window" else (),
                "shown": shown,
                "shown_lb": lb,
                "shown_ub": ub,
                "unit": unit,
                "size": size,
                "favours": side,
                "doi": studies["doi"].get(sid, ""),
                "pmid": studies["pmid"].get(sid, ""),
            }
        )
    out = pd.DataFrame(rows)
    out["text"] = [describe(r) for r in out.to_dict("records")]
    out = out.reindex(columns=COLUMNS)
    keep = pd.Series(True, index=out.index)
    if therapy is not None:
        keep &= out["therapy"] == therapy
    if comparison_class is not None:
        keep &= out["comparison_class"] == comparison_class
    if outcome is not None:
        keep &= (out["outcome"] == outcome) | (out["pain_outcome"] == outcome)
    if window is not None:
        keep &= out["windows"].map(lambda ws: window in ws)
    if design_basis is not None:
        keep &= out["design_basis"] == design_basis
    return out[keep].reset_index(drop=True)


def overlap(ev: Evidence) -> pd.DataFrame:
    """Per comparison (therapy x comparison class): the reviews that publish a comparative
    estimate of it and list their included trials, the trials they include (N, with repeats)
    and the unique ones (r), and the corrected covered area CCA = (N - r) / (r c - r) (Pieper
    2014: 0-5 slight, 6-10 moderate, 11-15 high, over 15 very high overlap), with the unique
    trials that are in our data. Comparisons with one listing review have no CCA (NaN)."""
    cols = ["therapy", "comparison_class", "reviews", "c", "N", "r", "cca", "overlap", "trials", "in_data"]
    est = ev.review_estimates
    inc = ev.review_includes
    if est.empty or inc.empty:
        return pd.DataFrame(columns=cols)
    est = est[est["design_basis"] == "comparative"]
    listed = inc.groupby("study_id")["trial_key"].agg(lambda s: sorted(set(s)))
    rows = []
    for (therapy, cls), g in est.groupby(["therapy", "comparison_class"], sort=True):
        revs = [r for r in sorted(set(g["study_id"])) if r in listed.index]
        if not revs:
            continue
        lists = [listed[r] for r in revs]
        n_total = sum(len(x) for x in lists)
        unique = sorted(set().union(*lists))
        c, r = len(revs), len(unique)
        cca = (n_total - r) / (r * c - r) * 100 if c > 1 and r > 0 else np.nan
        in_data = inc[inc["trial_key"].isin(unique) & inc["included_study_id"].notna()]["included_study_id"]
        rows.append(
            {
                "therapy": therapy,
                "comparison_class": cls,
                "reviews": "; ".join(revs),
                "c": c,
                "N": n_total,
                "r": r,
                "cca": cca,
                "overlap": _overlap_words(cca),
                "trials": "; ".join(unique),
                "in_data": "; ".join(sorted(set(in_data))),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _overlap_words(cca: float) -> str:
    if pd.isna(cca):
        return ""
    for bound, word in ((5, "slight"), (10, "moderate"), (15, "high")):
        if cca <= bound:
            return word
    return "very high"
