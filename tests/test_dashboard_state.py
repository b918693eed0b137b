"""Dashboard wiring without a browser: state -> derived data -> widgets."""

from __future__ import annotations

import shutil
from pathlib import Path

from explorer.dashboard import Dashboard, FilterState, Model, app
from explorer.data import load

from .conftest import DATA


def lengths(d: Dashboard) -> list[int]:
    """Points per therapy's arm trace (the first trace of each therapy)."""
    return [len(t.x or ()) for t in d.figure.data[: len(d.therapy_codes)]]


def test_filter_updates_traces_in_place() -> None:
    d = Dashboard(Model(load(DATA)))
    traces_before = list(d.figure.data)
    all_lengths = lengths(d)
    assert sum(all_lengths) > 0
    keep = d.therapy_codes[next(i for i, n in enumerate(all_lengths) if n)]
    d.therapy.value = (keep,)
    assert list(d.figure.data) == traces_before  # same trace objects: no rebuild
    after = lengths(d)
    assert all(n == 0 for code, n in zip(d.therapy_codes, after, strict=True) if code != keep)
    assert after[d.therapy_codes.index(keep)] == all_lengths[d.therapy_codes.index(keep)]


def test_empty_selection_says_so_and_reset_restores() -> None:
    model = Model(load(DATA))
    d = Dashboard(model)
    full = lengths(d)
    d.therapy.value = (
        ("medial_branch_block",) if "medial_branch_block" in d.therapy_codes else (d.therapy_codes[-1],)
    )
    d.indication.value = (d.indication.options[-1][1],)
    d.outcome.value = "quality_of_life"
    if sum(lengths(d)) == 0:
        assert "No study arm matches" in d.status.value
    d.outcome.value = "pain"
    d.reset.click()
    assert lengths(d) == full


def test_outcome_switch_changes_axis_title() -> None:
    d = Dashboard(Model(load(DATA)))
    d.outcome.value = "function"
    assert "% of scale" in d.figure.layout.yaxis.title.text


def test_state_filtering_is_a_pure_mask() -> None:
    model = Model(load(DATA))
    all_rows = model.filtered(FilterState())
    prp = model.filtered(FilterState(therapies=("prp",)))
    assert set(prp["therapy"]) <= {"prp"} and len(prp) <= len(all_rows)


def test_titles_from_data_are_escaped(data_copy: Path) -> None:
    import csv

    path = data_copy / "studies.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.DictReader(fh)
        header, recs = r.fieldnames, list(r)
    for rec in recs:
        rec["title"] = "<script>alert('x')</script><b>bold</b>"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(recs)
    d = Dashboard(Model(load(data_copy)))
    assert "<script>" not in d.table.value and "&lt;script&gt;" in d.table.value


def test_broken_data_gives_one_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(DATA, bad)
    (bad / "arms.csv").write_text("study_id\n", encoding="utf-8")
    widget = app(str(bad))
    assert "could not be loaded" in widget.value and "arms.csv:1:" in widget.value


def test_difference_view_overlays_pooled_estimates_and_mcid() -> None:
    from explorer.analysis.effects import pool
    from explorer.analysis.harmonise import MCID

    model = Model(load(DATA))
    d = Dashboard(model)
    assert d.figure.layout.shapes[0].visible is False  # no MCID line on raw values
    d.measure.value = "difference"
    rows = model.filtered(d.state)
    expected = pool(rows, by=["therapy", "window"], method="REML")
    shown = {t.meta: t for t in d.figure.data}
    for r in expected.itertuples(index=False):
        trace = shown[f"{r.therapy}:pooled"]
        assert r.estimate in trace.y  # the drawn pooled point is the engine's estimate
    assert d.figure.layout.shapes[0].visible and d.figure.layout.shapes[0].y0 == -MCID["pain"]
    assert "contrast" in d.status.value
    d.measure.value = "final"
    assert all(not (t.x or ()) for t in d.figure.data if str(t.meta).endswith(":pooled"))
