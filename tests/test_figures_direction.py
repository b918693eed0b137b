"""Effect-direction plot: counts in their cells, shapes by direction, directions read from CIs,
escaping, empty input, column order; one check on the bundled data (marker ``data``)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.analysis.findings import COLUMNS, findings
from explorer.analysis.windows import DEFAULT_WINDOWS
from explorer.data import load
from explorer.figures import direction_plot, direction_spec
from explorer.figures.direction import (
    DIRECTIONS,
    EMPTY_TEXT,
    SOURCES,
    SYMBOL,
    estimate_direction,
    higher_is_better,
)

from .test_effects import build, trial

THERAPIES = {"esi": "Epidural steroid", "prp": "Platelet-rich plasma"}
KINDS = {"placebo_sham": "placebo/sham", "active": "active", "conservative": "conservative care"}
UIDS = [f"{s}:{d}" for d in DIRECTIONS for s in SOURCES]
WINDOW_NAMES = [w.name for w in DEFAULT_WINDOWS]


def row(**values) -> dict:
    """One findings row with empty defaults; a direction-only cell unless k and a CI are given."""
    base = dict.fromkeys(COLUMNS, "")
    base.update(
        outcome="pain",
        therapy="esi",
        comparator_kind="placebo_sham",
        window="short",
        measure="",
        k=0,
        n_participants=np.nan,
        estimate=np.nan,
        ci_lb=np.nan,
        ci_ub=np.nan,
        pi_lb=np.nan,
        pi_ub=np.nan,
        direction_arm=0,
        direction_neither=0,
        direction_comparator=0,
    )
    base.update(values)
    return base


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS)


def window_of(column: str) -> str:
    """The window name behind a column's label (an unknown window is labelled by its name)."""
    by_label = {w.label: w.name for w in DEFAULT_WINDOWS}
    text = html.unescape(column.replace("<br>", " "))
    return by_label.get(text, text)


def cells(spec: dict) -> dict[tuple[str, str, str], int]:
    """(uid, y category, window name) -> count written under the marker."""
    out = {}
    for t in spec["data"]:
        for x, y, n in zip(t["x"], t["y"], t["text"], strict=True):
            out[(t["uid"], y, window_of(x))] = int(n)
    return out


def trace(spec: dict, uid: str) -> dict:
    return next(t for t in spec["data"] if t["uid"] == uid)


def test_counts_land_in_their_cells() -> None:
    f = frame(
        row(window="short", direction_arm=2, direction_neither=3),
        row(window="long", direction_comparator=1, direction_studies="Aa 2001"),
        row(therapy="prp", comparator_kind="active", window="immediate", direction_arm=4),
    )
    spec = direction_spec(f, THERAPIES, KINDS, outcome="pain")
    esi, prp = "Epidural steroid vs placebo/sham", "Platelet-rich plasma vs active"
    assert cells(spec) == {
        ("direction:arm", esi, "short"): 2,
        ("direction:neither", esi, "short"): 3,
        ("direction:comparator", esi, "long"): 1,
        ("direction:arm", prp, "immediate"): 4,
    }
    assert spec["layout"]["yaxis"]["categoryarray"] == [esi, prp]  # the frame's order, first at the top


def test_symbols_follow_the_direction_and_tell_estimates_from_direction_only() -> None:
    f = frame(
        row(window="short", measure="MD", k=2, estimate=-1.0, ci_lb=-1.6, ci_ub=-0.4, studies="Aa 2001; Bb 2002",
            direction_arm=1, direction_comparator=1, direction_studies="Cc 2003; Dd 2004"),
    )  # fmt: skip
    spec = direction_spec(f, THERAPIES, KINDS)
    symbols = {t["uid"]: t["marker"]["symbol"] for t in spec["data"]}
    assert symbols["estimate:arm"] == symbols["direction:arm"].removesuffix("-open") == "triangle-up"
    assert (
        symbols["estimate:comparator"]
        == symbols["direction:comparator"].removesuffix("-open")
        == "triangle-down"
    )
    assert {symbols["estimate:neither"], symbols["direction:neither"]} == {
        SYMBOL["neither"],
        SYMBOL["neither"] + "-open",
    }
    assert all(symbols[f"direction:{d}"].endswith("-open") and not symbols[f"estimate:{d}"].endswith("-open")
               for d in DIRECTIONS)  # fmt: skip
    # the pooled trials and the direction-only trials of one cell are distinct markers
    y = "Epidural steroid vs placebo/sham · Pain"
    assert cells(spec) == {
        ("estimate:arm", y, "short"): 2,
        ("direction:arm", y, "short"): 1,
        ("direction:comparator", y, "short"): 1,
    }
    legends = {t["uid"]: t["legend"] for t in spec["data"]}
    assert legends["estimate:arm"] != legends["direction:arm"]
    assert all(spec["layout"][legends[u]]["title"]["text"] for u in UIDS)  # each key is titled


