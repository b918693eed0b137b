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

from collections.abc import Iterable

import numpy as np
import pandas as pd

from explorer.analysis.certainty import how_sure
from explorer.analysis.comparability import comparator_class
from explorer.analysis.effects import effects, pool
from explorer.analysis.harmonise import OUTCOMES, SHORT_LABEL, outcome_unit
from explorer.analysis.reviews import reviews as published_estimates
from explorer.analysis.summary import describe_pool
from explorer.analysis.synthesis import directions, vote_counts
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
#: a row: the coarse comparator class, the finer comparison and, for comparisons other than
#: placebo/sham and conservative care, the variant compared ("transforaminal vs caudal"): unlike
#: variants are never pooled or counted together
KEYS = ["outcome", "therapy", "comparator_kind", "comparison", "variant", "window"]
CLASS_KEYS = ["outcome", "therapy", "comparator_kind", "window"]
#: comparisons whose trials pool whatever the control (Cochrane classes); the others by variant
CLASS_COMPARISONS = ("placebo_sham", "conservative")
COLUMNS = [
    *KEYS,
    "comparison_detail",
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
    "direction_significant",
    "vote_trials",
    "vote_proportion",
    "vote_lb",
    "vote_ub",
    "sign_p",
    "stouffer_p",
    "stouffer_k",
    "vote_text",
    "review",
    "review_short",
    "published_k",
    "published_ids",
    "answer",
    "answer_basis",
    "how_sure",
    "how_sure_text",
    "sentence",
]
WINDOW_ORDER = {w.name: i for i, w in enumerate(DEFAULT_WINDOWS)}
#: the finer comparisons in display order (the review_estimates.comparison_class vocabulary)
COMPARISON_ORDER = (
    "placebo_sham", "conservative", "systemic_drug", "other_therapy", "approach", "agent", "dose", "guidance",
    "injections",
)  # fmt: skip


def direction_counts(ev: Evidence, comparators: str = "cochrane") -> pd.DataFrame:
    """One vote per study and cell: the direction a trial reports (between-group p-values and
    ``favours``), oriented so that 'arm' means the intervention arm was favoured."""
    cols = [*CLASS_KEYS, "study_id", "label", "favours"]
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
    d = d.drop_duplicates([*CLASS_KEYS, "study_id", "favours"])
    # a study voting two ways in one cell (two outcomes of one domain) counts once, as 'neither'
    n = d.groupby([*CLASS_KEYS, "study_id"])["favours"].transform("nunique")
    d = d.assign(favours=d["favours"].where(n == 1, "neither")).drop_duplicates([*CLASS_KEYS, "study_id"])
    return d[cols].reset_index(drop=True)


def _published_by_cell(ev: Evidence) -> dict[tuple[str, str, str, str, str], list[dict]]:
    """The comparative published estimates with an established sign, per (therapy, comparator
    class, comparison, findings outcome, window): a review's window spanning several of ours is listed in each.
    Estimates pooled across times, or without a stated window, are in the Reviews view only."""
    found: dict[tuple[str, str, str, str, str], list[dict]] = {}
    pub = published_estimates(ev, design_basis="comparative")
    pub = pub[pub["estimate"].notna() & pub["comparator_kind"].notna() & (pub["comparator_kind"].astype(str) != "")]
    pub = pub[pub["comparison_class"].notna() & (pub["comparison_class"].astype(str) != "")]
    pub = pub.assign(
        # a stated scale before one read by arithmetic, before none
        _natural=np.where(
            pub["unit"].astype(str).isin(["points on 0-10", "% of the scale"]) | pub["effect_measure"].isin(["rr", "or", "smd"]),
            2,
            np.where(pub["unit"].astype(str).str.startswith(("points on", "% of")), 1, 0),
        ),
        _ci=pub["shown_lb"].notna(),
        _k=pd.to_numeric(pub["k_studies"], errors="coerce").fillna(0),
    )
    # the most useful first: a natural scale, then a CI, then the most trials, then the most recent
    order = pub.sort_values(
        ["_natural", "_ci", "_k", "year", "review"], ascending=[False, False, False, False, True], kind="stable"
    )
    for r in order.to_dict("records"):
        for window in r["windows"]:
            found.setdefault((r["therapy"], r["comparator_kind"], r["comparison_class"], r["outcome"], window), []).append(r)
    return found


