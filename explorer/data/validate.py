"""Validation of a data directory against the schema, with one typed problem per defect.

Three passes, as in Frictionless: cells (type, required, vocabulary, pattern, range), table keys
(primary and foreign keys), then the domain rules a schema cannot express (a confidence interval
must contain its estimate, a score must lie on its instrument's scale, ...). The validator only
reads; it never writes to the data.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from explorer.data.problems import Problem
from explorer.data.read import RawTable, read_csv
from explorer.data.schema import SCHEMA_FILE, Field, Package, Resource, read_package

TRUE_VALUES = {"true", "True", "TRUE"}
FALSE_VALUES = {"false", "False", "FALSE"}
_INT = re.compile(r"^[+-]?[0-9]+$")
_FRIENDLY_PATTERN = {
    "doi": "malformed DOI {v!r} (expected '10.<registrant>/<suffix>' without a resolver prefix)",
    "pmid": "malformed PMID {v!r} (expected 1 to 9 digits)",
    "pmcid": "malformed PMCID {v!r} (expected 'PMC' followed by digits)",
}


@dataclass
class Row:
    """One validated record: typed values by field name, plus where it came from."""

    file: str
    number: int
    values: dict[str, object]


def _nearest(value: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    close = difflib.get_close_matches(value.lower().replace(" ", "_"), choices, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]!r}?"
    shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f"; expected one of: {shown}"


def parse_cell(f: Field, text: str) -> tuple[object, str | None]:
    """Return (typed value or None, problem message or None)."""
    value, message, _ = _check_cell(f, text)
    return value, message


_TYPE, _CONSTRAINT = "type-error", "constraint-error"


def _check_cell(f: Field, text: str) -> tuple[object, str | None, str]:
    """Return (typed value or None, problem message or None, the problem's code)."""
    if text == "":
        return None, ("required value is missing" if f.required else None), _CONSTRAINT
    if text != text.strip():
        return None, f"value {text!r} has leading or trailing spaces", "whitespace-error"
    if f.type == "integer":
        if not _INT.match(text):
            return None, f"{text!r} is not a whole number", _TYPE
        value: object = int(text)
    elif f.type == "number":
        try:
            num = float(text)
        except ValueError:
            return None, f"{text!r} is not a number", _TYPE
        if not math.isfinite(num):
            return None, f"{text!r} is not a finite number", _TYPE
        value = num
    elif f.type == "boolean":
        if text in TRUE_VALUES:
            value = True
        elif text in FALSE_VALUES:
            value = False
        else:
            return None, f"{text!r} is not a boolean (use true or false)", _TYPE
    else:
        value = text
    if f.enum is not None and value not in f.enum:
        return None, f"unknown {f.name} {text!r}{_nearest(text, f.enum)}", _CONSTRAINT
    if f.pattern is not None and isinstance(value, str) and not re.fullmatch(f.pattern, value):
        if f.name in _FRIENDLY_PATTERN:
            return None, _FRIENDLY_PATTERN[f.name].format(v=text), _CONSTRAINT
        return None, f"{text!r} does not match the pattern {f.pattern}", _CONSTRAINT
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if f.minimum is not None and value < f.minimum:
            return None, f"{text} is below the minimum {f.minimum:g}", _CONSTRAINT
        if f.maximum is not None and value > f.maximum:
            return None, f"{text} is above the maximum {f.maximum:g}", _CONSTRAINT
    return value, None, ""


def check_table(
    res: Resource, table: RawTable, problems: list[Problem], seen_rows: list[Row] | None = None
) -> list[Row]:
    """Cell-level checks; returns the rows whose every cell parsed (for the later passes).

    ``seen_rows`` (optional) receives every well-shaped row, valid or not, with its raw strings:
    foreign keys pointing at a row that has some other problem are then not reported twice.
    """
    names = res.field_names
    header = table.header
    seen: set[str] = set()
    for i, col in enumerate(header):
        if col in seen:
            problems.append(Problem(table.file, 1, col, "column appears twice in the header", "duplicate-label"))
        seen.add(col)
        if col not in names:
            hint = _nearest(col, names)
            problems.append(Problem(table.file, 1, col or f"#{i + 1}", f"unknown column{hint}", "extra-label"))
    missing = [f.name for f in res.fields if f.name not in seen]
    for col in missing:
        problems.append(Problem(table.file, 1, col, "column is missing from the header", "missing-label"))
    if missing or len(seen) != len(header) or any(c not in names for c in header):
        return []
    rows: list[Row] = []
    fields = [res.field(col) for col in header]  # once per table, not once per cell (a linear search)
    for record, number in zip(table.rows, table.row_numbers, strict=True):
        if len(record) != len(header):
            code = "extra-cell" if len(record) > len(header) else "missing-cell"
            problems.append(
                Problem(table.file, number, "", f"has {len(record)} cells; the header has {len(header)}", code)
            )
            continue
        values: dict[str, object] = {}
        ok = True
        for col, f, text in zip(header, fields, record, strict=True):
            value, msg, code = _check_cell(f, text)
            if msg:
                problems.append(Problem(table.file, number, col, msg, code))
                ok = False
            values[col] = value
        if ok:
            rows.append(Row(table.file, number, values))
        if seen_rows is not None:
            seen_rows.append(Row(table.file, number, dict(zip(header, record, strict=True))))
    return rows


def check_keys(
    pkg: Package,
    rows: dict[str, list[Row]],
    problems: list[Problem],
    seen: dict[str, list[Row]] | None = None,
) -> None:
    """Primary-key uniqueness and foreign-key resolution (targets: every well-shaped row)."""
    seen = seen or rows
    for res in pkg.resources:
        if res.primary_key and res.name in rows:
            first: dict[tuple, int] = {}
            for row in rows[res.name]:
                key = tuple(row.values[k] for k in res.primary_key)
                if key in first:
                    desc = ", ".join(f"{k}={v}" for k, v in zip(res.primary_key, key, strict=True))
                    problems.append(
                        Problem(
                            row.file,
                            row.number,
                            res.primary_key[-1],
                            f"duplicate key ({desc}); first used in row {first[key]}",
                            "primary-key",
                        )
                    )
                else:
                    first[key] = row.number
    for res in pkg.resources:
        for fk in res.foreign_keys:
            target = fk.resource or res.name
            if res.name not in rows or target not in rows:
                continue
            known = {tuple(r.values[f] for f in fk.reference_fields) for r in rows[target]}
            known |= {tuple(r.values.get(f) for f in fk.reference_fields) for r in seen.get(target, [])}
            target_file = pkg.resource(target).path
            for row in rows[res.name]:
                key = tuple(row.values[f] for f in fk.fields)
                # Table Schema: a key with no value refers to nothing; an optional key (see
                # schema.ForeignKey) refers to nothing as soon as one of its fields is empty
                if all(v is None for v in key) or (fk.optional and None in key) or key in known:
                    continue
                col = fk.fields[-1]
                desc = " / ".join(str(v) for v in key)
                problems.append(
                    Problem(
                        row.file, row.number, col, f"unknown {col} {desc!r} (not in {target_file})", "foreign-key"
                    )
                )


RuleFn = Callable[[Row, Callable[[str, str], None]], None]


def _study_rules(row: Row, report: Callable[[str, str], None]) -> None:
    v = row.values
    if not v["doi"] and not v["pmid"]:
        missing = [c for c in ("journal", "year", "volume_pages", "reference_url") if not v.get(c)]
        if missing:
            report(
                "doi",
                "a study needs a DOI or a PMID, or else its full reference (journal, year, volume_pages) "
                f"and the reference_url of a stored page that prints it; missing: {', '.join(missing)}",
            )
    if v.get("scope") == "out" and not v.get("scope_reason"):
        report("scope_reason", "an out-of-scope study needs its scope_reason")
    if v.get("scope_reason") and v.get("scope") != "out":
        report("scope_reason", "scope_reason is for out-of-scope studies only (scope 'out')")
    if v["parent_id"] and v["parent_id"] == v["study_id"]:
        report("parent_id", "a study cannot be its own parent cohort")
    if v["design"] == "systematic_review" and v["blinding"] not in ("not_applicable", None):
        report("blinding", "reviews take blinding 'not_applicable'")


def _arm_rules(row: Row, report: Callable[[str, str], None]) -> None:
    v = row.values
    if v["role"] == "comparator" and not v["comparator_kind"]:
        report(
            "comparator_kind", "comparator arms need a comparator_kind (placebo_sham, active or conservative)"
        )
    if v["role"] != "comparator" and v["comparator_kind"]:
        report(
            "comparator_kind", f"only comparator arms take a comparator_kind (this arm's role is {v['role']})"
        )
    if v["prp_leukocytes"] and v["therapy"] != "prp":
        report("prp_leukocytes", "prp_leukocytes applies to PRP arms only")


COUNTS = {"responders", "events"}
BINARY_DOMAINS = ("responders", "surgery", "surgery_avoided")
#: Ranges fixed by the instrument (scale_basis 'instrument'): the data dictionary's rule.
INSTRUMENT_RANGES = {"nrs": (0.0, 10.0), "odi": (0.0, 100.0), "modified_odi": (0.0, 100.0), "rmdq": (0.0, 24.0)}


def _comparability_rules(v: dict[str, object], report: Callable[[str, str], None]) -> None:
    """The fields that decide what pools with what (scale basis, direction, responder class,
    time placement, between-group tests): each must be there when it is needed, and only then."""
    measure = v["measure"]
    if v["scale_max"] is not None:
        if not v["scale_basis"]:
            report("scale_basis", "a row with a scale needs its scale_basis (stated, instrument, derived or inferred)")
        if v["higher_is_better"] is None:
            report(
                "higher_is_better",
                "a row with a scale needs higher_is_better (true or false): without a direction "
                "it cannot be put on the common scale",
            )
        fixed = INSTRUMENT_RANGES.get(str(v["instrument"]))
        if v["scale_basis"] == "instrument" and fixed is None:
            report("scale_basis", f"{v['instrument']!r} has no range fixed by the instrument; use stated or inferred")
        elif v["scale_basis"] == "instrument" and (v["scale_min"], v["scale_max"]) != fixed:
            report("scale_max", f"{v['instrument']} is {fixed[0]:g}-{fixed[1]:g} by the instrument")
        if v["scale_basis"] == "inferred" and v["instrument"] != "vas":
            report("scale_basis", "only a visual analogue scale's range is inferred (the data dictionary's rule)")
        if v["scale_basis"] == "derived" and (
            v["instrument"] not in ("vas", "nrs") or (v["scale_min"], v["scale_max"]) != (0.0, 100.0)
        ):
            report("scale_basis", "only a VAS or NRS is derived, and derived means 0-100 (the data dictionary's rule)")
    elif v["scale_basis"]:
        report("scale_basis", "scale_basis needs scale_min and scale_max")
    if v["time_value_max"] is not None and v["time_value_max"] < v["time_value"]:
        report("time_value_max", f"time_value_max ({v['time_value_max']:g}) is below time_value ({v['time_value']:g})")
    if v["anchor_offset_weeks"] is not None and not v["time_anchor"]:
        report("anchor_offset_weeks", "anchor_offset_weeks needs the time_anchor it measures to")
    responder_row = measure == "responders" and v["domain"] not in ("surgery", "surgery_avoided")
    if responder_row and not v["responder_class"]:
        report("responder_class", "a responders row needs its responder_class")
    if v["responder_class"] and not (responder_row or (measure == "test" and v["domain"] == "responders")):
        report("responder_class", "responder_class applies to responders rows only (not surgery)")
    if v["p_operator"] and v["p_value"] is None:
        report("p_value", "p_operator needs the p_value it qualifies")
    if v["p_value"] is not None and not v["p_operator"]:
        report("p_operator", "a p_value needs its operator ('=' when printed exactly)")
    if (v["p_value"] is not None or v["favours"]) and not v["comparator_arm_id"]:
        report("comparator_arm_id", "a between-group p-value or direction needs the comparator arm")
    if measure == "test":
        if v["p_value"] is None and not v["favours"]:
            report("favours", "a test row needs a p_value or the direction (favours)")
        for col in ("mean", "median", "events", "sd", "se"):
            if v[col] is not None:
                report(col, "a test row holds a p-value and a direction only; put estimates in their own row")
    pct, lb, ub = v["percent"], v["ci_lb"], v["ci_ub"]
    if pct is not None and lb is not None and ub is not None and not lb <= pct <= ub:
        report("ci_lb", f"the confidence interval [{lb:g}, {ub:g}] does not contain the percent {pct:g}")


def _outcome_rules(row: Row, report: Callable[[str, str], None]) -> None:
    v = row.values
    measure = v["measure"]
    if measure == "mean_difference":
        if not v["comparator_arm_id"]:
            report("comparator_arm_id", "a mean_difference row needs the comparator arm it subtracts")
        if not v["contrast_basis"]:
            report(
                "contrast_basis", "a mean_difference row needs its contrast_basis (final, change or adjusted)"
            )
    else:
        between = measure in COUNTS or measure == "test" or v["p_value"] is not None or v["favours"]
        if v["comparator_arm_id"] and not between:
            report(
                "comparator_arm_id", f"only between-group rows take a comparator arm (measure is {measure})"
            )
        if v["contrast_basis"]:
            report("contrast_basis", "contrast_basis applies to mean_difference rows only")
    if v["comparator_arm_id"] and v["comparator_arm_id"] == v["arm_id"]:
        report("comparator_arm_id", "an arm cannot be compared with itself")
    if v["time_value"] == 0 and measure in COUNTS:
        report(
            "time_value",
            f"time 0 is the baseline; {measure} rows need the follow-up time they were counted at",
        )
    _comparability_rules(v, report)
    _outcome_relay_rules(row, report)
    if measure == "test":
        return
    if v["domain"] in BINARY_DOMAINS and measure not in COUNTS:
        report(
            "measure", f"{v['domain']} rows take measure 'responders' or 'events' (counts), not {measure!r}"
        )
        return
    if measure in COUNTS:
        if (v["events"] is None) != (v["total"] is None):
            report(
                "events" if v["events"] is None else "total", f"a {measure} row needs both events and total"
            )
        elif v["events"] is None and v["percent"] is None:
            report("events", f"a {measure} row needs events and total (or the reported percent)")
        elif v["events"] is not None and v["events"] > v["total"]:
            report("events", f"events ({v['events']}) exceed total ({v['total']})")
        if measure == "responders" and not v["responder_definition"]:
            report("responder_definition", "a responders row needs the paper's responder definition")
        return
    if v["mean"] is None and v["median"] is None:
        report("mean", f"a {measure} row needs a mean (or a median)")
    lo, hi = v["scale_min"], v["scale_max"]
    if (lo is None) != (hi is None):
        report("scale_max" if hi is None else "scale_min", "give both scale_min and scale_max, or neither")
    if lo is None or hi is None:
        pass  # scale not stated in the paper: kept, but cannot be put on a common scale
    elif lo >= hi:
        report("scale_max", f"scale_max ({hi:g}) must be above scale_min ({lo:g})")
    elif measure == "final":
        for col in ("mean", "median", "q1", "q3", "range_min", "range_max", "ci_lb", "ci_ub"):
            x = v[col]
            if x is not None and not lo <= x <= hi:
                report(col, f"{x:g} lies outside the instrument's scale [{lo:g}, {hi:g}]")
    else:
        width = hi - lo
        for col in ("mean", "median", "ci_lb", "ci_ub"):
            x = v[col]
            if x is not None and abs(x) > width:
                report(col, f"a {measure} of {x:g} is larger than the whole scale ({lo:g} to {hi:g})")
    if v["time_value"] == 0 and measure != "final":
        report("time_value", f"time 0 (baseline) only takes measure 'final', not {measure!r}")
    lb, ub = v["ci_lb"], v["ci_ub"]
    if (lb is None) != (ub is None):
        report("ci_ub" if ub is None else "ci_lb", "a confidence interval needs both bounds")
    elif lb is not None and ub is not None:
        est = v["mean"] if v["mean"] is not None else v["median"]
        if lb > ub:
            report("ci_lb", f"ci_lb ({lb:g}) is above ci_ub ({ub:g})")
        elif est is not None and not lb <= est <= ub:
            report("ci_lb", f"the confidence interval [{lb:g}, {ub:g}] does not contain its estimate {est:g}")
    q1, med, q3 = v["q1"], v["median"], v["q3"]
    if q1 is not None and q3 is not None and q1 > q3:
        report("q1", f"q1 ({q1:g}) is above q3 ({q3:g})")
    elif med is not None and ((q1 is not None and q1 > med) or (q3 is not None and q3 < med)):
        report("median", f"the median {med:g} lies outside its quartiles")
    rmin, rmax = v["range_min"], v["range_max"]
    if rmin is not None and rmax is not None and rmin > rmax:
        report("range_min", f"range_min ({rmin:g}) is above range_max ({rmax:g})")


def _ae_rules(row: Row, report: Callable[[str, str], None]) -> None:
    v = row.values
    if v["events"] is not None and v["total"] is not None and v["events"] > v["total"]:
        report("events", f"events ({v['events']}) exceed total ({v['total']})")


def _normalised(v: dict[str, object]) -> tuple[float | None, float | None, float | None] | None:
    """The printed estimate and CI in the project's convention (None when the convention is not
    known): the data dictionary's rule, applied by the validator to check the stored values."""
    conv = v["printed_convention"]
    est, lb, ub = v["estimate_printed"], v["ci_lb_printed"], v["ci_ub_printed"]
    if conv in ("negative_favours_therapy", "therapy_over_comparator", "improvement_negative"):
        return est, lb, ub
    if conv in ("positive_favours_therapy", "improvement_positive"):
        if v["effect_measure"] in ("rr", "or"):
            return None
        return (-est if est is not None else None, -ub if ub is not None else None, -lb if lb is not None else None)
    if conv == "comparator_over_therapy":
        def inv(x: float | None) -> float | None:
            return 1 / x if x not in (None, 0) else None
        if v["effect_measure"] == "rd":
            return (-est if est is not None else None, -ub if ub is not None else None, -lb if lb is not None else None)
        return inv(est), inv(ub), inv(lb)
    return None


def _review_rules(row: Row, report: Callable[[str, str], None]) -> None:
    v = row.values
    for suffix in ("", "_printed"):
        lb, ub, est = v["ci_lb" + suffix], v["ci_ub" + suffix], v["estimate" + suffix]
        if (lb is None) != (ub is None):
            report("ci_ub" + suffix if ub is None else "ci_lb" + suffix, "a confidence interval needs both bounds")
        elif lb is not None and ub is not None and est is not None and not lb <= est <= ub:
            report("ci_lb" + suffix, f"the confidence interval [{lb:g}, {ub:g}] does not contain its estimate {est:g}")
    lo, hi = v["time_weeks_min"], v["time_weeks_max"]
    if lo is not None and hi is not None and lo > hi:
        report("time_weeks_min", f"time_weeks_min ({lo:g}) is above time_weeks_max ({hi:g})")
    if v["time_basis"] == "window" and lo is None and hi is None:
        report("time_basis", "a 'window' estimate needs time_weeks_min or time_weeks_max")
    if v["time_basis"] != "window" and (lo is not None or hi is not None):
        report("time_basis", "time_weeks_min/max are for estimates placed in a stated window (time_basis 'window')")
    single = v["design_basis"] == "single_arm"
    if single != (v["comparison_class"] == "single_arm"):
        report("comparison_class", "single-arm poolings take comparison_class 'single_arm', and only they do")
    if v["comparator_kind"] and v["comparison_class"] in ("single_arm", "mixed_controls"):
        report("comparator_kind", f"a {v['comparison_class']} estimate has no comparator_kind")
    if (v["scale_min"] is None) != (v["scale_max"] is None):
        report("scale_max" if v["scale_max"] is None else "scale_min", "give both scale_min and scale_max, or neither")
    elif v["scale_min"] is not None and v["scale_min"] >= v["scale_max"]:
        report("scale_max", "scale_max must be above scale_min")
    if v["source"] == "relay" and not (v["relay_source"] and v["relay_url"]):
        report("relay_source", "a relayed estimate needs relay_source and relay_url (the page it was read from)")
    if v["convention_source"] == "inferred" and not v["convention_note"]:
        report("convention_note", "an inferred convention needs its convention_note (how it was inferred)")
    if v["estimate"] is not None and not v["printed_convention"]:
        report("printed_convention", "a normalised estimate needs the printed_convention it was derived by")
    expected = _normalised(v)
    if v["printed_convention"] and expected is None and v["estimate"] is not None:
        report("printed_convention", f"{v['printed_convention']} does not apply to a {v['effect_measure']} estimate")
    if expected is not None:
        for col, want in zip(("estimate", "ci_lb", "ci_ub"), expected, strict=True):
            got = v[col]
            if (got is None) != (want is None) or (
                got is not None and want is not None and abs(got - want) > 5e-3 * max(1.0, abs(want))
            ):
                shown = "empty" if want is None else f"{want:.4g}"
                report(col, f"does not follow from the printed value and {v['printed_convention']} (expected {shown})")


def _outcome_relay_rules(row: Row, report: Callable[[str, str], None]) -> None:
    v = row.values
    if v.get("relay_url") and not v.get("relay_source"):
        report("relay_source", "a relayed number needs relay_source (the citation of the page read)")


RULES: dict[str, RuleFn] = {
    "studies": _study_rules,
    "arms": _arm_rules,
    "outcomes": _outcome_rules,
    "adverse_events": _ae_rules,
    "review_estimates": _review_rules,
}


def check_rules(rows: dict[str, list[Row]], problems: list[Problem]) -> None:
    for name, table_rows in rows.items():
        rule = RULES.get(name)
        if rule is None:
            continue
        for row in table_rows:

            def report(col: str, msg: str, row: Row = row) -> None:
                problems.append(Problem(row.file, row.number, col, msg))

            rule(row, report)


def check_package_file(data_dir: Path, pkg: Package, problems: list[Problem]) -> str | None:
    """Check the data directory's own datapackage.json, if any; return its version."""
    path = data_dir / SCHEMA_FILE
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problems.append(Problem(SCHEMA_FILE, 0, "", "not UTF-8 text", "package-error"))
        return None
    except (OSError, ValueError) as exc:
        problems.append(
            Problem(SCHEMA_FILE, getattr(exc, "lineno", 0), "", f"not valid JSON ({exc})", "package-error")
        )
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("resources"), list):
        problems.append(
            Problem(SCHEMA_FILE, 0, "resources", "not a data package: no list of resources", "package-error")
        )
        return None
    for res in raw["resources"]:
        name = res.get("name") if isinstance(res, dict) else None
        try:
            ours = pkg.resource(str(name))
        except KeyError:
            problems.append(Problem(SCHEMA_FILE, 0, "resources", f"unknown resource {name!r}", "schema-error"))
            continue
        fields = [f.get("name") for f in res.get("schema", {}).get("fields", []) if isinstance(f, dict)]
        if fields != ours.field_names:
            problems.append(
                Problem(
                    SCHEMA_FILE,
                    0,
                    str(name),
                    "the fields differ from the explorer's schema; copy data/datapackage.json from the explorer",
                    "schema-error",
                )
            )
    version = raw.get("version")
    return str(version) if version is not None else None


