"""What the evidence base holds: counts per therapy family, design, outcome domain and window.

The figures an analyst (or a release note) needs to say how complete the data are, computed from
the tables themselves so they never drift from the data.
"""

from __future__ import annotations

import pandas as pd

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


def search_flow(ev: Evidence) -> pd.DataFrame:
    """A PRISMA-style flow from the search log: searches, records, screening decisions, and the
    exclusion reasons grouped (:data:`EXCLUSION_GROUPS`), computed from searches.csv/screening.csv."""
    se, sc = ev.searches, ev.screening
    if sc.empty:
        return pd.DataFrame(columns=["step", "records"])
    reasons = sc.loc[sc["decision"] == "excluded", "reason"].fillna("").str.lower()
    grouped = pd.Series("other", index=reasons.index)
    for label, words in reversed(EXCLUSION_GROUPS):
        hit = reasons.apply(lambda r, words=words: any(w in r for w in words))
        grouped[hit.to_numpy()] = label
    rows = [
        ("searches run", len(se)),
        ("records returned by the searches", int(pd.to_numeric(se["records_seen"], errors="coerce").sum())),
        ("candidate publications screened", len(sc)),
        ("already in the data or another batch", int((sc["decision"] == "duplicate").sum())),
        ("excluded", int((sc["decision"] == "excluded").sum())),
        *((f"  excluded: {label}", int((grouped == label).sum())) for label in [g for g, _ in EXCLUSION_GROUPS] + ["other"]),
        ("included (new publications, or existing ones re-read)", int((sc["decision"] == "included").sum())),
    ]
    return pd.DataFrame(rows, columns=["step", "records"])


def report(ev: Evidence) -> dict[str, pd.DataFrame]:
    """Every coverage table, by name."""
    return {
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
    """The generated part of docs/sources.md: headline counts and the search flow."""
    body = to_markdown({"headline": headline(ev), "search flow": search_flow(ev)}, ev.version)
    body = body.replace("# Coverage of the evidence base", "### Counts and search flow", 1).replace("\n## ", "\n#### ")
    return f"{FLOW_START}\n{body.strip()}\n{FLOW_END}"


def replace_sources_block(text: str, block: str) -> str:
    """``text`` with its generated block replaced (appended when it has none)."""
    if FLOW_START in text and FLOW_END in text:
        head, rest = text.split(FLOW_START, 1)
        return head + block + rest.split(FLOW_END, 1)[1]
    return text.rstrip() + "\n\n" + block + "\n"
