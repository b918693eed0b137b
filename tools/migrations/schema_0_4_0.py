"""One-off: the 0.4.0 schema (kept for the record). Run from the repository root.

Adds: harmonised review estimates (printed and sign-normalised values, comparison class, time
basis, scale, relays, second reading); overlap keys for review_includes; the written scope,
design source, pilot flag and reference address on studies; relays on outcomes; what a search
was (tool, topic or known item) and why a record was excluded (eligibility or the copy).
Existing CSVs get the new columns, empty, in schema order; review estimates keep their printed
values in the ``*_printed`` columns until they are harmonised.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data")


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


ID = {"pattern": "^[a-z][a-z0-9_]*$"}
RELAY_SOURCE = ("relay_source", "string", "Where a number printed only by a secondary source was read: the citation of that page (a 'Cochrane for Clinicians' or POEM page, DynaMed, ACP Journal Club, or a table of another review stored as its own page), with its DOI or PMID where seen. The row itself cites the primary publication. Empty when the number was read in the primary publication's own page.")
RELAY_URL = ("relay_url", "string", "Address of the stored page the relayed number was read from.")
COMPARISON_CLASS = {
    "placebo_sham": "Placebo or sham (local anaesthetic alone included, Cochrane)",
    "conservative": "Conservative care",
    "systemic_drug": "A systemic drug",
    "other_therapy": "Another therapy",
    "approach": "Same therapy, another approach (route)",
    "agent": "Same therapy, another agent",
    "dose": "Same therapy, another dose",
    "guidance": "Same therapy, another image guidance",
    "injections": "Same therapy, another number of injections",
    "mixed_controls": "Several comparator classes pooled together",
    "single_arm": "No comparator (before/after)",
}
REVIEW_FIELDS = [
    ("estimate_id", None),
    ("study_id", None),
    ("therapy", None),
    ("comparison_class", F("comparison_class", "string", "What the therapy is compared with: a comparator class, or for the same therapy in another form what differs (approach, agent, dose, guidance, number of injections); mixed_controls when the review pools several classes together; single_arm for a before/after pooling (never shown as an effect against a comparator).", list(COMPARISON_CLASS), COMPARISON_CLASS)),
    ("comparator_kind", None),
    ("comparison", None),
    ("indication", F("indication", "string", "Population of the pooled trials (the studies vocabulary; 'mixed' when several).", ["radiculopathy", "spinal_stenosis", "mixed_radicular", "facet_arthropathy", "discogenic", "sacroiliac", "axial_low_back_pain", "mixed"])),
    ("domain", None),
    ("instrument", F("instrument", "string", "Instrument as the review names it (VAS, NRS, ODI, RMDQ, 'pain scores (various)'), when stated.")),
    ("timing", None),
    ("time_basis", F("time_basis", "string", "How the estimate is placed in time: 'window' (a window the review states: time_weeks_min/max), 'pooled_across_times' (the review pooled different follow-up times into one estimate), 'not_stated'.", ["window", "pooled_across_times", "not_stated"], {"window": "A stated window", "pooled_across_times": "Pooled across follow-up times", "not_stated": "Time not stated"}, required=True)),
    ("time_weeks_min", None),
    ("time_weeks_max", None),
    ("effect_measure", None),
    ("scale_min", F("scale_min", "number", "Lower end of the scale a mean difference is expressed on, when the review (or its relay) states it.")),
    ("scale_max", F("scale_max", "number", "Upper end of that scale (10 or 100 for pain; 100 for the ODI; 24 for the RMDQ).")),
    ("estimate_printed", F("estimate_printed", "number", "The pooled estimate exactly as printed, sign included.", required=True)),
    ("ci_lb_printed", F("ci_lb_printed", "number", "Lower confidence bound as printed.")),
    ("ci_ub_printed", F("ci_ub_printed", "number", "Upper confidence bound as printed.")),
    ("printed_convention", F("printed_convention", "string", "What the printed sign or ratio means, so the estimate can be put in the project's convention.", ["negative_favours_therapy", "positive_favours_therapy", "therapy_over_comparator", "comparator_over_therapy", "improvement_negative", "improvement_positive"], {"negative_favours_therapy": "Negative favours the therapy", "positive_favours_therapy": "Positive favours the therapy", "therapy_over_comparator": "Ratio: therapy over comparator", "comparator_over_therapy": "Ratio: comparator over therapy", "improvement_negative": "Before/after: negative is improvement", "improvement_positive": "Before/after: positive is improvement"})),
    ("convention_source", F("convention_source", "string", "Whether the review states its convention ('stated') or it had to be inferred ('inferred': convention_note says how).", ["stated", "inferred"], {"stated": "Stated by the review", "inferred": "Inferred (see convention_note)"})),
    ("convention_note", F("convention_note", "string", "How an inferred convention was inferred, or why none could be.")),
    ("estimate", F("estimate", "number", "The estimate in the project's convention: for mean differences and SMDs negative favours the therapy (pain and disability, lower is better); ratios are therapy over comparator (for responders above 1 favours the therapy, for surgery below 1); a before/after pooling is negative for improvement. Empty when the convention could not be established.")),
    ("ci_lb", F("ci_lb", "number", "Lower confidence bound in the project's convention.")),
    ("ci_ub", F("ci_ub", "number", "Upper confidence bound in the project's convention.")),
    ("ci_level", F("ci_level", "number", "Confidence level in percent (95 unless printed otherwise).", extra={"minimum": 50, "maximum": 99.99})),
    ("k_studies", None),
    ("n_participants", None),
    ("i2", None),
    ("model", None),
    ("design_basis", F("design_basis", "string", "'comparative' (a between-group effect) or 'single_arm' (a before/after change or a pooled proportion; shown apart, never as an effect against a comparator).", ["comparative", "single_arm"], {"comparative": "Comparative", "single_arm": "Single-arm (before/after)"}, required=True)),
    ("certainty", F("certainty", "string", "GRADE certainty of the evidence as the review prints it.", ["high", "moderate", "low", "very_low"], {"high": "High", "moderate": "Moderate", "low": "Low", "very_low": "Very low"})),
    ("source", F("source", "string", "'primary': read in the review's own stored page; 'relay': printed only by a secondary source (relay_source, relay_url).", ["primary", "relay"], {"primary": "The review's own page", "relay": "A secondary source"}, required=True)),
    ("relay_source", F(*RELAY_SOURCE)),
    ("relay_url", F(*RELAY_URL)),
    ("relay_conflict", F("relay_conflict", "string", "Where two relays print different values: both, and where each was read.")),
    ("locator", None),
    ("second_reading", F("second_reading", "string", "The second, blind reading: 'agreed', 'corrected' (the first reading was wrong and has been corrected), or 'pending'.", ["pending", "agreed", "corrected"], {"pending": "Not yet read twice", "agreed": "Read twice, agreed", "corrected": "Read twice, corrected"}, required=True)),
    ("notes", None),
]


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({h: r.get(h, "") for h in header})
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _append(fields: list[dict], *new: dict, after: str | None = None) -> list[dict]:
    names = [f["name"] for f in fields]
    at = names.index(after) + 1 if after else len(fields)
    return fields[:at] + [f for f in new if f["name"] not in names] + fields[at:]


def main() -> None:
    path = ROOT / "datapackage.json"
    d = json.loads(path.read_text(encoding="utf-8"))
    d["version"] = "0.4.0"
    res = {r["name"]: r for r in d["resources"]}

    # review estimates
    old = {f["name"]: f for f in res["review_estimates"]["schema"]["fields"]}
    old["comparator_kind"]["description"] = "Coarse comparator class (placebo_sham, conservative, active), kept for the coarser grouping; empty for mixed_controls and single_arm."
    old["comparator_kind"]["constraints"].pop("required", None)
    old["estimate"] = None
    res["review_estimates"]["schema"]["fields"] = [spec or old[name] for name, spec in REVIEW_FIELDS]
    res["review_estimates"]["description"] = "One row per pooled estimate a systematic review or meta-analysis publishes: as printed, and harmonised (comparison, window in weeks, scale, sign in the project's convention) so it can be set beside the explorer's own pools."

    # review includes
    inc = res["review_includes"]["schema"]
    inc["fields"] = _append(inc["fields"], F("trial_key", "string", "The included trial as a key shared across reviews: first author's surname (lower case, ASCII) and year, e.g. carette1997; the trial's study_id when it is in the data. Overlap between reviews (corrected covered area) is counted on it.", required=True, extra=ID), after="included_label")

    # studies
    st = res["studies"]["schema"]
    st["fields"] = _append(
        st["fields"],
        F("reference_url", "string", "Address of a stored page that prints the full reference (journal, year, volume, first page). Required where neither a DOI nor a PMID was seen: the reference then identifies the publication."),
        F("scope", "string", "Whether the study falls inside the written scope (docs/sources.md): 'in', or 'out' with scope_reason. Out-of-scope studies are kept only as context and never counted as trials of a therapy.", ["in", "out"], {"in": "In scope", "out": "Out of scope (context only)"}, required=True),
        F("scope_reason", "string", "Why a study is out of scope (required when scope is 'out')."),
        F("design_source", "string", "Where the stored source states the design (e.g. \"abstract: 'randomized'\"). A randomised design is confirmed only by the source; an RCT without it is not counted."),
        F("pilot", "boolean", "True for a feasibility or pilot study; a pilot without outcome data is not counted."),
    )

    # outcomes and adverse events: relays
    for name in ("outcomes",):
        s = res[name]["schema"]
        s["fields"] = _append(s["fields"], F(*RELAY_SOURCE), F(*RELAY_URL))

    # searches and screening
    se = res["searches"]["schema"]
    se["fields"] = _append(
        se["fields"],
        F("tool", "string", "What was searched and how: e.g. 'search pages, top-8 semantic' (a semantic search of stored copies of public pages returning a fixed number of hits; not a bibliographic database).", required=True),
        F("kind", "string", "'topic' (a search for studies of a therapy, comparator or design) or 'known_item' (a look-up of a paper already named).", ["topic", "known_item"], {"topic": "Topic search", "known_item": "Known-item look-up"}),
        after="source",
    )
    sc = res["screening"]["schema"]
    sc["fields"] = _append(
        sc["fields"],
        F("exclusion_kind", "string", "Why a record was excluded: 'eligibility' (outside the scope or design), 'copy' (the stored copy lacked what was needed: numbers, the reference), 'duplicate' (a record already screened). Empty when included.", ["eligibility", "copy", "duplicate"], {"eligibility": "Not eligible", "copy": "The stored copy lacked it", "duplicate": "Already screened"}),
        after="decision",
    )
    path.write_text(json.dumps(d, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    # the CSVs: new columns, in schema order
    for r in d["resources"]:
        header = [f["name"] for f in r["schema"]["fields"]]
        p = ROOT / r["path"]
        with p.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        if r["name"] == "review_estimates":
            for row in rows:
                if "estimate_printed" not in row:
                    row["estimate_printed"], row["ci_lb_printed"], row["ci_ub_printed"] = (
                        row.pop("estimate"), row.pop("ci_lb"), row.pop("ci_ub"))
                    scale = row.pop("scale", "")
                    if scale and "-" in scale:
                        lo, hi = scale.split("-", 1)
                        row["scale_min"], row["scale_max"] = lo.strip(), hi.strip()
                    row["time_basis"] = "window" if row["time_weeks_max"] or row["time_weeks_min"] else "not_stated"
                    row["design_basis"] = "comparative"
                    row["comparison_class"] = row["comparator_kind"] if row["comparator_kind"] != "active" else ""
                    row["source"] = "primary"
                    row["second_reading"] = "pending"
                    row["ci_level"] = "95"
        if r["name"] == "studies":
            for row in rows:
                row.setdefault("scope", "in")
                row["scope"] = row["scope"] or "in"
        if r["name"] == "review_includes":
            for row in rows:
                if not row.get("trial_key"):
                    row["trial_key"] = row["included_study_id"] or _key(row["included_label"])
        if r["name"] == "searches":
            for row in rows:
                row["tool"] = row.get("tool") or "search pages, top-8 semantic"
        _write_csv(p, header, rows)


def _key(label: str) -> str:
    import re
    import unicodedata

    words = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    surname = re.sub(r"[^a-z]", "", words.split()[0]) if words.split() else ""
    year = re.search(r"(19|20)\d\d", label)
    return surname + (year.group(0) if year else "")


if __name__ == "__main__":
    main()
