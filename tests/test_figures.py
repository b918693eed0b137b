"""Figures layer: pure functions; escaping of text from the data."""

from __future__ import annotations

import pandas as pd

from explorer.analysis.series import arm_series
from explorer.data import load
from explorer.figures import THERAPY_COLOURS, efficacy_over_time, efficacy_traces

from .conftest import DATA


def test_one_trace_per_therapy_with_gaps_between_arms() -> None:
    s = arm_series(load(DATA), "pain")
    therapies = list(dict.fromkeys(s["therapy"]))
    fig = efficacy_over_time(s)
    assert [t.meta for t in fig.data] == therapies
    for t, therapy in zip(fig.data, therapies, strict=True):
        part = s[s["therapy"] == therapy]
        assert len(t.x) == len(part) + part["series_id"].nunique()  # one gap after each arm
        assert t.line.color == THERAPY_COLOURS[therapy]


def test_empty_selection_gives_invisible_traces() -> None:
    s = arm_series(load(DATA), "pain")
    data = efficacy_traces(s.iloc[0:0], ["prp", "bmc"])
    assert [d["visible"] for d in data] == [False, False]
    assert all(d["x"] == [] for d in data)


def test_hover_text_from_data_is_escaped() -> None:
    s = arm_series(load(DATA), "pain").head(2).copy()
    s["label"] = "<img src=x onerror=alert(1)>"
    data = efficacy_traces(s, list(dict.fromkeys(s["therapy"])))
    shown = [c for d in data for c in d["customdata"] if c]
    assert shown and all("<img" not in c[0] and "&lt;img" in c[0] for c in shown)


def test_figure_is_pure(monkeypatch) -> None:
    s = arm_series(load(DATA), "pain")
    before = s.copy()
    efficacy_over_time(s)
    pd.testing.assert_frame_equal(s, before)
