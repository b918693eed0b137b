"""One-off migration of dataset 0.2.1 to the 0.3.0 schema (kept for the record; run once).

Adds the comparability fields to outcomes.csv (scale_basis, time_value_max, anchor_offset_weeks,
time_source, responder_class, p_value, p_operator, favours, unit, subgroup, primary) and recodes
comparator arms of local anaesthetic alone as placebo/sham (Cochrane definition). Every value set
here is read from the row's own fields and notes, or from the study's arms.csv schedule; the rules
are the data dictionary's (docs/data.md).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

DATA = Path(sys.argv[1] if len(sys.argv) > 1 else "data")
NEW_AFTER = {
    "scale_max": ["scale_basis"],
    "time_value": ["time_value_max"],
    "time_anchor": ["anchor_offset_weeks", "time_source"],
    "responder_definition": ["responder_class", "p_value", "p_operator", "favours"],
    "percent": [],
    "population": [],
}
INSTRUMENT_SCALES = {("nrs", "0", "10"), ("odi", "0", "100"), ("modified_odi", "0", "100"), ("rmdq", "0", "24")}
RESPONDER_CLASS = {
    "levi2025": {"ODI": "function_improvement", "": "pain_relief_50"},
    "kwak2019": {"": "pain_relief_50"},
    "kim2010": {"": "pain_relief_50"},
    "schepers2022": {"RMDQ": "function_improvement", "": "other"},
    "nandi2017": {"": "global_rating"},
    "manchikanti": {"": "composite_success"},
    "levi2016": {"": "composite_success"},
    "vad2002": {"": "composite_success"},
    "haines2022": {"ODI": "function_improvement", "": "pain_relief_other"},
    "ackerman2007": {"": "complete_relief"},
    "ghahreman2010": {"": "pain_relief_50"},
    "hashemi2015": {"ODI": "function_improvement", "": "pain_relief_other"},
    "wu2017": {"MacNab": "global_rating", "": "other"},
    "bates2022": {"": "other"},
    "arden2005": {"": "function_improvement"},
    "maugars1996": {"": "pain_relief_other"},
    "pandey2016": {"": "other"},
    "elabd2016": {"overall": "global_rating", "": "other"},
}
ANCHOR_OFFSET = {  # weeks from the first injection to the anchor, from the study's arms schedule
    "cohen2012": 2.0,  # arms.csv n_injections: "2 (separated by 2 weeks)"; anchor: after the second injection
    "ackerman2007": 0.0,  # "from the initiation of the study": the first injection
    "elabd2016": 0.0,  # a single infusion
}
TIME_MAX = {"riew2000": 28.0, "elabd2016": 6.0}  # ranges printed in the paper (notes say so)
PARTIAL_ONLY = {"ackerman2007_002", "ackerman2007_004", "ackerman2007_006"}


def read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        r = csv.DictReader(fh)
        return list(r.fieldnames or []), list(r)


def write(name: str, header: list[str], rows: list[dict[str, str]]) -> None:
    with open(DATA / name, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def responder_class(row: dict[str, str]) -> str:
    sid = row["study_id"]
    key = "manchikanti" if sid.startswith("manchikanti") else sid
    table = RESPONDER_CLASS.get(key, {})
    definition = row["responder_definition"]
    for marker, cls in table.items():
        if marker and marker in definition:
            return cls
    return table.get("", "other")


def vas_scale(study_rows: list[dict[str, str]]) -> tuple[str, str] | None:
    """The written rule for a VAS whose range the paper does not state (docs/data.md)."""
    vas = [r for r in study_rows if r["instrument"] == "vas" and r["measure"] != "responders"]
    vals = []
    for r in vas:
        for c in ("mean", "median", "ci_lb", "ci_ub", "q1", "q3"):
            if r[c]:
                vals.append(abs(float(r[c])))
    if any(v > 10 for v in vals):
        return "0", "100"
    levels = [r for r in vas if r["measure"] == "final"]
    if levels and vals:
        return "0", "10"
    return None


def main() -> None:
    header, rows = read("outcomes.csv")
    new_header: list[str] = []
    for c in header:
        new_header.append(c)
        new_header.extend(NEW_AFTER.get(c, []))
        if c == "population":
            pass
    i = new_header.index("population")
    new_header[i:i] = ["unit", "subgroup", "primary"]
    by_study: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_study.setdefault(r["study_id"], []).append(r)
    out = []
    for r in rows:
        if r["outcome_id"] in PARTIAL_ONLY:
            continue
        r = {**r, **{c: "" for c in new_header if c not in r}}
        sid = r["study_id"]
        continuous = r["measure"] in ("final", "change", "improvement", "mean_difference")
        if continuous and not r["scale_max"] and r["instrument"] == "vas":
            scale = vas_scale(by_study[sid])
            if scale:
                r["scale_min"], r["scale_max"] = scale
                r["scale_basis"] = "inferred"
        elif r["scale_max"]:
            if (r["instrument"], r["scale_min"], r["scale_max"]) in INSTRUMENT_SCALES:
                r["scale_basis"] = "instrument"
            elif r["instrument"] == "vas" and "not stated" in r["notes"]:
                r["scale_basis"] = "inferred"
            else:
                r["scale_basis"] = "stated"
        if r["domain"] == "responders" and "operat" in r["responder_definition"]:
            r["domain"] = "surgery_avoided"
        elif r["measure"] == "responders" and r["domain"] != "surgery":
            r["responder_class"] = responder_class(r)
        if sid in TIME_MAX and r["time_value"] != "0":
            r["time_value_max"] = f"{TIME_MAX[sid]:g}"
        if r["time_anchor"] and sid in ANCHOR_OFFSET:
            r["anchor_offset_weeks"] = f"{ANCHOR_OFFSET[sid]:g}"
        r["time_source"] = "stated"
        r["unit"] = "joints" if "joints" in r["notes"] and sid == "maugars1996" else "participants"
        r["primary"] = "true" if "primary outcome" in r["notes"].lower() else "false"
        out.append(r)
    write("outcomes.csv", new_header, out)

    aheader, arms = read("arms.csv")
    for a in arms:
        if a["role"] == "comparator" and a["therapy"] == "local_anaesthetic" and a["comparator_kind"] == "active":
            a["comparator_kind"] = "placebo_sham"
            a["notes"] = a["notes"].replace(
                "Comparator kind coded active (local anaesthetic), as for every local-anaesthetic "
                "control in the data; the trial calls it its control.",
                "The trial calls it its control.",
            ).strip()
            a["notes"] = (a["notes"] + " " if a["notes"] else "") + (
                "Comparator class placebo/sham under the Cochrane definition (local anaesthetic alone); "
                "active under the strict definition (inert injections only)."
            )
    write("arms.csv", aheader, arms)


if __name__ == "__main__":
    main()
