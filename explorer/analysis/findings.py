"""A summary of findings: one row per therapy x comparator class x follow-up window x outcome.

What MAGICapp and Cochrane's summary-of-findings tables show, computed from the data package:
trials and participants, the pooled effect on a natural scale with its CI (and the prediction
interval from three trials on), the published review estimate for the same comparison where one
exists, how sure (:func:`explorer.analysis.summary.how_sure`) and one plain sentence. Cells where
trials report only a p-value or a direction are kept, with the count of trials by direction (the
effect-direction summary of the Cochrane SWiM guidance, Campbell et al., BMJ 2020;368:l6890), so
that "reported without numbers" is never shown as "no evidence".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from explorer.analysis.comparability import comparator_class
from explorer.analysis.effects import effects, pool
from explorer.analysis.harmonise import OUTCOMES, SHORT_LABEL, outcome_unit
from explorer.analysis.summary import describe_pool, how_sure
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
    "how_sure",
    "how_sure_text",
    "sentence",
]
WINDOW_ORDER = {w.name: i for i, w in enumerate(DEFAULT_WINDOWS)}


def direction_counts(ev: Evidence, comparators: str = "cochrane") -> pd.DataFrame:
    """One vote per study and cell: the direction a trial reports (between-group p-values and
    ``favours``), oriented so that 'arm' means the intervention arm was favoured."""
    o = ev.outcomes
    o = o[o["favours"].notna() & o["comparator_arm_id"].notna() & (o["time_value"] > 0)]
    if o.empty:
        return pd.DataFrame(columns=[*KEYS, "study_id", "label", "favours"])
    arms = ev.arms.assign(comparator_class=comparator_class(ev.arms, comparators))
    role = arms.set_index(["study_id", "arm_id"])["role"].to_dict()
    info = arms.set_index(["study_id", "arm_id"])[["therapy", "comparator_class"]]
    rows = []
    for r in o.itertuples(index=False):
        a, c = (r.study_id, r.arm_id), (r.study_id, r.comparator_arm_id)
        fav = r.favours
        if role.get(a) != "intervention" and role.get(c) == "intervention":
            a, c = c, a
            fav = {"arm": "comparator", "comparator": "arm"}.get(fav, fav)
        if role.get(a) != "intervention" or c not in info.index:
            continue
        outcome = next((k for k, doms in OUTCOME_DOMAINS.items() if r.domain in doms), None)
        if outcome is None:
            continue
        weeks = to_weeks(np.array([r.time_value]), np.array([r.time_unit]))
        rows.append(
            {
                "outcome": outcome,
                "therapy": info.at[a, "therapy"],
                "comparator_kind": info.at[c, "comparator_class"],
                "window": str(assign_windows(weeks)[0]),
                "study_id": r.study_id,
                "label": ev.studies.set_index("study_id").at[r.study_id, "label"],
                "favours": fav,
            }
        )
    if not rows:
        return pd.DataFrame(columns=[*KEYS, "study_id", "label", "favours"])
    d = pd.DataFrame(rows).drop_duplicates([*KEYS, "study_id", "favours"])
    # a study voting two ways in one cell (two outcomes of one domain) counts once, as 'neither'
    votes = d.groupby([*KEYS, "study_id", "label"])["favours"].agg(lambda s: s.iloc[0] if s.nunique() == 1 else "neither")
    return votes.reset_index()


def _review_text(ev: Evidence, therapy: str, kind: str, outcome: str, window: str) -> str:
    re_ = ev.review_estimates
    if re_.empty:
        return ""
    if kind not in ("placebo_sham", "conservative"):
        return ""  # an active class mixes different comparisons: reviews are listed on their own
    doms = OUTCOME_DOMAINS.get(outcome, ())
    cand = re_[(re_["therapy"] == therapy) & (re_["comparator_kind"] == kind) & re_["domain"].isin(doms)]
    win = next((w for w in DEFAULT_WINDOWS if w.name == window), None)
    texts = []
    labels = ev.studies.set_index("study_id")["label"]
    for r in cand.itertuples(index=False):
        lo, hi = r.time_weeks_min, r.time_weeks_max
        if win is None or (pd.isna(lo) and pd.isna(hi)):
            continue  # a review whose window is not stated in weeks is listed with the reviews, not here
        lo = 0.0 if pd.isna(lo) else float(lo)
        hi = np.inf if pd.isna(hi) else float(hi)
        if hi < win.lower or lo > win.upper:
            continue
        ci = f" ({r.ci_lb:g} to {r.ci_ub:g})" if pd.notna(r.ci_lb) else ""
        scale = f" on {r.scale}" if isinstance(r.scale, str) and r.scale else ""
        k = f", {int(r.k_studies)} trials" if pd.notna(r.k_studies) else ""
        sign = re.search(r"[^.;]*favou?rs?[^.;]*", str(r.notes)) if isinstance(r.notes, str) else None
        direction = f"; {sign.group(0).strip()}" if sign else ""
        texts.append(
            f"{labels.get(r.study_id, r.study_id)} ({r.comparison}): {str(r.effect_measure).upper()} "
            f"{r.estimate:g}{ci}{scale}{k}{direction}"
        )
    return "; ".join(texts)


def findings(
    ev: Evidence,
    outcomes: Iterable[tuple[str, str]] = FINDING_OUTCOMES,
    studies: Iterable[str] | None = None,
    comparators: str = "cochrane",
    inferred_scales: bool = False,
    imputed_sd: bool = True,
) -> pd.DataFrame:
    """The summary-of-findings table (see the module docstring), restricted to ``studies`` when
    given (the dashboard's filtered selection). Rows with a pool come first, most trials first."""
    keep = None if studies is None else set(studies)
    parts = []
    for outcome, measure in outcomes:
        e = effects(ev, outcome, measure, comparators=comparators)
        if keep is not None:
            e = e[e["study_id"].isin(keep)]
        e = e[e["effect_kind"] == "contrast"]
        p = pool(e, by=["therapy", "window", "comparator_kind"], inferred_scales=inferred_scales, imputed_sd=imputed_sd)
        if len(p):
            parts.append(p.assign(outcome=outcome))
    pooled = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*KEYS, "k"])
    votes = direction_counts(ev, comparators)
    if keep is not None:
        votes = votes[votes["study_id"].isin(keep)]
    cells = pooled[KEYS].drop_duplicates() if len(pooled) else pd.DataFrame(columns=KEYS)
    cells = pd.concat([cells, votes[KEYS]], ignore_index=True).drop_duplicates()
    table = cells.merge(pooled, on=KEYS, how="left") if len(pooled) else cells.assign(k=0)
    table = table[table["window"].astype(str) != ""]
    # direction-only trials: the votes of trials not already in the cell's pool, on the cell's first row
    pooled_labels = table.groupby(KEYS)["studies"].agg(lambda s: {x for v in s.dropna() for x in str(v).split("; ")})
    first = ~table.duplicated(KEYS)
    for c in ("direction_arm", "direction_neither", "direction_comparator"):
        table[c] = 0
    table["direction_studies"] = ""
    if len(votes):
        for key, g in votes.groupby(KEYS):
            inside = pooled_labels.get(key, set())
            g = g[~g["label"].isin(inside)]
            if g.empty:
                continue
            where = first & (table[KEYS] == pd.Series(key, index=KEYS)).all(axis=1)
            counts = g["favours"].value_counts()
            for fav in ("arm", "neither", "comparator"):
                table.loc[where, f"direction_{fav}"] = int(counts.get(fav, 0))
            table.loc[where, "direction_studies"] = "; ".join(sorted(set(map(str, g["label"]))))
    table = table[(table["k"].fillna(0) > 0) | (table[["direction_arm", "direction_neither", "direction_comparator"]].sum(axis=1) > 0)]
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    table["k"] = table["k"].fillna(0).astype(int)
    rows = []
    for r in table.to_dict("records"):
        unit = outcome_unit(r["outcome"]) if r["outcome"] in OUTCOMES else ""
        sure = how_sure(r if r["k"] else None)
        if r["k"]:
            ratio = str(r.get("measure")) in ("RR", "OR")
            shown = {c: (r[f"exp_{c}"] if ratio else r[c]) for c in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")}
            sentence = describe_pool(pd.Series(r), unit)
        else:
            shown = dict.fromkeys(("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub"), np.nan)
            n = int(r["direction_arm"] + r["direction_neither"] + r["direction_comparator"])
            sentence = (
                f"{n} {'trial reports' if n == 1 else 'trials report'} only a direction or a p-value: "
                f"{r['direction_arm']} favouring the therapy, {r['direction_neither']} no difference, "
                f"{r['direction_comparator']} favouring the comparator (no estimate to pool)."
            )
        rows.append(
            {
                **{k: r.get(k) for k in KEYS},
                "measure": r.get("measure", ""),
                "responder_class": r.get("responder_class", "") if isinstance(r.get("responder_class"), str) else "",
                "k": r["k"],
                "n_participants": r.get("n_participants", np.nan),
                **shown,
                "studies": r.get("studies", "") if isinstance(r.get("studies"), str) else "",
                "direction_arm": r["direction_arm"],
                "direction_neither": r["direction_neither"],
                "direction_comparator": r["direction_comparator"],
                "direction_studies": r.get("direction_studies", "") if isinstance(r.get("direction_studies"), str) else "",
                "review": _review_text(ev, r["therapy"], r["comparator_kind"], r["outcome"], r["window"]),
                "how_sure": sure["level"],
                "how_sure_text": sure["text"],
                "sentence": sentence,
            }
        )
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["_w"] = out["window"].map(WINDOW_ORDER).fillna(9)
    out["_o"] = out["outcome"].map({o: i for i, (o, _) in enumerate(FINDING_OUTCOMES)}).fillna(9)
    out = out.sort_values(["therapy", "comparator_kind", "_o", "_w", "responder_class"], kind="stable")
    return out.drop(columns=["_w", "_o"]).reset_index(drop=True)


def outcome_label(outcome: str) -> str:
    return SHORT_LABEL.get(outcome, outcome.replace("_", " ").capitalize())
