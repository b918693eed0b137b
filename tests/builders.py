"""Build small, valid data packages in a temporary folder, with defaults for every field."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from explorer.data.schema import read_package

ROOT = Path(__file__).resolve().parent.parent

STUDY = dict(
    label="Test 2020",
    title="A test trial",
    authors="A. Author",
    journal="J Test",
    year="2020",
    doi="10.1000/test",
    design="rct",
    blinding="double",
    indication="radiculopathy",
    risk_of_bias="not_assessed",
    source_locator="abstract",
    scope="in",
    design_source="abstract: 'randomized'",
)
ARM = dict(
    arm_label="Arm",
    therapy="epidural_steroid",
    approach="transforaminal",
    agent_class="corticosteroid",
    guidance="fluoroscopy",
    role="intervention",
    source_locator="abstract",
)
OUTCOME = dict(
    domain="pain_leg",
    instrument="nrs",
    scale_min="0",
    scale_max="10",
    scale_basis="instrument",
    higher_is_better="false",
    unit="participants",
    time_value="6",
    time_unit="week",
    measure="final",
    value_source="text",
    locator="abstract",
)
REVIEW_ESTIMATE = dict(
    therapy="epidural_steroid",
    comparison_class="placebo_sham",
    comparator_kind="placebo_sham",
    comparison="ESI vs placebo",
    domain="pain_leg",
    timing="short term",
    time_basis="window",
    effect_measure="md",
    printed_convention="negative_favours_therapy",
    convention_source="stated",
    ci_level="95",
    model="random",
    design_basis="comparative",
    source="primary",
    locator="abstract",
    second_reading="agreed",
)


def review_estimate(estimate_id: str, printed: tuple[float, float, float], **kw) -> dict:
    """A review estimate row: ``printed`` is (estimate, lower, upper) as printed; the normalised
    columns follow from ``printed_convention`` (negative favours the therapy unless given)."""
    est, lb, ub = printed
    row = {**REVIEW_ESTIMATE, "estimate_id": estimate_id, "study_id": estimate_id.rsplit("_re", 1)[0], **kw}
    row.update(estimate_printed=est, ci_lb_printed=lb, ci_ub_printed=ub)
    flip = row["printed_convention"] in ("positive_favours_therapy", "improvement_positive")
    row.setdefault("estimate", -est if flip else est)
    row.setdefault("ci_lb", -ub if flip else lb)
    row.setdefault("ci_ub", -lb if flip else ub)
    return row


def make_package(
    dest: Path,
    studies: list[dict],
    arms: list[dict],
    outcomes: list[dict],
    adverse_events: list[dict] | None = None,
    review_estimates: list[dict] | None = None,
) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    pkg = read_package()
    shutil.copy(ROOT / "data" / "datapackage.json", dest / "datapackage.json")
    defaults = {"studies": STUDY, "arms": ARM, "outcomes": OUTCOME}
    tables = {
        "studies": studies,
        "arms": arms,
        "outcomes": outcomes,
        "adverse_events": adverse_events or [],
        "review_estimates": review_estimates or [],
    }
    for res in pkg.resources:  # every listed table has its file (header only when not given)
        name, rows = res.name, tables.get(res.name, [])
        with open(dest / res.path, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=res.field_names, lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({k: str(v) for k, v in {**defaults.get(name, {}), **r}.items()})
    return dest


def set_column(path: Path, column: str, value) -> None:
    """Rewrite one column of a CSV table for every row: ``value`` is a string or ``f(row) -> str``."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    for row in rows:
        row[column] = value(row) if callable(value) else value
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