def test_direction_of_a_lower_is_better_estimate_comes_from_its_ci() -> None:
    f = frame(
        row(window="immediate", measure="MD", k=1, estimate=-1.0, ci_lb=-1.5, ci_ub=-0.3),
        row(window="short", measure="MD", k=1, estimate=0.6, ci_lb=0.2, ci_ub=1.0),
        row(window="intermediate", measure="MD", k=3, estimate=-0.1, ci_lb=-0.5, ci_ub=0.4),
        row(outcome="function", window="long", measure="MD", k=1, estimate=-8.0, ci_lb=-12.0, ci_ub=-4.0),
    )
    assert estimate_direction(f).tolist() == ["arm", "comparator", "neither", "arm"]
    got = cells(direction_spec(f, THERAPIES, KINDS))
    assert got[("estimate:arm", "Epidural steroid vs placebo/sham · Pain", "immediate")] == 1
    assert got[("estimate:comparator", "Epidural steroid vs placebo/sham · Pain", "short")] == 1
    assert got[("estimate:neither", "Epidural steroid vs placebo/sham · Pain", "intermediate")] == 3
    assert got[("estimate:arm", "Epidural steroid vs placebo/sham · Function", "long")] == 1


def test_direction_of_a_ratio_depends_on_whether_the_outcome_counts_good_or_bad_events() -> None:
    """Findings show RR on the ratio scale: no effect is 1. More responders favour the
    injection; more surgery favours the comparator."""
    assert higher_is_better("responders") and not higher_is_better("surgery") and not higher_is_better("pain")
    f = frame(
        row(outcome="responders", window="short", measure="RR", responder_class="pain_relief_50", k=1,
            estimate=1.5, ci_lb=1.2, ci_ub=2.0),
        row(outcome="responders", window="short", measure="RR", responder_class="complete_relief", k=1,
            estimate=0.7, ci_lb=0.5, ci_ub=0.9),
        row(outcome="responders", window="long", measure="RR", k=2, estimate=1.1, ci_lb=0.8, ci_ub=1.4),
        row(outcome="surgery", window="long", measure="RR", k=1, estimate=0.7, ci_lb=0.5, ci_ub=0.9),
        row(outcome="surgery", window="intermediate", measure="RR", k=1, estimate=1.5, ci_lb=1.2, ci_ub=2.0),
        # a ratio read as a difference would be 'arm' and 'comparator' the other way round
        row(outcome="responders", window="immediate", measure="RR", k=1, estimate=0.95, ci_lb=0.2, ci_ub=0.99),
    )  # fmt: skip
    assert estimate_direction(f).tolist() == [
        "arm",
        "comparator",
        "neither",
        "arm",
        "comparator",
        "comparator",
    ]
    got = cells(direction_spec(f, THERAPIES, KINDS))
    resp = "Epidural steroid vs placebo/sham · Responders"
    assert got[("estimate:arm", resp, "short")] == 1 and got[("estimate:comparator", resp, "short")] == 1
    assert got[("estimate:neither", resp, "long")] == 2