def _published_text(rows: list[dict], kind: str) -> tuple[str, str]:
    """Published estimates of one cell: in full (with the comparison where the class is active,
    and the outcome's domain) and short (the first two, for a table cell)."""
    full, short = [], []
    for r in rows:
        domain = {"pain_leg": "leg pain", "pain_back": "back pain", "pain_overall": "pain"}.get(r["domain"], "")
        what = f" [{domain}]" if domain else ""
        versus = f" ({r['comparison']})" if kind == "active" else ""
        full.append(f"{r['text']}{what}{versus}")
        short.append(f"{r['text'].split(';')[0]}{what}")
    return "; ".join(full), "; ".join(short[:2]) + (f"; +{len(short) - 2} more" if len(short) > 2 else "")


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
    # studies outside the written scope are context, never trials of a therapy (docs/sources.md)
    scope = ev.studies["scope"] if "scope" in ev.studies.columns else pd.Series("in", index=ev.studies.index)
    in_scope = set(ev.studies.loc[scope.fillna("in") != "out", "study_id"])
    keep = in_scope if studies is None else set(studies) & in_scope
    parts = []
    for outcome, measure in outcomes:
        e = (effect_frames or {}).get((outcome, measure))
        if e is None:
            e = effects(ev, outcome, measure, comparators=comparators)
        if keep is not None:
            e = e[e["study_id"].isin(keep)]
        e = e[e["effect_kind"] == "contrast"]
        e = e.assign(variant=_variant(e))
        # the table shows estimates and intervals, never p-values: pooling without them keeps
        # scipy.special out of a dashboard kernel that shows only this table
        p = pool(
            e,
            by=["therapy", "window", "comparator_kind", "comparison", "variant"],
            inferred_scales=inferred_scales,
            imputed_sd=imputed_sd,
            p_values=False,
        )
        if len(p):
            parts.append(p.assign(outcome=outcome))
    pooled = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*KEYS, "k"])
    # every trial of the selection by the direction of its point estimate (SWiM), and the vote
    # count with its uncertainty (explorer.analysis.synthesis)
    dirs = directions(ev, comparators, studies=keep, by_comparison=True, effect_frames=effect_frames)
    dirs = dirs[dirs["outcome"].isin([o for o, _ in outcomes])]
    dirs = dirs.assign(variant=_variant(dirs))
    # vote counts per comparison and variant (synthesis counts per comparison: the pair rides in it)
    votes = vote_counts(dirs.assign(comparison=dirs["comparison"].astype(str) + "\x1f" + dirs["variant"]), by_comparison=True)
    if len(votes):
        split = votes["comparison"].str.split("\x1f", n=1, expand=True)
        votes = votes.assign(comparison=split[0], variant=split[1])
    detail = (
        dirs.groupby(KEYS)["comparison_label"].agg(lambda x: "; ".join(sorted({str(v) for v in x if isinstance(v, str) and v})[:4]))
        if len(dirs)
        else pd.Series(dtype=object)
    )
    published = _published_by_cell(ev)
    cells = pooled[KEYS].drop_duplicates() if len(pooled) else pd.DataFrame(columns=KEYS)
    cells = pd.concat([cells, dirs[KEYS]], ignore_index=True).drop_duplicates()
    if keep is None or len(dirs) or len(pooled):
        # a comparison the selection's trials make, known only from published pools, still answers
        shown = set(cells["therapy"].astype(str)) if keep is not None else None
        extra = [
            {**dict(zip(("therapy", "comparator_kind", "comparison", "outcome", "window"), key, strict=True)), "variant": ""}
            for key in published
            if key[3] in {o for o, _ in outcomes} and (shown is None or key[0] in shown)
        ]
        if extra:
            cells = pd.concat([cells, pd.DataFrame(extra)[KEYS]], ignore_index=True).drop_duplicates()
    table = cells.merge(pooled, on=KEYS, how="left") if len(pooled) else cells.assign(k=0)
    if "studies" not in table:  # no cell of this selection was pooled
        table = table.assign(studies=pd.Series(dtype=object, index=table.index))
    table = table[table["window"].astype(str) != ""]
    # the effect-direction columns count the trials outside the cell's pool (the pool counts its own)
    dcols = ["direction_arm", "direction_neither", "direction_comparator"]
    if len(dirs):
        inside = table[[*KEYS, "studies"]].dropna(subset=["studies"])
        inside = inside.assign(label=inside["studies"].astype(str).str.split("; ")).explode("label")
        v = dirs.merge(inside[[*KEYS, "label"]].drop_duplicates().assign(_in=True), on=[*KEYS, "label"], how="left")
        v = v[v["_in"].isna()]
        counts = (
            v.pivot_table(index=KEYS, columns="direction", values="study_id", aggfunc="count", fill_value=0)
            .reindex(columns=["arm", "neither", "comparator"], fill_value=0)
            .add_prefix("direction_")
        )
        mark = {True: " (significant)", False: ""}
        names = v.assign(
            named=v["label"].astype(str) + v["significant"].map(lambda x: mark.get(bool(x), "") if pd.notna(x) else "")
        ).groupby(KEYS)["named"].agg(lambda x: "; ".join(sorted(set(map(str, x)))))
        sig = v[v["significant"].fillna(False).astype(bool)].groupby(KEYS)["study_id"].count().rename("direction_significant")
        extra_cols = counts.join(names.rename("direction_studies")).join(sig).reset_index()
    else:
        extra_cols = pd.DataFrame(columns=[*KEYS, *dcols, "direction_studies", "direction_significant"])
    first = ~table.duplicated(KEYS)
    table = pd.concat([table[first].merge(extra_cols, on=KEYS, how="left"), table[~first]], ignore_index=True)
    for c in [*dcols, "direction_significant"]:
        table[c] = table[c].fillna(0).astype(int)
    table["direction_studies"] = table["direction_studies"].fillna("")
    vote_by = {tuple(r[k] for k in KEYS): r for r in votes.to_dict("records")} if len(votes) else {}
    has_votes = np.array([tuple(r) in vote_by for r in table[KEYS].itertuples(index=False)], dtype=bool)
    has_pub = np.array(
        [
            r.variant == "" and (r.therapy, r.comparator_kind, r.comparison, r.outcome, r.window) in published
            for r in table[KEYS].itertuples(index=False)
        ],
        dtype=bool,
    )
    table = table[(table["k"].fillna(0) > 0) | has_votes | has_pub]
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    table["k"] = table["k"].fillna(0).astype(int)
    rows = []
    randomised = pd.to_numeric(ev.studies.set_index("label")["n_randomised"], errors="coerce").astype(float)
    randomised = randomised[~randomised.index.duplicated(keep=False)]  # a label names one study
    seen_cells: set[tuple] = set()
    for r in table.to_dict("records"):
        key = tuple(r[k] for k in KEYS)
        first_of_cell = key not in seen_cells
        seen_cells.add(key)
        unit = outcome_unit(r["outcome"]) if r["outcome"] in OUTCOMES else ""
        sure = how_sure(r if r["k"] else None)
        vote = vote_by.get(key) if first_of_cell else None
        pub = (
            published.get((r["therapy"], r["comparator_kind"], r["comparison"], r["outcome"], r["window"]), [])
            if first_of_cell and not r["variant"]
            else []
        )
        if r["k"]:
            ratio = str(r.get("measure")) in ("RR", "OR")
            shown = {c: (r[f"exp_{c}"] if ratio else r[c]) for c in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")}
            sentence = describe_pool(r, unit)
        else:
            shown = dict.fromkeys(("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub"), np.nan)
            sentence = vote_sentence(vote) if vote else "No trial of this selection reports this comparison here; published pools only."
        full, short = _published_text(pub, str(r["comparator_kind"]))
        answer, basis = _answer(r, shown, unit, pub, vote)
        rows.append(
            {
                **{k: r.get(k) for k in KEYS},
                "comparison_detail": r["variant"] or (detail.get(key, "") if len(detail) else ""),
                "measure": r.get("measure", "") if isinstance(r.get("measure"), str) else "",
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
                "direction_significant": r["direction_significant"],
                "vote_trials": vote["n_trials"] if vote else 0,
                "vote_proportion": vote["proportion"] if vote else np.nan,
                "vote_lb": vote["prop_lb"] if vote else np.nan,
                "vote_ub": vote["prop_ub"] if vote else np.nan,
                "sign_p": vote["sign_p"] if vote else np.nan,
                "stouffer_p": vote["stouffer_p"] if vote else np.nan,
                "stouffer_k": vote["stouffer_k"] if vote else 0,
                "vote_text": vote_sentence(vote) if vote else "",
                "review": full,
                "review_short": short,
                "published_k": len(pub),
                "published_ids": "; ".join(p["estimate_id"] for p in pub),
                "answer": answer,
                "answer_basis": basis,
                "how_sure": sure["level"],
                "how_sure_text": sure["text"],
                "sentence": sentence,
            }
        )
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["_w"] = out["window"].map(WINDOW_ORDER).fillna(9)
    out["_o"] = out["outcome"].map({o: i for i, (o, _) in enumerate(FINDING_OUTCOMES)}).fillna(9)
    out["_c"] = out["comparator_kind"].map({"placebo_sham": 0, "conservative": 1, "active": 2}).fillna(3)
    out["_c"] = out["_c"] * 20 + out["comparison"].map({c: i for i, c in enumerate(COMPARISON_ORDER)}).fillna(19)
    # therapies in the vocabulary's order (epidural steroids first: most trials, most questions)
    vocabulary = ev.package.resource("arms").field("therapy").enum or ()
    out["_t"] = out["therapy"].map({t: i for i, t in enumerate(vocabulary)}).fillna(len(vocabulary))
    out = out.sort_values(["_t", "_c", "_o", "_w", "responder_class"], kind="stable")
    return out.drop(columns=["_t", "_w", "_o", "_c"]).reset_index(drop=True)


def _variant(frame: pd.DataFrame) -> pd.Series:
    """The variant compared, for comparisons that pool by variant ('' for the Cochrane classes)."""
    if frame.empty:
        return pd.Series(dtype=object, index=frame.index)
    label = frame["comparison_label"].fillna("").astype(str) if "comparison_label" in frame else ""
    return pd.Series(np.where(frame["comparison"].isin(CLASS_COMPARISONS), "", label), index=frame.index, dtype=object)


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}".rstrip("0").rstrip(".") if p < 0.1 else f"p = {p:.2f}"


