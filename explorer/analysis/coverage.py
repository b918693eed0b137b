"""What the evidence base holds: counts per therapy family, design, outcome domain and window.

The figures an analyst (or a release note) needs to say how complete the data are, computed from
the tables themselves so they never drift from the data.
"""

from __future__ import annotations

import pandas as pd

from explorer.analysis import comparability as rules
from explorer.analysis.windows import assign_windows, to_weeks
from explorer.data.load import Evidence

#: therapy codes that are intervention families (comparator-only codes are not counted as families)
FAMILIES = (
    "epidural_steroid",
    "nerve_root_block",
    "facet_intraarticular",
    "medial_branch_block",
    "sacroiliac",
    "prp",
    "msc",
    "bmc",
)


def by_family(ev: Evidence) -> pd.DataFrame:
    """Per therapy family (an intervention arm's therapy) and approach: studies, RCTs, arms."""
    arms = ev.arms[(ev.arms["role"] != "comparator") & ev.arms["therapy"].isin(FAMILIES)]
    arms = arms.merge(ev.studies[["study_id", "design"]], on="study_id", how="left")
    numbered = set(ev.outcomes["study_id"])
    arms = arms.assign(
        rct=arms["study_id"].where(arms["design"] == "rct"),
        rct_numbers=arms["study_id"].where((arms["design"] == "rct") & arms["study_id"].isin(numbered)),
    )
    agg = dict(
        studies=("study_id", "nunique"),
        rcts=("rct", "nunique"),
        rcts_with_numbers=("rct_numbers", "nunique"),
        arms=("arm_id", "size"),
    )
    out = arms.groupby(["therapy", "approach"], sort=True).agg(**agg)
    totals = arms.groupby("therapy").agg(**agg)
    totals.index = pd.MultiIndex.from_arrays(
        [totals.index, ["(all)"] * len(totals)], names=["therapy", "approach"]
    )
    return pd.concat([out, totals]).sort_index().reset_index()


def by_design(ev: Evidence) -> pd.DataFrame:
    """Publications per design, with how many carry outcome and adverse-event rows."""
    s = ev.studies
    with_outcomes = set(ev.outcomes["study_id"])
    with_harms = set(ev.adverse_events["study_id"])
    return (
        s.assign(
            with_outcomes=s["study_id"].isin(with_outcomes),
            with_adverse_events=s["study_id"].isin(with_harms),
        )
        .groupby("design")
        .agg(
            publications=("study_id", "size"),
            with_outcomes=("with_outcomes", "sum"),
            with_adverse_events=("with_adverse_events", "sum"),
        )
        .reset_index()
    )


def by_domain_and_window(ev: Evidence) -> pd.DataFrame:
    """Outcome rows per domain x follow-up window (baseline rows in their own column)."""
    o = ev.outcomes
    weeks = to_weeks(o["time_value"], o["time_unit"])
    window = pd.Series(assign_windows(weeks), index=o.index).replace("", "baseline")
    table = pd.crosstab(o["domain"], window)
    table = table.reindex(columns=["baseline", "immediate", "short", "intermediate", "long"], fill_value=0)
    table["total"] = table.sum(axis=1)
    return table.reset_index()


def by_event_type(ev: Evidence) -> pd.DataFrame:
    """Adverse-event rows and studies per event type."""
    ae = ev.adverse_events
    return (
        ae.groupby("event_type").agg(rows=("ae_id", "size"), studies=("study_id", "nunique")).reset_index()
        if len(ae)
        else pd.DataFrame(columns=["event_type", "rows", "studies"])
    )


def headline(ev: Evidence) -> pd.DataFrame:
    """The evidence base's headline counts: randomised trials, those carrying at least one outcome
    number (an estimate, a count or a between-group p-value), and published pooled estimates."""
    s = ev.studies
    rcts = s[s["design"] == "rct"]
    numbered = rcts["study_id"].isin(set(ev.outcomes["study_id"]))
    re_ = ev.review_estimates
    rows = [
        ("randomised trials", len(rcts)),
        ("randomised trials with an outcome number", int(numbered.sum())),
        ("outcome rows", len(ev.outcomes)),
        ("published pooled estimates", len(re_)),
        ("systematic reviews giving them", int(re_["study_id"].nunique()) if len(re_) else 0),
        ("searches logged", len(ev.searches)),
        ("records screened", len(ev.screening)),
    ]
    return pd.DataFrame(rows, columns=["count", "value"])


