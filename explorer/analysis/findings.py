"""A summary of findings: one row per therapy x comparator class x follow-up window x outcome.

What MAGICapp and Cochrane's summary-of-findings tables show, computed from the data package:
trials and participants, the pooled effect on a natural scale with its CI (and the prediction
interval from three trials on), the published review estimate for the same comparison where one
exists, how sure (:func:`explorer.analysis.certainty.how_sure`) and one plain sentence. Cells where
trials report only a p-value or a direction are kept, with the count of trials by direction (the
effect-direction summary of the Cochrane SWiM guidance, Campbell et al., BMJ 2020;368:l6890), so
that "reported without numbers" is never shown as "no evidence".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from explorer.analysis.certainty import how_sure
from explorer.analysis.comparability import comparator_class
from explorer.analysis.effects import effects, pool
from explorer.analysis.harmonise import OUTCOMES, SHORT_LABEL, outcome_unit
from explorer.analysis.summary import describe_pool
from explorer.analysis.windows import DEFAULT_WINDOWS, assign_windows, to_weeks
from explorer.data.load import Evidence

#: (outcome, measure) pairs the table reports, in display order.
FINDING_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("pain", "MD"),
    ("function", "MD"),
    ("responders", "RR"),
    ("surgery", "RR"),
)
OUTCOME_DOMAINS = {
    "pain": ("pain_leg", "pain_back", "pain_overall"),
    "function": ("function",),
    "responders": ("responders",),
    "surgery": ("surgery",),
}
KEYS = ["outcome", "therapy", "comparator_kind", "window"]
COLUMNS = [
    *KEYS,
    "measure",
    "responder_class",
    "k",
    "n_participants",
    "n_randomised",
    "estimate",
    "ci_lb",
    "ci_ub",
    "pi_lb",
    "pi_ub",
    "studies",
    "direction_arm",
    "direction_neither",
    "direction_comparator",
    "direction_studies",
    "review",
    "review_short",
    "how_sure",
    "how_sure_text",
    "sentence",
]
WINDOW_ORDER = {w.name: i for i, w in enumerate(DEFAULT_WINDOWS)}


def direction_counts(ev: Evidence, comparators: str = "cochrane") -> pd.DataFrame:
    """One vote per study and cell: the direction a trial reports (between-group p-values and
    ``favours``), oriented so that 'arm' means the intervention arm was favoured."""
    cols = [*KEYS, "study_id", "label", "favours"]
    o = ev.outcomes
    o = o[o["favours"].notna() & o["comparator_arm_id"].notna() & (o["time_value"] > 0)]
    domain_outcome = {d: k for k, doms in OUTCOME_DOMAINS.items() for d in doms}
    o = o.assign(outcome=o["domain"].map(domain_outcome)).dropna(subset=["outcome"])
    if o.empty:
        return pd.DataFrame(columns=cols)
    arms = ev.arms.assign(comparator_class=comparator_class(ev.arms, comparators))[
        ["study_id", "arm_id", "role", "therapy", "comparator_class"]
    ]
    d = o[["study_id", "arm_id", "comparator_arm_id", "outcome", "time_value", "time_unit", "favours"]]
    d = d.merge(arms.add_suffix("_a").rename(columns={"study_id_a": "study_id", "arm_id_a": "arm_id"}),
                on=["study_id", "arm_id"], how="left")  # fmt: skip
    d = d.merge(arms.add_suffix("_c").rename(columns={"study_id_c": "study_id", "arm_id_c": "comparator_arm_id"}),
                on=["study_id", "comparator_arm_id"], how="left")  # fmt: skip
    swap = (d["role_a"] != "intervention") & (d["role_c"] == "intervention")
    flip = {"arm": "comparator", "comparator": "arm", "neither": "neither"}
    d["favours"] = np.where(swap, d["favours"].map(flip), d["favours"])
    d["therapy"] = np.where(swap, d["therapy_c"], d["therapy_a"])
    d["comparator_kind"] = np.where(swap, d["comparator_class_a"], d["comparator_class_c"])
    d = d[(d["role_a"] == "intervention") | swap]
    d = d.assign(window=assign_windows(to_weeks(d["time_value"], d["time_unit"])))
    d = d[d["comparator_kind"].notna()]
    d["label"] = d["study_id"].map(ev.studies.set_index("study_id")["label"])
    d = d.drop_duplicates([*KEYS, "study_id", "favours"])
    # a study voting two ways in one cell (two outcomes of one domain) counts once, as 'neither'
    n = d.groupby([*KEYS, "study_id"])["favours"].transform("nunique")
    d = d.assign(favours=d["favours"].where(n == 1, "neither")).drop_duplicates([*KEYS, "study_id"])
    return d[cols].reset_index(drop=True)


def _reviews_by_comparison(ev: Evidence) -> dict[tuple[object, object], list]:
    """The review estimates (as named tuples, in file order) per (therapy, comparator class):
    every row of the table looks its comparison up here instead of filtering the whole frame
    again (that filtering was a fifth of the table's time)."""
    found: dict[tuple[object, object], list] = {}
    for r in ev.review_estimates.itertuples(index=False):
        found.setdefault((r.therapy, r.comparator_kind), []).append(r)
    return found


def _review_text(
    reviews: dict[tuple[object, object], list], therapy: str, kind: str, outcome: str, window: str, labels: pd.Series
) -> tuple[str, str]:
    """The published review estimates for one row: in full (comparison, scale, trials, the
    direction as the review states it) and short (review, measure, estimate, CI) for a table cell."""
    if kind not in ("placebo_sham", "conservative"):
        return "", ""  # an active class mixes different comparisons: reviews are listed on their own
    doms = OUTCOME_DOMAINS.get(outcome, ())
    cand = [r for r in reviews.get((therapy, kind), ()) if r.domain in doms]
    win = next((w for w in DEFAULT_WINDOWS if w.name == window), None)
    texts = []
    for r in cand:
        lo, hi = r.time_weeks_min, r.time_weeks_max
        if win is None or (pd.isna(lo) and pd.isna(hi)):
            continue  # a review whose window is not stated in weeks is listed with the reviews, not here
        lo = 0.0 if pd.isna(lo) else float(lo)
        hi = np.inf if pd.isna(hi) else float(hi)
        if hi < win.lower or lo > win.upper:
            continue
        ci = f" ({r.ci_lb_printed:g} to {r.ci_ub_printed:g})" if pd.notna(r.ci_lb_printed) else ""
        scale = f" on {r.scale_min:g}-{r.scale_max:g}" if pd.notna(r.scale_max) else ""
        k = f", {int(r.k_studies)} trial{'' if int(r.k_studies) == 1 else 's'}" if pd.notna(r.k_studies) else ""
        sign = re.search(r"[^.;]*favou?rs?[^.;]*", str(r.notes)) if isinstance(r.notes, str) else None
        direction = f"; {sign.group(0).strip()}" if sign else ""
        name = labels.get(r.study_id, r.study_id)
        texts.append(
            (
                f"{name} ({r.comparison}): {str(r.effect_measure).upper()} {r.estimate_printed:g}{ci}{scale}{k}{direction}",
                f"{name}: {str(r.effect_measure).upper()} {r.estimate_printed:g}{ci}",
            )
        )
    return "; ".join(t for t, _ in texts), "; ".join(dict.fromkeys(s for _, s in texts))


def _randomised(studies: object, randomised: pd.Series) -> float:
    """Participants randomised in the trials named in ``studies`` ('; '-separated labels), or NaN
    when any of them is unknown (a partial sum would read as the whole)."""
    if not isinstance(studies, str) or not studies:
        return np.nan
    n = np.array([randomised.get(label, np.nan) for label in studies.split("; ")], dtype=float)
    return float(n.sum()) if len(n) and not np.isnan(n).any() else np.nan


def findings(
    ev: Evidence,
    outcomes: Iterable[tuple[str, str]] = FINDING_OUTCOMES,
    studies: Iterable[str] | None = None,
    comparators: str = "cochrane",
    inferred_scales: bool = False,
    imputed_sd: bool = True,
    effect_frames: dict[tuple[str, str], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The summary-of-findings table (see the module docstring), restricted to ``studies`` when
    given (the dashboard's filtered selection). ``effect_frames`` may hold the effects already
    computed per (outcome, measure) with the same ``comparators``, to save recomputing them."""
    keep = None if studies is None else set(studies)
    parts = []
    for outcome, measure in outcomes:
        e = (effect_frames or {}).get((outcome, measure))
        if e is None:
            e = effects(ev, outcome, measure, comparators=comparators)
        if keep is not None:
            e = e[e["study_id"].isin(keep)]
        e = e[e["effect_kind"] == "contrast"]
        # the table shows estimates and intervals, never p-values: pooling without them keeps
        # scipy.special out of a dashboard kernel that shows only this table
        p = pool(
            e,
            by=["therapy", "window", "comparator_kind"],
            inferred_scales=inferred_scales,
            imputed_sd=imputed_sd,
            p_values=False,
        )
        if len(p):
            parts.append(p.assign(outcome=outcome))
    pooled = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*KEYS, "k"])
    votes = direction_counts(ev, comparators)
    if keep is not None:
        votes = votes[votes["study_id"].isin(keep)]
    cells = pooled[KEYS].drop_duplicates() if len(pooled) else pd.DataFrame(columns=KEYS)
    cells = pd.concat([cells, votes[KEYS]], ignore_index=True).drop_duplicates()
    table = cells.merge(pooled, on=KEYS, how="left") if len(pooled) else cells.assign(k=0)
    if "studies" not in table:  # no cell of this selection was pooled: every row is direction-only
        table = table.assign(studies=pd.Series(dtype=object, index=table.index))
    table = table[table["window"].astype(str) != ""]
    # direction-only trials: the votes of trials not already in the cell's pool, on the cell's first row
    dcols = ["direction_arm", "direction_neither", "direction_comparator"]
    if len(votes):
        inside = table[[*KEYS, "studies"]].dropna(subset=["studies"])
        inside = inside.assign(label=inside["studies"].astype(str).str.split("; ")).explode("label")
        v = votes.merge(inside[[*KEYS, "label"]].drop_duplicates().assign(_in=True), on=[*KEYS, "label"], how="left")
        v = v[v["_in"].isna()]
        counts = (
            v.pivot_table(index=KEYS, columns="favours", values="study_id", aggfunc="count", fill_value=0)
            .reindex(columns=["arm", "neither", "comparator"], fill_value=0)
            .add_prefix("direction_")
        )
        names = v.groupby(KEYS)["label"].agg(lambda x: "; ".join(sorted(set(map(str, x))))).rename("direction_studies")
        extra = counts.join(names).reset_index()
    else:
        extra = pd.DataFrame(columns=[*KEYS, *dcols, "direction_studies"])
    first = ~table.duplicated(KEYS)
    table = pd.concat(
        [table[first].merge(extra, on=KEYS, how="left"), table[~first]], ignore_index=True
    )
    for c in dcols:
        table[c] = table[c].fillna(0).astype(int)
    table["direction_studies"] = table["direction_studies"].fillna("")
    table = table[(table["k"].fillna(0) > 0) | (table[["direction_arm", "direction_neither", "direction_comparator"]].sum(axis=1) > 0)]
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    table["k"] = table["k"].fillna(0).astype(int)
    rows = []
    labels = ev.studies.set_index("study_id")["label"]
    randomised = pd.to_numeric(ev.studies.set_index("label")["n_randomised"], errors="coerce").astype(float)
    randomised = randomised[~randomised.index.duplicated(keep=False)]  # a label names one study
    reviews = _reviews_by_comparison(ev)
    for r in table.to_dict("records"):
        unit = outcome_unit(r["outcome"]) if r["outcome"] in OUTCOMES else ""
        sure = how_sure(r if r["k"] else None)
        if r["k"]:
            ratio = str(r.get("measure")) in ("RR", "OR")
            shown = {c: (r[f"exp_{c}"] if ratio else r[c]) for c in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")}
            sentence = describe_pool(r, unit)
        else:
            shown = dict.fromkeys(("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub"), np.nan)
            n = int(r["direction_arm"] + r["direction_neither"] + r["direction_comparator"])
            sentence = (
                f"No estimate to pool; {n} {'trial reports' if n == 1 else 'trials report'} a direction: "
                f"{r['direction_arm']} for the therapy, {r['direction_neither']} no difference, "
                f"{r['direction_comparator']} for the comparator."
            )
        rows.append(
            {
                **{k: r.get(k) for k in KEYS},
                "measure": r.get("measure", ""),
                "responder_class": r.get("responder_class", "") if isinstance(r.get("responder_class"), str) else "",
                "k": r["k"],
                "n_participants": r.get("n_participants", np.nan),
                # where the pooled rows print no arm sizes: the trials' randomised numbers, if all known
                "n_randomised": _randomised(r.get("studies"), randomised) if r["k"] else np.nan,
                **shown,
                "studies": r.get("studies", "") if isinstance(r.get("studies"), str) else "",
                "direction_arm": r["direction_arm"],
                "direction_neither": r["direction_neither"],
                "direction_comparator": r["direction_comparator"],
                "direction_studies": r.get("direction_studies", "") if isinstance(r.get("direction_studies"), str) else "",
                **dict(zip(("review", "review_short"), _review_text(reviews, r["therapy"], r["comparator_kind"], r["outcome"], r["window"], labels), strict=True)),
                "how_sure": sure["level"],
                "how_sure_text": sure["text"],
                "sentence": sentence,
            }
        )
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["_w"] = out["window"].map(WINDOW_ORDER).fillna(9)
    out["_o"] = out["outcome"].map({o: i for i, (o, _) in enumerate(FINDING_OUTCOMES)}).fillna(9)
    out["_c"] = out["comparator_kind"].map({"placebo_sham": 0, "conservative": 1, "active": 2}).fillna(3)
    out = out.sort_values(["therapy", "_c", "_o", "_w", "responder_class"], kind="stable")
    return out.drop(columns=["_w", "_o", "_c"]).reset_index(drop=True)


def outcome_label(outcome: str) -> str:
    return SHORT_LABEL.get(outcome, outcome.replace("_", " ").capitalize())