def _side(vote: dict) -> str:
    """Whom a vote for the intervention arm favours, in words: the therapy, or for two forms of
    one therapy the first-named form ('transforaminal' in 'transforaminal vs caudal')."""
    variant = str(vote.get("variant", "") or "")
    return f"the first-named ({variant.split(' vs ')[0]})" if variant else "the therapy"


def vote_sentence(vote: dict) -> str:
    """A vote count in words, with its uncertainty and what it answers (Handbook 12.2.2)."""
    fav, against, n = int(vote["n_favour"]), int(vote["n_against"]), int(vote["n_trials"])
    classifiable = fav + against
    trials = "trial" if n == 1 else "trials"
    if not classifiable:
        return f"{n} {trials}: no difference either way (estimates at no difference, or no difference reported)."
    text = f"{fav} of {classifiable} {'trials' if classifiable > 1 else 'trial'} with a direction favour{'s' if classifiable == 1 else ''} {_side(vote)}"
    if n > classifiable:
        text += f" ({n - classifiable} no difference)"
    text += f"; proportion {vote['proportion']:.2f} (95% CI {vote['prop_lb']:.2f} to {vote['prop_ub']:.2f}, Wilson)"
    text += f", sign test {_p(vote['sign_p'])}"
    if pd.notna(vote["stouffer_p"]):
        text += f"; combined one-sided {_p(vote['stouffer_p'])} (Stouffer, {int(vote['stouffer_k'])} trials)"
    return text + ". Says whether there is an effect in one direction, not how large."