#: Exclusion reasons as screeners wrote them, grouped by the first keyword that matches.
EXCLUSION_GROUPS = (
    ("no DOI or PMID seen in stored text", ("identifier", "doi", "pmid")),
    ("authors not shown in stored text", ("author",)),
    ("not randomised", ("randomi", "retrospective", "observational", "case series", "single-arm", "cohort")),
    ("no results in stored text", ("number", "result", "cut off", "truncat", "no outcome")),
    ("review, protocol, registry or conference record", ("review", "protocol", "registry", "conference", "meta-analysis")),
    ("outside scope (site, therapy or population)", ("scope", "cervical", "thoracic", "not a", "not an", "neck", "knee")),
)


def _exclusion_group(reasons: pd.Series) -> pd.Series:
    grouped = pd.Series("other", index=reasons.index)
    for label, words in reversed(EXCLUSION_GROUPS):
        hit = reasons.apply(lambda r, words=words: any(w in r for w in words))
        grouped[hit.to_numpy()] = label
    return grouped


def search_flow(ev: Evidence) -> pd.DataFrame:
    """A PRISMA-style flow from the search log (searches.csv, screening.csv): searches by kind
    (topic searches apart from look-ups of a paper already named), the hits they returned (a
    fixed top-k per search from stored page copies, not de-duplicated records), and the
    screening decisions, with exclusions split by ``exclusion_kind`` (eligibility: outside the
    scope or design; copy: the stored copy lacked what was needed). Rows without an
    exclusion_kind fall back to keyword groups of the reason (:data:`EXCLUSION_GROUPS`)."""
    se, sc = ev.searches, ev.screening
    if sc.empty:
        return pd.DataFrame(columns=["step", "records"])
    kind = _text(se["kind"]) if "kind" in se else pd.Series("", index=se.index)
    tools = _text(se["tool"]).value_counts() if "tool" in se else pd.Series(dtype=int)
    excluded = sc[sc["decision"] == "excluded"]
    ek = _text(excluded["exclusion_kind"]) if "exclusion_kind" in excluded else pd.Series("", index=excluded.index)
    seen = pd.to_numeric(se["records_seen"], errors="coerce")
    new = pd.to_numeric(se["records_new"], errors="coerce") if "records_new" in se else pd.Series(dtype=float)
    rows = [
        ("searches run", len(se)),
        ("  topic searches (a therapy, comparator or design)", int((kind == "topic").sum())),
        ("  known-item look-ups (a paper already named)", int((kind == "known_item").sum())),
        *((f"  tool: {name}", int(n)) for name, n in tools.items()),
        ("hits returned (a fixed top-k per search, counted per search, not unique records)", int(seen.sum())),
        ("searches that found nothing new", int((new.fillna(0) == 0).sum())),
        ("candidate publications screened (one row per record and batch)", len(sc)),
        ("  already in the data, or screened again in another batch (duplicate)", int((sc["decision"] == "duplicate").sum())),
        ("  excluded", len(excluded)),
        ("    excluded for eligibility (outside the scope or design)", int((ek == "eligibility").sum())),
        ("    excluded for the copy (the stored copy lacked the reference, numbers or design)", int((ek == "copy").sum())),
    ]
    rest = excluded[ek == ""]
    if len(rest):
        grouped = _exclusion_group(rest["reason"].fillna("").str.lower())
        rows += [(f"    excluded, not labelled: {label}", int((grouped == label).sum())) for label in [g for g, _ in EXCLUSION_GROUPS] + ["other"]]
    rows.append(("  included (new publications, or existing ones re-read)", int((sc["decision"] == "included").sum())))
    return pd.DataFrame(rows, columns=["step", "records"])

# --------------------------------------------------------------------------- strict counts

#: A scope injection coded ``therapy='other'`` that still belongs to a family in the strict counts.
DERIVED_FAMILIES = {("intradiscal", "corticosteroid"): "intradiscal_steroid"}


def _flag(col: pd.Series) -> pd.Series:
    return _text(col).str.lower().isin(["true", "1", "yes"])