def collect(
    data_dir: Path, pkg: Package | None = None
) -> tuple[list[Problem], dict[str, list[Row]], str | None]:
    """Run every check; return the problems, the parsed rows and the data package's version."""
    pkg = pkg or read_package()
    problems: list[Problem] = []
    if not data_dir.exists():
        return [Problem(str(data_dir), 0, "", "data directory not found", "source-error")], {}, None
    if not data_dir.is_dir():
        return [Problem(str(data_dir), 0, "", "is not a directory", "source-error")], {}, None
    version = check_package_file(data_dir, pkg, problems)
    rows: dict[str, list[Row]] = {}
    seen: dict[str, list[Row]] = {}
    # raw rows are kept only for the tables foreign keys point at (check_keys reads no others):
    # a second dict for every row of every table was a fifth of the memory validation took
    targets = {fk.resource or res.name for res in pkg.resources for fk in res.foreign_keys}
    for res in pkg.resources:
        before = len(problems)
        table = read_csv(data_dir / res.path, problems)  # a listed file that is missing is a problem
        if table is None:
            continue
        if res.name in targets:
            seen[res.name] = []
        checked = check_table(res, table, problems, seen.get(res.name))
        if any(p.row <= 1 for p in problems[before:]):
            continue  # unreadable or bad header: said once, and no key checks against it
        rows[res.name] = checked
    check_keys(pkg, rows, problems, seen)
    check_rules(rows, problems)
    problems.sort(key=lambda p: (_file_order(pkg, p.file), p.row, p.column, p.message))
    return problems, rows, version


def _file_order(pkg: Package, file: str) -> int:
    order = [SCHEMA_FILE] + [r.path for r in pkg.resources]
    return order.index(file) if file in order else -1


def validate_package(data_dir: str | Path | None = None) -> list[Problem]:
    """Validate a data directory (a data package); an empty list means it is valid."""
    from explorer.paths import data_dir as resolve

    return collect(resolve(data_dir))[0]
