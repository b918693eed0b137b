"""One-off: add the 0.3.0 comparability fields to data/datapackage.json (kept for the record)."""

import json
import sys

p = sys.argv[1] if len(sys.argv) > 1 else "data/datapackage.json"
def add_fields(p: str) -> None:
    """Add the comparability fields to the outcomes schema (run once)."""
    d = json.load(open(p, encoding="utf-8"))  # noqa: SIM115
    d["version"] = "0.3.0"
    res = {r["name"]: r for r in d["resources"]}
    o = res["outcomes"]["schema"]["fields"]


    def F(name, type_, desc, enum=None, labels=None, required=False, extra=None):
        f = {"name": name, "type": type_, "description": desc}
        if labels:
            f["enumLabels"] = labels
        c = {}
        if required:
            c["required"] = True
        if enum:
            c["enum"] = enum
        if extra:
            c.update(extra)
        if c:
            f["constraints"] = c
        return f


    new = {
        "scale_basis": F("scale_basis", "string", "Where scale_min/scale_max come from. Required on every row with scale_max. 'stated': the paper states the range; 'instrument': fixed by the instrument (NRS 0-10, ODI and modified ODI 0-100, RMDQ 0-24); 'inferred': a visual analogue scale whose range the paper does not state, by the written rule: 0-100 when any VAS value of the study (mean, median, quartile or CI bound, baseline included) exceeds 10; 0-10 when the study reports VAS levels (final values) and none exceeds 10; otherwise left empty. Pools leave inferred scales out unless asked (explorer.effects(..., inferred_scales=True)).",
                         ["stated", "instrument", "inferred"], {"stated": "Stated in the paper", "instrument": "Fixed by the instrument", "inferred": "Inferred from the values (written rule)"}),
        "time_value_max": F("time_value_max", "number", "Upper end of a follow-up range printed by the paper (e.g. 28 for '13 to 28 months'); time_value holds the lower end. The explorer places the row at the midpoint and flags it.", extra={"minimum": 0}),
        "anchor_offset_weeks": F("anchor_offset_weeks", "number", "Weeks from the first injection to the time anchor, when time_anchor is not the first injection and the protocol fixes the schedule (e.g. 2 for 'one month after the second injection' with injections two weeks apart). Empty when the schedule does not fix it; the row is then placed from the anchor and flagged.", extra={"minimum": 0}),
        "time_source": F("time_source", "string", "Where the time comes from: 'stated' in the result's own sentence or table, or 'primary_endpoint' when the result gives no time and the abstract's stated primary endpoint time is used (notes say so).",
                         ["stated", "primary_endpoint"], {"stated": "Stated with the result", "primary_endpoint": "Taken from the stated primary endpoint's time"}),
        "responder_class": F("responder_class", "string", "Class of the responder definition (measure responders, except surgery); only rows of one class pool together. Avoided surgery is domain surgery_avoided, never a responder row; a 'partial relief only' category is never a responder row.",
                             ["pain_relief_50", "pain_relief_30", "pain_relief_other", "complete_relief", "function_improvement", "composite_success", "global_rating", "other"],
                             {"pain_relief_50": "At least 50% pain relief", "pain_relief_30": "At least 30% pain relief", "pain_relief_other": "Another pain threshold (e.g. NRS < 3, > 70%, MCID)", "complete_relief": "Complete pain relief", "function_improvement": "Disability threshold only (e.g. ODI improved by 30%)", "composite_success": "Composite: pain and function thresholds", "global_rating": "Global rating: self-rated success, much better, MacNab good/excellent", "other": "Other or undefined (not pooled)"}),
        "p_value": F("p_value", "number", "Between-group p-value for arm_id vs comparator_arm_id at this time, as printed (with p_operator).", extra={"minimum": 0, "maximum": 1}),
        "p_operator": F("p_operator", "string", "How the p-value is printed: '=' exact, '<', '<=', '>', '>='. Only an exact p-value ('=') gives a standard error (flagged approximate).", ["=", "<", "<=", ">", ">="]),
        "favours": F("favours", "string", "Direction of the between-group result the paper reports for arm_id vs comparator_arm_id: 'arm', 'comparator', or 'neither' (no significant difference reported). Feeds the effect-direction display, never a pool.",
                     ["arm", "comparator", "neither"], {"arm": "Favours the arm", "comparator": "Favours the comparator", "neither": "No difference reported"}),
        "unit": F("unit", "string", "Unit of analysis: what n, events and total count. Only participant-level rows enter pools; the rest are shown, not pooled.",
                  ["participants", "joints", "injections", "levels", "discs"], {"participants": "Participants", "joints": "Joints", "injections": "Injections", "levels": "Spinal levels", "discs": "Discs"}, required=True),
        "subgroup": F("subgroup", "string", "Empty for the whole randomised sample; otherwise the subgroup as the paper names it. Subgroup rows are shown, never pooled with the whole trial."),
        "primary": F("primary", "boolean", "True when the row is the trial's stated primary outcome at its primary time (first in the one-per-cohort choice)."),
    }
    header = open(p.replace("datapackage.json", "outcomes.csv"), encoding="utf-8").readline().strip().split(",")  # noqa: SIM115
    by = {f["name"]: f for f in o}
    by.update(new)
    res["outcomes"]["schema"]["fields"] = [by[n] for n in header]
    m = by["measure"]
    m["constraints"]["enum"].append("test")
    m["enumLabels"]["test"] = "Between-group test only: a p-value and/or direction, no estimate"


    def add_avoided(f):
        enum = f["constraints"]["enum"]
        if "surgery_avoided" not in enum:
            enum.insert(enum.index("surgery") + 1, "surgery_avoided")
            f.setdefault("enumLabels", {})["surgery_avoided"] = "Avoided surgery (higher is better)"


    add_avoided(by["domain"])
    by["higher_is_better"]["description"] = "True when higher scores are better (SF-36, JOA, EQ-5D); false for pain and disability scores. Required on every row with scale_max: without a direction a scaled row cannot be put on the common scale."
    by["ci_level"]["description"] = "Confidence level of the interval, in percent (95 unless stated). Honoured in every conversion (a 90% CI gives a larger SE than a 95% CI of the same width)."
    by["percent"]["description"] = "Percentage of responders or events as the paper prints it, for rows where the paper gives no counts (never converted to counts). Its confidence interval, when printed, goes in ci_lb/ci_ub in the same percent units, with ci_level."
    for f in res["review_estimates"]["schema"]["fields"]:
        if f["name"] == "domain":
            add_avoided(f)
    for f in res["arms"]["schema"]["fields"]:
        if f["name"] == "comparator_kind":
            f["description"] = "For comparator arms: the comparator class under the Cochrane definition (Oliveira 2020; Quraishi 2012): placebo_sham = an inert injection (saline, contrast, sham) or local anaesthetic alone; active = another active treatment; conservative = conservative care. The strict definition (placebo_sham only for inert injections without local anaesthetic) is derived from agent_class and local_anaesthetic_added (explorer.analysis.comparability)."
            f["enumLabels"] = {"placebo_sham": "Placebo or sham: inert injection or local anaesthetic alone", "active": "Active comparator (another active injection, systemic steroid, drug, radiofrequency)", "conservative": "Conservative care or physiotherapy"}
    with open(p, "w", encoding="utf-8") as fh:
        json.dump(d, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def add_search_log(path: str = p) -> None:
    """Add the search log (searches.csv, screening.csv) as two resources of the package."""
    d = json.load(open(path, encoding="utf-8"))  # noqa: SIM115
    names = {r["name"] for r in d["resources"]}
    s = lambda name, desc, **kw: {"name": name, "type": kw.pop("type", "string"), "description": desc, **kw}  # noqa: E731
    if "searches" not in names:
        d["resources"].append({
            "name": "searches", "path": "searches.csv", "profile": "tabular-data-resource",
            "title": "Search log", "description": "Every search run for the evidence, with what it returned (rendered as a PRISMA-style flow in docs/sources.md).",
            "schema": {"fields": [
                s("search_id", "Search identifier: batch, hyphen, three digits.", constraints={"required": True, "unique": True}),
                s("batch", "The extraction batch that ran it (a therapy family or task).", constraints={"required": True}),
                s("date", "Date the search was run.", type="date", constraints={"required": True}),
                s("source", "Where it was run (stored copies of PubMed, PMC and publisher pages).", constraints={"required": True}),
                s("query", "The query as typed.", constraints={"required": True}),
                s("records_seen", "Records the search returned.", type="integer", constraints={"minimum": 0}),
                s("records_new", "Records that were candidate publications not already in the data.", type="integer", constraints={"minimum": 0}),
                s("notes", "What the search found."),
            ], "primaryKey": ["search_id"]},
        })
    if "screening" not in names:
        d["resources"].append({
            "name": "screening", "path": "screening.csv", "profile": "tabular-data-resource",
            "title": "Screening decisions", "description": "Every candidate publication looked at, with the decision and, for exclusions, the reason.",
            "schema": {"fields": [
                s("record_id", "Record identifier.", constraints={"required": True, "unique": True}),
                s("search_id", "The search that found it."),
                s("label", "First author and year as seen.", constraints={"required": True}),
                s("identifier", "DOI, PMID or other identifier as seen (empty when none was seen)."),
                s("url", "Where the record was read."),
                s("decision", "included, excluded or duplicate (already in the data or another batch).", constraints={"required": True, "enum": ["included", "excluded", "duplicate"]}),
                s("reason", "Why it was excluded (or a note)."),
                s("study_id", "The study_id given to it (included) or the existing one (duplicate)."),
            ], "primaryKey": ["record_id"]},
        })
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(d, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


if __name__ == "__main__":
    if "--search-log" in sys.argv:
        add_search_log()
    else:
        add_fields(p)