def _text(col: pd.Series) -> pd.Series:
    return col.astype(object).where(col.notna(), "").astype(str).str.strip()


def arm_family(arms: pd.DataFrame) -> pd.Series:
    """The therapy family of each arm: its therapy when that is a family (:data:`FAMILIES`), a
    derived family for a scope injection coded 'other' (intradiscal corticosteroid), else ''."""
    fam = arms["therapy"].where(arms["therapy"].isin(FAMILIES), "")
    derived = [DERIVED_FAMILIES.get((a, c), "") for a, c in zip(arms["approach"], arms["agent_class"], strict=True)]
    return fam.where(fam != "", pd.Series(derived, index=arms.index, dtype=object)).fillna("")


def _has_point_estimate(o: pd.DataFrame) -> pd.Series:
    """An outcome row with a number of its own after baseline: a mean (or a mean difference), a
    median, events of a total, or a percentage. A p-value or a direction alone is not one, nor
    is a baseline value (time 0)."""
    filled = {c: _text(o[c]) != "" for c in ("mean", "median", "events", "total", "percent")}
    after = pd.to_numeric(o["time_value"], errors="coerce").fillna(0) > 0
    number = filled["mean"] | filled["median"] | (filled["events"] & filled["total"]) | filled["percent"]
    return number & after


def _poolable_studies(ev: Evidence) -> set[str]:
    """Studies with at least one between-group effect that :func:`explain` marks as entering a
    pool under the default rules, for any outcome and measure family (MD or SMD for continuous
    outcomes; RR for binary ones, whose rules OR and RD share). A merged multi-arm comparison
    counts for its study. Within-arm changes (single arms) are not between-group effects."""
    from explorer.analysis.effects import BINARY_OUTCOMES, effects, explain
    from explorer.analysis.harmonise import OUTCOMES

    found: set[str] = set()
    runs = [(o, m) for o in OUTCOMES for m in ("MD", "SMD")] + [(o, "RR") for o in BINARY_OUTCOMES]
    for outcome, measure in runs:
        eff = effects(ev, outcome, measure)
        if eff.empty:
            continue
        ex = explain(eff)
        ok = (ex["status"] == "pooled") & (ex["effect_kind"] == "contrast")
        found |= set(ex.loc[ok, "study_id"])
    return found


def strict_rcts(ev: Evidence) -> pd.DataFrame:
    """Every randomised trial with whether it is counted, and if not why; for counted ones, what
    its data hold. Counted: design rct, in scope, design confirmed by the source (design_source),
    the first report of its cohort (parent_id empty) and not a feasibility pilot without outcome
    rows. A later report's rows count for its cohort's first report.

    Columns: study_id, counted, reason (why not counted), families, comparisons (family x
    comparator class), point_estimate, poolable, direction_only, no_outcomes.
    """
    s = ev.studies
    rct = s[s["design"] == "rct"].copy()
    root = dict(zip(s["study_id"], rules.cohort_roots(s), strict=True))
    o = ev.outcomes.assign(cohort=ev.outcomes["study_id"].map(root))
    with_rows = set(o["cohort"])
    with_number = set(o.loc[_has_point_estimate(o), "cohort"])
    with_test = set(o.loc[(_text(o["favours"]) != "") | (_text(o["p_value"]) != ""), "cohort"])
    poolable = {root.get(sid, sid) for sid in _poolable_studies(ev)}

    scope = _text(rct["scope"]) if "scope" in rct else pd.Series("in", index=rct.index)
    source = _text(rct["design_source"]) if "design_source" in rct else pd.Series("", index=rct.index)
    pilot = _flag(rct["pilot"]) if "pilot" in rct else pd.Series(False, index=rct.index)
    reason = pd.Series("", index=rct.index, dtype=object)
    reason[pilot & ~rct["study_id"].isin(with_rows)] = "feasibility pilot without outcome data"
    reason[_text(rct["parent_id"]) != ""] = "later report of a counted cohort (parent_id)"
    reason[source == ""] = "design not confirmed by the source (design_source empty)"
    reason[scope != "in"] = "out of scope: " + _text(rct.get("scope_reason", pd.Series("", index=rct.index)))
    rct["counted"] = reason == ""
    rct["reason"] = reason

    arms = ev.arms.assign(family=arm_family(ev.arms))
    mine = arms[(arms["role"] != "comparator") & (arms["family"] != "")]
    families = mine.groupby("study_id")["family"].agg(lambda f: ",".join(sorted(set(f))))
    comps = arms[arms["role"] == "comparator"]
    cls = _text(comps["comparator_kind"]).replace("", "unclassified")
    pairs = mine[["study_id", "family"]].merge(comps.assign(cls=cls)[["study_id", "cls"]], on="study_id")
    comparisons = pairs.assign(c=pairs["family"] + " vs " + pairs["cls"]).groupby("study_id")["c"].agg(
        lambda c: ",".join(sorted(set(c)))
    )
    sid = rct["study_id"]
    rct["families"] = sid.map(families).fillna("")
    rct["comparisons"] = sid.map(comparisons).fillna("")
    rct["point_estimate"] = sid.isin(with_number)
    rct["poolable"] = sid.isin(poolable)
    rct["direction_only"] = ~rct["point_estimate"] & sid.isin(with_test)
    rct["no_outcomes"] = ~sid.isin(with_rows)
    cols = ["study_id", "counted", "reason", "families", "comparisons", "point_estimate", "poolable", "direction_only", "no_outcomes"]
    return rct[cols].reset_index(drop=True)