def test_directions_from_findings_of_a_made_up_package(tmp_path: Path) -> None:
    """End to end: findings' orientation (intervention minus comparator, ratios exponentiated)
    and the plot's reading of it agree on trials whose direction is known by construction."""
    better, bb, bo = trial("better2020", "10.1000/a", (2.0, 1.0, 100), (4.0, 1.0, 100), weeks=(6,))
    worse, wb, wo = trial("worse2021", "10.1000/b", (5.0, 1.0, 100), (3.0, 1.0, 100), weeks=(30,))
    for arm, events, total in (("steroid", 70, 100), ("control", 20, 100)):
        bo.append(dict(outcome_id=f"better2020_{len(bo) + 1:03d}", study_id="better2020", arm_id=arm,
                       domain="responders", instrument="responder_definition", scale_min="", scale_max="",
                       scale_basis="", higher_is_better="", measure="responders", events=events, total=total,
                       responder_definition=">=50% relief", responder_class="pain_relief_50"))  # fmt: skip
    for arm, events, total in (("steroid", 5, 100), ("control", 30, 100)):
        bo.append(dict(outcome_id=f"better2020_{len(bo) + 1:03d}", study_id="better2020", arm_id=arm,
                       domain="surgery", instrument="surgery", scale_min="", scale_max="", scale_basis="",
                       higher_is_better="", measure="events", events=events, total=total))  # fmt: skip
    f = findings(load(build(tmp_path, (better, bb, bo), (worse, wb, wo))))
    got = cells(direction_spec(f, {"epidural_steroid": "ESI"}, KINDS))
    assert got == {
        ("estimate:arm", "ESI vs placebo/sham · Pain", "short"): 1,
        ("estimate:comparator", "ESI vs placebo/sham · Pain", "intermediate"): 1,
        ("estimate:arm", "ESI vs placebo/sham · Responders", "short"): 1,
        ("estimate:arm", "ESI vs placebo/sham · Surgery", "short"): 1,
    }


def test_text_from_the_data_is_escaped_in_hover_and_labels() -> None:
    f = frame(
        row(therapy="evil", window="short", measure="MD", k=1, estimate=-1.0, ci_lb=-2.0, ci_ub=-0.1,
            studies="<img src=x>", responder_class="<i>cls</i>", direction_arm=1, direction_studies="<b>x</b>"),
    )  # fmt: skip
    spec = direction_spec(f, {"evil": "<b>x</b>"}, {"placebo_sham": "<img src=x>"})
    hovers = [c[0] for t in spec["data"] for c in t["customdata"]]
    assert len(hovers) == 2
    for h in hovers:
        assert "<img" not in h and "<b>x</b>" not in h and "<i>" not in h
        assert h.count("&lt;img src=x&gt;") == 2  # the comparator's label and the trial
        assert "&lt;b&gt;x&lt;/b&gt;" in h and "&lt;i&gt;cls&lt;/i&gt;" in h
    labels = spec["layout"]["yaxis"]["categoryarray"]
    assert labels == ["&lt;b&gt;x&lt;/b&gt; vs &lt;img src=x&gt; · Pain"]


def test_hover_gives_the_cell_its_trials_and_the_estimate_with_its_ci() -> None:
    f = frame(
        row(window="short", measure="MD", k=2, n_participants=180, estimate=-1.04, ci_lb=-1.61, ci_ub=-0.47,
            studies="Aa 2001; Bb 2002", direction_neither=1, direction_studies="Cc 2003"),
    )  # fmt: skip
    spec = direction_spec(f, THERAPIES, KINDS, outcome="pain")
    hovers = {c[0] for t in spec["data"] for c in t["customdata"]}
    assert len(hovers) == 1  # every marker of the cell shows the cell
    h = hovers.pop()
    assert "<b>Epidural steroid vs placebo/sham</b>" in h and html.escape(DEFAULT_WINDOWS[1].label) in h
    assert "MD -1.0" in h and "95% CI -1.6 to -0.5" in h and "pool of 2 trials, 180 participants" in h
    assert "Aa 2001; Bb 2002" in h and "Cc 2003" in h and "1 no clear difference" in h


def test_hover_calls_one_trial_one_trial_never_a_pool() -> None:
    f = frame(
        row(window="short", measure="MD", k=1, n_participants=80, estimate=-1.2, ci_lb=-2.0, ci_ub=-0.4,
            studies="Aa 2001"),
    )  # fmt: skip
    spec = direction_spec(f, THERAPIES, KINDS, outcome="pain")
    (h,) = {c[0] for t in spec["data"] for c in t["customdata"]}
    assert "MD -1.2" in h and ", 1 trial, 80 participants" in h
    assert "pool" not in h and "1 trials" not in h