def _number(v: float, ratio: bool) -> str:
    return (f"{v:.2f}" if ratio else f"{v:.1f}").replace("-", "−")


def _answer(r: dict, shown: dict, unit: str, pub: list[dict], vote: dict | None) -> tuple[str, str]:
    """The best answer the data hold for a row, in one line: our pool; else the published
    estimates of the comparison and window; else the vote count with its CI."""
    if r["k"]:
        ratio = str(r.get("measure")) in ("RR", "OR")
        name = f"{r.get('measure')} " if ratio else ""
        trials = "1 trial" if r["k"] == 1 else f"pool of {r['k']} trials"
        lead = f"{name}{_number(shown['estimate'], ratio)} ({_number(shown['ci_lb'], ratio)} to {_number(shown['ci_ub'], ratio)})"
        also = f"; published: {pub[0]['text']}" if pub else ""
        derived = int(r.get("n_derived_events") or 0) if pd.notna(r.get("n_derived_events")) else 0
        how = f" (counts derived from printed percentages in {derived} of {r['k']})" if derived else ""
        return f"{lead}{'' if ratio else ' ' + unit}, {trials}{how}{also}", "pool" if r["k"] > 1 else "one trial"
    if pub:
        more = f" (+{len(pub) - 1} more published)" if len(pub) > 1 else ""
        return f"Published: {pub[0]['text']}{more}", "published"
    if vote:
        fav, classifiable = int(vote["n_favour"]), int(vote["n_favour"] + vote["n_against"])
        if classifiable:
            return (
                f"{fav} of {classifiable} trial{'s' if classifiable > 1 else ''} favour{'s' if classifiable == 1 else ''} {_side(vote)} "
                f"(95% CI {vote['prop_lb']:.2f} to {vote['prop_ub']:.2f}; sign test {_p(vote['sign_p'])})",
                "vote count",
            )
        n = int(vote["n_trials"])
        return f"{n} trial{'s' if n != 1 else ''}: no difference either way", "vote count"
    return "", ""


def outcome_label(outcome: str) -> str:
    return SHORT_LABEL.get(outcome, outcome.replace("_", " ").capitalize())