_STRICT_COUNTS = ("rcts", "with_point_estimate", "poolable", "direction_only", "no_outcome_rows")


def _strict_tally(df: pd.DataFrame) -> dict[str, int]:
    return dict(
        rcts=len(df),
        with_point_estimate=int(df["point_estimate"].sum()),
        poolable=int(df["poolable"].sum()),
        direction_only=int(df["direction_only"].sum()),
        no_outcome_rows=int(df["no_outcomes"].sum()),
    )


def strict_counts(ev: Evidence, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The strict headline: randomised trials before and after each exclusion, then the counted
    trials with a point estimate, with a row a pool can use, with a direction only, and with no
    outcome rows at all."""
    t = strict_rcts(ev) if table is None else table
    counted = t[t["counted"]]
    tally = _strict_tally(counted)
    rows = [("randomised trials in the data (design rct)", len(t))]
    for label, word in (
        ("  not counted: out of scope", "out of scope"),
        ("  not counted: design not confirmed by the source", "design not confirmed"),
        ("  not counted: later report of a cohort", "later report"),
        ("  not counted: feasibility pilot without outcome data", "feasibility pilot"),
    ):
        rows.append((label, int(t["reason"].str.startswith(word).sum())))
    rows += [
        ("counted RCTs (in scope, design confirmed, one per cohort, not a data-less pilot)", tally["rcts"]),
        ("  with a point estimate (mean, median, events/total, percent or mean difference)", tally["with_point_estimate"]),
        ("  with a row a pool can use (a contrast explain() marks pooled: MD, SMD or RR, default rules)", tally["poolable"]),
        ("  with a direction or p-value only (no point estimate)", tally["direction_only"]),
        ("  with no outcome rows", tally["no_outcome_rows"]),
    ]
    return pd.DataFrame(rows, columns=["count", "value"])


def _strict_by(t: pd.DataFrame, column: str, name: str) -> pd.DataFrame:
    counted = t[t["counted"]]
    exploded = counted.assign(**{name: counted[column].str.split(",")}).explode(name)
    exploded[name] = exploded[name].fillna("").replace("", "(no family arm)")
    out = [{name: k, **_strict_tally(g)} for k, g in exploded.groupby(name, sort=True)]
    return pd.DataFrame(out, columns=[name, *_STRICT_COUNTS])


def strict_by_family(ev: Evidence, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counted RCTs per therapy family (of their intervention arms; a trial with two families
    counts once in each)."""
    return _strict_by(strict_rcts(ev) if table is None else table, "families", "family")


def strict_by_comparison(ev: Evidence, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counted RCTs per comparison: family of the intervention arm x comparator class of the
    comparator arm (arms.comparator_kind)."""
    return _strict_by(strict_rcts(ev) if table is None else table, "comparisons", "comparison")


def review_estimate_shares(ev: Evidence) -> pd.DataFrame:
    """How complete the published pooled estimates are: reviews, estimates, and among the
    comparative estimates the share with a window in weeks, with a scale or a unitless measure
    (smd, rr, or, rd; an md with its scale_min and scale_max), with a comparison class, with a
    normalised sign (estimate filled) and with the number of studies pooled."""
    re_ = ev.review_estimates
    if re_.empty:
        return pd.DataFrame(columns=["count", "value", "share"])

    def col(name: str) -> pd.Series:
        return _text(re_[name]) if name in re_ else pd.Series("", index=re_.index)

    comp = col("design_basis") == "comparative"
    measure = col("effect_measure").str.lower()
    checks = {
        "with a window in weeks": (col("time_weeks_min") != "") | (col("time_weeks_max") != ""),
        "with a scale or a unitless measure": measure.isin(["smd", "rr", "or", "rd"])
        | ((measure == "md") & (col("scale_min") != "") & (col("scale_max") != "")),
        "with a comparison class": col("comparison_class") != "",
        "with a normalised sign (estimate)": col("estimate") != "",
        "with k (studies pooled)": col("k_studies") != "",
    }
    n_comp = int(comp.sum())
    rows = [
        ("reviews giving estimates", int(re_["study_id"].nunique()), ""),
        ("estimates", len(re_), ""),
        ("comparative estimates", n_comp, ""),
    ]
    for label, ok in checks.items():
        k = int((ok & comp).sum())
        rows.append((f"  comparative, {label}", k, f"{k / n_comp:.0%}" if n_comp else ""))
    return pd.DataFrame(rows, columns=["count", "value", "share"])


def report(ev: Evidence) -> dict[str, pd.DataFrame]:
    """Every coverage table, by name."""
    strict = strict_rcts(ev)
    return {
        "strict counts": strict_counts(ev, strict),
        "strict counts per therapy family": strict_by_family(ev, strict),
        "strict counts per comparison": strict_by_comparison(ev, strict),
        "randomised trials not counted": strict.loc[~strict["counted"], ["study_id", "reason"]].reset_index(drop=True),
        "published pooled estimates": review_estimate_shares(ev),
        "headline": headline(ev),
        "therapy families": by_family(ev),
        "designs": by_design(ev),
        "outcome rows by domain and window": by_domain_and_window(ev),
        "adverse events by type": by_event_type(ev),
        "search flow": search_flow(ev),
    }


def to_markdown(tables: dict[str, pd.DataFrame], version: str = "") -> str:
    """Plain Markdown tables (no extra dependency)."""
    out = [f"# Coverage of the evidence base{f' (dataset {version})' if version else ''}\n"]
    for name, df in tables.items():
        out.append(f"\n## {name[0].upper()}{name[1:]}\n\n")
        cols = [str(c) for c in df.columns]
        out.append("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n")
        for row in df.itertuples(index=False):
            out.append("| " + " | ".join(str(v) for v in row) + " |\n")
    return "".join(out)


FLOW_START = "<!-- search-flow: generated by `explorer coverage --sources docs/sources.md`; do not edit -->"
FLOW_END = "<!-- /search-flow -->"


def sources_block(ev: Evidence) -> str:
    """The generated part of docs/sources.md: the strict counts (overall and per therapy
    family), the published estimates' completeness, the looser headline and the search flow."""
    strict = strict_rcts(ev)
    tables = {
        "strict counts": strict_counts(ev, strict),
        "strict counts per therapy family": strict_by_family(ev, strict),
        "randomised trials not counted": strict.loc[~strict["counted"], ["study_id", "reason"]].reset_index(drop=True),
        "published pooled estimates": review_estimate_shares(ev),
        "headline (all rows, before the strict rules)": headline(ev),
        "search flow": search_flow(ev),
    }
    body = to_markdown(tables, ev.version)
    body = body.replace("# Coverage of the evidence base", "### Counts and search flow", 1).replace("\n## ", "\n#### ")
    return f"{FLOW_START}\n{body.strip()}\n{FLOW_END}"


def replace_sources_block(text: str, block: str) -> str:
    """``text`` with its generated block replaced (appended when it has none)."""
    if FLOW_START in text and FLOW_END in text:
        head, rest = text.split(FLOW_START, 1)
        return head + block + rest.split(FLOW_END, 1)[1]
    return text.rstrip() + "\n\n" + block + "\n"