def test_columns_are_the_windows_in_time_order() -> None:
    f = frame(
        row(window="long", direction_arm=1),
        row(window="immediate", direction_arm=1),
        row(window="custom", direction_arm=1),
        row(window="short", direction_arm=1),
    )
    spec = direction_spec(f, THERAPIES, KINDS)
    columns = spec["layout"]["xaxis"]["categoryarray"]
    assert [window_of(c) for c in columns] == [*WINDOW_NAMES, "custom"]  # unknown windows come after
    assert WINDOW_NAMES == ["immediate", "short", "intermediate", "long"]  # time order, not the frame's
    assert spec["layout"]["xaxis"]["type"] == spec["layout"]["yaxis"]["type"] == "category"


def test_outcome_selects_rows_and_rows_drive_the_height() -> None:
    f = frame(
        row(outcome="pain", direction_arm=1),
        row(outcome="function", direction_arm=1),
        row(outcome="pain", therapy="prp", direction_neither=2),
    )
    every = direction_spec(f, THERAPIES, KINDS)
    pain = direction_spec(f, THERAPIES, KINDS, outcome="pain")
    assert every["layout"]["yaxis"]["categoryarray"] == [
        "Epidural steroid vs placebo/sham · Pain",
        "Epidural steroid vs placebo/sham · Function",
        "Platelet-rich plasma vs placebo/sham · Pain",
    ]
    assert pain["layout"]["yaxis"]["categoryarray"] == [
        "Epidural steroid vs placebo/sham",
        "Platelet-rich plasma vs placebo/sham",
    ]
    assert every["layout"]["height"] > pain["layout"]["height"]
    assert sum(cells(pain).values()) == 3


def test_two_codes_with_one_label_stay_two_rows() -> None:
    f = frame(row(therapy="esi", direction_arm=1), row(therapy="esi2", direction_arm=1))
    spec = direction_spec(f, {"esi": "Steroid", "esi2": "Steroid"}, KINDS, outcome="pain")
    assert len(set(spec["layout"]["yaxis"]["categoryarray"])) == 2


@pytest.mark.parametrize("outcome", [None, "surgery"])
def test_nothing_to_show_keeps_the_traces_and_says_so(outcome: str | None) -> None:
    f = frame() if outcome is None else frame(row(outcome="pain", direction_arm=1))
    spec = direction_spec(f, THERAPIES, KINDS, outcome=outcome)
    assert set(spec) == {"data", "layout"}
    assert [t["uid"] for t in spec["data"]] == UIDS == [t["uid"] for t in direction_spec(
        frame(row(direction_arm=1)), THERAPIES, KINDS)["data"]]  # fmt: skip
    assert all(t["x"] == [] and t["y"] == [] for t in spec["data"])
    note = spec["layout"]["annotations"][0]
    assert note["text"] == EMPTY_TEXT and (note["x"], note["y"]) == (0.5, 0.5)


def test_spec_is_pure_and_matches_the_plotly_figure() -> None:
    f = frame(
        row(window="short", measure="MD", k=1, estimate=-1.0, ci_lb=-2.0, ci_ub=-0.1, direction_neither=2),
        row(outcome="function", window="long", direction_comparator=1),
    )
    before = f.copy()
    spec = direction_spec(f, THERAPIES, KINDS)
    pd.testing.assert_frame_equal(f, before)
    fig = direction_plot(f, THERAPIES, KINDS)
    assert [t.uid for t in fig.data] == [t["uid"] for t in spec["data"]] == UIDS
    for d, t in zip(spec["data"], fig.data, strict=True):
        assert list(t.x) == d["x"] and list(t.y) == d["y"] and list(t.text) == d["text"]


@pytest.mark.data
def test_every_trial_of_the_bundled_findings_is_in_the_figure() -> None:
    f = findings(load())
    assert len(f)
    kinds = ["direction_arm", "direction_neither", "direction_comparator"]
    counted = int(f["k"].sum() + f[kinds].to_numpy().sum())
    drawn = sum(int(n) for t in direction_spec(f, {}, KINDS)["data"] for n in t["text"])
    assert drawn == counted
    for outcome, part in f.groupby("outcome"):
        spec = direction_spec(f, {}, KINDS, outcome=str(outcome))
        assert sum(int(n) for t in spec["data"] for n in t["text"]) == int(
            part["k"].sum() + part[kinds].to_numpy().sum()
        )
