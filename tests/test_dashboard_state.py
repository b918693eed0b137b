"""Dashboard wiring without a browser: state -> derived data -> widgets."""

from __future__ import annotations

import base64
import csv
import html
import itertools
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from explorer.analysis.effects import pool
from explorer.analysis.harmonise import MIC
from explorer.dashboard import Dashboard, FilterState, Model, app
from explorer.dashboard.state import MEASURES, OUTCOME_CHOICES
from explorer.data import load

from .builders import set_column
from .conftest import DATA


@pytest.fixture(scope="module")
def model() -> Model:
    return Model(load(DATA))


def shown(view):
    """What a view's plot shows now, as a plotly Figure (for reading)."""
    import plotly.graph_objects as go

    return go.Figure(view.plot.current)


def lengths(d: Dashboard) -> list[int]:
    """Points per therapy's arm trace (0 where the figure has none: hidden traces are not sent)."""
    drawn = {t.meta: len(t.x or ()) for t in d.figure.data}
    return [drawn.get(code, 0) for code in d.therapy_codes]


def test_default_is_randomised_evidence(model: Model) -> None:
    d = Dashboard(model, view="time")
    assert d.state.designs == ("rct",)
    rows = model.filtered(d.state)
    assert set(rows["design"]) <= {"rct"}


def test_filter_updates_traces_in_place(model: Model) -> None:
    d = Dashboard(model, FilterState(designs=()), view="time")
    plot = d.view("time").plot
    revision = plot.revision
    all_lengths = lengths(d)
    assert sum(all_lengths) > 0
    keep = d.therapy_codes[next(i for i, n in enumerate(all_lengths) if n)]
    d.pick(therapies=(keep,))
    assert d.view("time").plot is plot and plot.revision == revision + 1  # patched in place, once
    after = lengths(d)
    rows = model.filtered(d.state)
    mine = rows[rows["therapy"] == keep]
    assert after[d.therapy_codes.index(keep)] == len(mine) + mine["series_id"].nunique() > 0
    others = rows[rows["therapy"] != keep]  # only the control arms of the trials of `keep`
    st = model.study_therapy
    with_keep = set(st.loc[st["therapy"] == keep, "study_id"])
    assert (others["role"] == "comparator").all() and set(others["study_id"]) <= with_keep
    drawn = sum(n for code, n in zip(d.therapy_codes, after, strict=True) if code != keep)
    assert drawn == len(others) + others["series_id"].nunique()  # points plus one gap per arm


def test_a_filtered_therapy_keeps_its_control_arms(model: Model) -> None:
    """Filtering by therapy picks comparisons, not arms: a trial's control arms stay in view."""
    st = model.study_therapy
    arms = model.ev.arms
    controlled = arms[arms["role"] == "comparator"]["study_id"]
    therapy = st[st["study_id"].isin(controlled)]["therapy"].value_counts().index[0]
    state = FilterState(designs=(), therapies=(therapy,))
    rows = model.filtered(state)
    controls = rows[rows["role"] == "comparator"]
    assert len(controls) > 0
    assert set(controls["study_id"]) <= set(st.loc[st["therapy"] == therapy, "study_id"])
    # the same selection without the rule would have hidden them
    assert not rows[rows["therapy"] != therapy].empty


def test_empty_selection_says_so_and_reset_restores(model: Model) -> None:
    d = Dashboard(model, view="time")
    full = lengths(d)
    d.pick(indications=(model.choices("indications")[-1][0],))
    d.pick(therapies=(model.choices("therapies")[-1][0],))
    d.pick(outcome="quality_of_life")
    assert sum(lengths(d)) == 0
    assert "No study arm with this outcome matches" in d.status.value
    d.panel._message(d.panel, {"event": "reset"}, [])  # the panel's Reset button
    assert lengths(d) == full and d.state == FilterState()


def test_no_filter_combination_raises(model: Model) -> None:
    """A sample of combinations: every view draws or says why, never raises."""
    d = Dashboard(model, view="time")
    combos = itertools.product(
        list(OUTCOME_CHOICES), list(MEASURES), [(), ("rct",)], [(), ("short",), ("long",)]
    )
    for i, (outcome, measure, designs, windows) in enumerate(combos):
        d.set_state(FilterState(outcome=outcome, measure=measure, designs=designs, windows=windows))
        d.tabs.selected_index = i % len(d.views)
        assert d.current.message.value == "", (outcome, measure, designs, windows, d.current.name)


def test_outcome_switch_changes_axis_title(model: Model) -> None:
    d = Dashboard(model, view="time")
    d.pick(outcome="function")
    assert "% of scale" in d.figure.layout.yaxis.title.text
    d.pick(outcome="responders")
    assert "higher is better" in d.figure.layout.yaxis.title.text


def test_difference_view_overlays_pooled_estimates_and_mcid(model: Model) -> None:
    d = Dashboard(model, FilterState(designs=()), view="time")
    assert not d.figure.layout.shapes  # no MCID line on raw values
    d.pick(measure="difference")
    rows = model.filtered(d.state)
    expected = pool(rows, by=["therapy", "window"], method="REML")
    assert len(expected)
    shown = {t.meta: t for t in d.figure.data}
    for r in expected.itertuples(index=False):
        assert r.estimate in shown[f"{r.therapy}:pooled"].y  # the drawn point is the engine's estimate
    assert not d.figure.layout.shapes  # a within-person threshold: not on differences
    d.pick(measure="change")
    assert d.figure.layout.shapes[0].y0 == -MIC["pain"]
    d.pick(measure="final")
    assert all(not (t.x or ()) for t in d.figure.data if str(t.meta).endswith(":pooled"))


@pytest.fixture(scope="module")
def three_trials(tmp_path_factory) -> Model:
    """Three placebo-controlled trials of one therapy at 6 weeks: a pool of three to leave out of."""
    from .test_effects import build, trial

    tmp = tmp_path_factory.mktemp("three")
    trials = [
        trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38)),
        trial("bbb2021", "10.1000/b", (2.5, 1.8, 50), (3.1, 2.0, 52)),
        trial("ccc2022", "10.1000/c", (4.0, 2.2, 30), (4.2, 2.1, 31)),
    ]
    return Model(load(build(tmp, *trials)))


def test_forest_leave_one_out_changes_the_pool(three_trials: Model) -> None:
    model = three_trials
    d = Dashboard(model, FilterState(designs=()), view="forest")
    forest = d.current
    assert forest.name == "forest" and forest.group.value
    before = shown(forest).layout.title.text
    studies = [v for _, v in forest.leave_out.options]
    assert len(studies) == 3
    forest.leave_out.value = (studies[0],)
    therapy, window, comparator, rclass = forest.group.value.split("|")
    _, expected = model.forest(d.state, therapy, window, comparator, (studies[0],), rclass)
    assert shown(forest).layout.title.text != before
    assert f"{expected['estimate']:.2f}" in shown(forest).layout.title.text


def test_evidence_map_click_filters_everything(model: Model) -> None:
    d = Dashboard(model, view="map")
    cells = shown(d.current).data[0].customdata
    therapy, indication = cells[0][:2]
    d.pick_cell(therapy, indication)
    assert d.state.therapies == (therapy,) and d.state.indications == (indication,)
    assert d.panel.value["therapies"] == [therapy]  # the panel shows the pick
    assert f"therapy={therapy}" in d.link.value


def test_exports_are_formula_safe_and_complete(model: Model, data_copy: Path) -> None:
    set_column(data_copy / "studies.csv", "label", '=HYPERLINK("http://x")')
    d = Dashboard(Model(load(data_copy)), FilterState(designs=(), outcome="responders"), view="time")
    assert d.exports.value == ""  # made only on request
    d.export_box.value = True  # a button: Tab and Enter reach it
    links = dict(
        re.findall(r"download='([^']+)' href='data:[^;]+;charset=utf-8;base64,([^']+)'", d.exports.value)
    )
    csv_name = next(n for n in links if n.endswith(".csv"))
    text = base64.b64decode(links[csv_name]).decode("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == len(d.model.filtered(d.state))
    assert all(r["label"].startswith("'=") for r in rows)
    bib = base64.b64decode(links[next(n for n in links if n.endswith(".bib"))]).decode("utf-8")
    assert bib.count("@article{") == len(
        set(r["study_id"] for r in rows) | set(d.model.studies(d.state)["study_id"])
    )
    assert unquote(csv_name).startswith("injection-evidence-")


def test_titles_from_data_are_escaped(data_copy: Path) -> None:
    set_column(data_copy / "studies.csv", "title", "<script>alert('x')</script><b>bold</b>")
    d = Dashboard(Model(load(data_copy)), view="studies")
    table = d.current.table.value
    assert "<script>" not in table and "&lt;script&gt;" in table


def test_summary_speaks_plainly(model: Model) -> None:
    d = Dashboard(model, FilterState(designs=()), view="summary")
    text = d.current.text.value
    assert "points" in text and "How sure we are" in text and "not medical advice" in text


def test_summary_is_written_from_the_findings_of_the_selection(tmp_path: Path) -> None:
    """The Summary tab says what the findings table holds for the current selection: the pooled
    estimate with its CI, the trials and participants, and the row's "how sure"; a selection that
    leaves a trial out changes it as it changes the findings."""
    import html

    from .test_effects import build, trial

    model = Model(load(build(
        tmp_path,
        trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38)),
        trial("bbb2021", "10.1000/b", (2.5, 1.8, 50), (3.1, 2.0, 52)),
        trial("ccc2022", "10.1000/c", (4.0, 2.2, 30), (4.2, 2.1, 31), indication="spinal_stenosis"),
    )))  # fmt: skip
    d = Dashboard(model, FilterState(designs=()), view="summary")
    for state, k in ((d.state, 3), (d.state.with_(indications=("radiculopathy",)), 2)):
        d.set_state(state)
        (row,) = model.findings(state).itertuples()  # one comparison: pain, placebo, up to 3 months
        assert row.k == k
        text = html.unescape(d.current.text.value)
        assert (
            f"{k} trials pooled ({row.studies.replace('; ', ', ')}; {row.n_participants:.0f} participants) gives a "
            f"difference of {row.estimate:.1f} points on a 0-10 scale (95% CI {row.ci_lb:.1f} to {row.ci_ub:.1f})"
        ) in text, text
        assert f"How sure we are about pain up to 3 months versus placebo or sham: {row.how_sure_text}" in text
    assert "Ccc2022" not in text and "Between-group numbers come from 2 trials." in text


def test_presentation_mode_and_image_format(model: Model) -> None:
    d = Dashboard(model, view="time")
    d.present.value = True
    assert "explorer-present" in d.widget._dom_classes and "present=1" in d.link.value
    d.image_format.value = "svg"
    assert d.view("time").plot.config["toImageButtonOptions"]["format"] == "svg"


def test_broken_data_gives_one_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(DATA, bad)
    (bad / "arms.csv").write_text("study_id\n", encoding="utf-8")
    widget = app(str(bad))
    assert "could not be loaded" in widget.value and "arms.csv:1:" in widget.value


def test_thin_selection_points_to_outcomes_with_more_studies(model: Model) -> None:
    """Where fewer than three studies report the chosen outcome, the status names the outcomes
    the same filters find in more studies (computed, richest first)."""
    thin = next(
        s
        for o in OUTCOME_CHOICES
        for s in [FilterState(outcome=o)]
        if model.filtered(s)["study_id"].nunique() < 3 and model.other_outcomes(s)
    )
    here = model.filtered(thin)["study_id"].nunique()
    others = model.other_outcomes(thin)
    counts = [n for _, n in others]
    assert counts == sorted(counts, reverse=True) and all(n > here for n in counts)
    for label, n in others:
        code = next(c for c, text in OUTCOME_CHOICES.items() if text.split(",")[0] == label)
        assert model.filtered(thin.with_(outcome=code))["study_id"].nunique() == n
    d = Dashboard(model, thin, view="time")
    assert f"{others[0][0]}: {others[0][1]} studies" in d.status.value


def test_safety_view_says_how_many_counts_the_design_filter_hides(model: Model) -> None:
    d = Dashboard(model, view="time")
    safety = next(i for i, v in enumerate(d.views) if v.name == "safety")
    d.tabs.selected_index = safety
    hidden = len(model.harms(d.state.with_(designs=()))) - len(model.harms(d.state))
    assert hidden > 0  # the bundled complication series are single-arm
    assert (
        f"{hidden} more adverse-event counts come from study designs not selected"
        in d.views[safety].table.value
    )
    d.pick(designs=())  # the panel's All box
    assert "more adverse-event" not in d.views[safety].table.value


def test_responders_forest_is_a_risk_ratio_on_a_log_axis(tmp_path) -> None:
    """Responders compare between arms: log risk ratios pooled, drawn as ratios on a log axis."""
    import math

    from .builders import make_package

    studies, arms, outs = [], [], []
    for sid, (e1, n1, e2, n2) in {"rrr2020": (20, 40, 10, 38), "sss2021": (30, 50, 18, 52)}.items():
        studies.append(dict(study_id=sid, label=sid.title(), doi=f"10.1000/{sid}"))
        arms += [
            dict(study_id=sid, arm_id="steroid"),
            dict(study_id=sid, arm_id="control", therapy="saline", agent_class="saline", role="comparator",
                 comparator_kind="placebo_sham"),
        ]  # fmt: skip
        for i, (arm, ev_, tot) in enumerate((("steroid", e1, n1), ("control", e2, n2)), start=1):
            outs.append(dict(outcome_id=f"{sid}_{i:03d}", study_id=sid, arm_id=arm, domain="responders",
                             instrument="responder_definition", scale_min="", scale_max="", scale_basis="",
                             higher_is_better="", measure="responders", events=ev_, total=tot,
                             responder_definition=">=50% relief", responder_class="pain_relief_50"))  # fmt: skip
    model = Model(load(make_package(tmp_path / "d", studies, arms, outs)))
    d = Dashboard(model, FilterState(designs=(), outcome="responders"), view="forest")
    forest = d.current
    assert forest.group.value.endswith("|pain_relief_50")
    assert shown(forest).layout.xaxis.type == "log"
    xs = shown(forest).data[0].x
    assert sorted(xs) == pytest.approx(sorted([(20 / 40) / (10 / 38), (30 / 50) / (18 / 52)]))
    _, pooled = model.forest(d.state, *forest.group.value.split("|")[:3], responder_class="pain_relief_50")
    assert f"risk ratio {math.exp(pooled['estimate']):.2f}" in shown(forest).layout.title.text


def test_responders_difference_view_says_where_the_ratios_are(model: Model) -> None:
    state = FilterState(designs=(), outcome="responders", measure="difference")
    text = model.status(state, model.filtered(state))
    assert "risk ratios are in the Findings table and the Forest plot" in text
    plain = FilterState(designs=(), outcome="responders")
    assert "risk ratios" not in model.status(plain, model.filtered(plain))


def test_findings_status_counts_the_table(model: Model) -> None:
    d = Dashboard(model)
    d.update()
    f = model.findings(d.state)
    assert d.current.name == "findings"
    basis = f["answer_basis"].value_counts()
    assert f"{len(f)} comparisons: {int((f['k'] > 1).sum())} pooled here" in d.status.value
    assert f"{int(basis.get('published', 0))} answered by published pools" in d.status.value


def test_presentation_mode_scales_plot_text_and_moves_the_legend(model: Model) -> None:
    d = Dashboard(model, view="time")
    plot = d.view("time").plot
    small = plot.current["layout"].get("font", {}).get("size", 12)
    d.present.value = True
    layout = plot.current["layout"]
    assert layout["font"]["size"] > small and layout["xaxis"]["tickfont"]["size"] >= 18
    assert layout["legend"]["orientation"] == "h"
    d.pick(measure="change")  # a redraw keeps the room-sized text
    assert plot.current["layout"]["yaxis"]["title"]["font"]["size"] >= 20
    title = plot.current["layout"]["yaxis"]["title"]["text"]
    assert "<br>" in title and title.replace("<br>", " ") == model.y_title(d.state)  # two lines, same words
    d.present.value = False
    assert "orientation" not in plot.current["layout"]["legend"]
    assert plot.current["layout"]["yaxis"]["title"]["text"] == model.y_title(d.state)


def test_exported_figures_carry_title_selection_version_and_sources(model: Model) -> None:
    d = Dashboard(model, FilterState(designs=()), view="time")
    d.update()
    note = d.current.plot.export_note
    assert note["title"].startswith("Efficacy over time")
    rows = model.filtered(d.state)
    assert f"Dataset {model.ev.version}" in note["footer"] and "Selection:" in note["footer"]
    assert f"{rows['label'].nunique()} studies" in note["footer"]


def test_values_are_drawn_on_the_whole_scale(model: Model) -> None:
    d = Dashboard(model, FilterState(designs=()), view="time")
    y = d.view("time").plot.current["layout"]["yaxis"]
    assert y["range"][0] <= 0 and y["range"][1] >= 10 and y["autorange"] is False
    d.pick(measure="change")
    y = d.view("time").plot.current["layout"]["yaxis"]
    assert "range" not in y and y["autorange"] is True
    d.pick(outcome="function")
    d.pick(measure="final")
    assert d.view("time").plot.current["layout"]["yaxis"]["range"][1] >= 100


def test_preload_prepares_the_landing_table() -> None:
    """A served kernel computes the findings table before the page asks for it."""
    from explorer.dashboard import preload

    model = preload.prepare(str(DATA))
    landing = FilterState()
    key = ("findings", landing.with_(outcome="pain", measure="final", therapies=(), comparators=(), windows=()))
    assert key in model._per_state
    assert len(model.findings(landing)) > 0


def test_findings_switch_to_the_effect_direction_plot(model: Model) -> None:
    """The same findings as an effect-direction plot: every trial of the table is drawn."""
    d = Dashboard(model, FilterState(designs=()))
    view = d.current
    assert view.name == "findings" and view.plot is None  # the table lands; the plot waits
    view.form.value = "plot"
    f = model.findings(d.state)
    drawn = 0
    for trace in view.plot.current["data"]:
        drawn += sum(int(t) for t in (trace.get("text") or []) if str(t).isdigit())
    assert drawn == int(f["k"].sum() + f["direction_arm"].sum() + f["direction_neither"].sum() + f["direction_comparator"].sum())
    d.pick(comparators=("placebo_sham",))  # the plot follows the filters
    assert view.plot in view.body.children
    view.form.value = "table"
    assert view.table in view.body.children


def test_forest_link_carries_the_comparison_and_the_studies_left_out(three_trials: Model) -> None:
    from explorer.dashboard.urlstate import parse_extras

    d = Dashboard(three_trials, FilterState(designs=()), view="forest")
    forest = d.current
    studies = [v for _, v in forest.leave_out.options]
    forest.leave_out.value = (studies[1],)
    href = re.search(r"href='\?([^']*)'", d.link.value).group(1).replace("&amp;", "&")
    extras = parse_extras(href)
    assert extras == {"comparison": forest.group.value, "omit": studies[1]}
    again = Dashboard(three_trials, FilterState(designs=()), view="forest", extras=extras).current
    assert again.group.value == forest.group.value and again.leave_out.value == (studies[1],)
    assert shown(again).layout.title.text == shown(forest).layout.title.text  # the same pool
    assert parse_extras("comparison=<script>&omit=a;b") == {}  # odd characters: left out


def test_a_click_on_a_point_opens_its_study_card(model: Model) -> None:
    d = Dashboard(model, FilterState(designs=()), view="time")
    trace = next(t for t in d.view("time").plot.current["data"] if t.get("customdata") and ":" not in str(t.get("meta")))
    custom = next(c for c in trace["customdata"] if c)
    d.view("time").plot._message(None, {"event": "click", "customdata": custom}, [])
    assert d.current.name == "studies" and d.current.card_pick.value == custom[5]
    label = model.ev.studies.set_index("study_id").loc[custom[5], "label"]
    assert label in d.current.card.value and "doi.org" in d.current.card.value
    d.view("time").plot._message(None, {"event": "click", "customdata": ["x"] * 5 + ["no_such_study"]}, [])
    assert d.current.card_pick.value == custom[5]  # an unknown id changes nothing


def test_a_served_page_shows_first_and_pools_the_findings_behind() -> None:
    """With defer (served by Voila), the landing appears at once saying the trials are being
    pooled; the table and the status follow when the background pooling ends."""
    import time

    model = Model(load(DATA))
    d = Dashboard(model, defer=True)
    view = d.current
    assert "Pooling the trials" in d.status.value and not view.built
    deadline = time.monotonic() + 60
    while (not view.built or "Pooling" in d.status.value) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert view.built and "explorer-sof" in view.table.value and view.message.value == ""
    f = model.findings(d.state)
    assert f"{len(f)} comparisons" in d.status.value
    d.pick(designs=())  # a new selection's table is pooled behind too, then shown
    deadline = time.monotonic() + 60
    while "Pooling" in d.status.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"{len(model.findings(d.state))} comparisons" in d.status.value


def test_the_effect_direction_plot_is_in_the_link(model: Model) -> None:
    d = Dashboard(model)
    assert "form=" not in d.link.value
    d.current.form.value = "plot"
    assert "form=plot" in d.link.value
    again = Dashboard(model, extras={"form": "plot"}).current
    assert again.form.value == "plot" and again.plot in again.body.children
    d.current.form.value = "table"
    assert "form=" not in d.link.value


def test_the_status_line_speaks_of_what_the_tab_shows(model: Model) -> None:
    d = Dashboard(model, view="safety")
    ae = model.harms(d.state)
    assert f"{ae['study_id'].nunique()} studies report adverse events in this selection ({len(ae)} counts" in d.status.value
    assert "choose under Outcome" not in d.status.value  # no outcome hint where no outcome is drawn
    d.tabs.select("studies")
    assert f"{model.studies(d.state)['study_id'].nunique()} studies match these filters." in d.status.value


def _walk(d: Dashboard, states) -> list[tuple]:
    failed = []
    for state in states:
        d.set_state(state)
        for i, view in enumerate(d.views):
            d.tabs.selected_index = i
            if view.message.value:
                failed.append((state, view.name, view.message.value))
    return failed


def test_every_single_filter_choice_answers_in_every_view(model: Model) -> None:
    """Each tick box of each filter, alone, through every view: drawn or said why, never failed."""
    from explorer.dashboard.filters import FILTERS

    states = [
        FilterState(**{f.name: (code,)})
        for f in FILTERS
        if f.kind == "many"
        for code, _ in model.choices(f.name)
    ]
    assert len(states) > 40
    assert _walk(Dashboard(model), states) == []


def test_a_failing_view_hides_what_it_showed_before(model: Model, monkeypatch) -> None:
    d = Dashboard(model, view="findings")
    view = d.current
    monkeypatch.setattr(type(view), "redraw", lambda self, state: 1 / 0)
    d.set_state(FilterState(designs=()))
    assert "could not be drawn" in view.message.value
    shown_children = [c for c in view.box.children if c is not view.message and c.layout.display != "none"]
    assert shown_children == []


def test_reviews_view_sets_published_pools_beside_our_answer(model: Model) -> None:
    d = Dashboard(model, FilterState(therapies=("epidural_steroid",)), view="reviews")
    d.update()
    html_ = d.current.table.value
    assert d.current.message.value == ""
    assert "Oliveira 2020" in html_ and "points on 0-10" in html_ and "This explorer's answer" in html_
    assert "Published pools" in [v.title for v in d.views]


def test_difference_view_draws_published_pools_on_the_common_scale(model: Model) -> None:
    """The leg-pain question: published pools of epidural steroids vs placebo drawn across their
    windows in points on 0-10, labelled as published, beside the trials."""
    state = FilterState(therapies=("epidural_steroid",), comparators=("placebo_sham",), outcome="leg_pain", measure="difference", designs=())
    d = Dashboard(model, state, view="time")
    d.update()
    pub = [t for t in d.current.plot.current["data"] if str(t.get("meta", "")).endswith(":published")]
    expected = model.published(state)
    assert len(expected) >= 2 and len(pub) == 1
    assert sorted(pub[0]["y"]) == sorted(expected["shown"].tolist())
    assert all(-10 <= y <= 10 for y in pub[0]["y"]) and "Published pool" in pub[0]["text"][0]
    assert model.published(state.with_(measure="final")) is None


def test_a_kernel_prepared_before_a_data_change_serves_the_new_data(data_copy: Path, monkeypatch) -> None:
    """A preheated kernel read the data; `explorer add` then changed them: the page reads them
    again instead of serving the old evidence."""
    import os
    import types

    from explorer.dashboard import page
    from explorer.dashboard.preload import Start

    start = Start(data_dir=str(data_copy))
    kernel = types.SimpleNamespace(explorer_start=start)
    monkeypatch.setattr("IPython.get_ipython", lambda: types.SimpleNamespace(kernel=kernel))
    assert page._prepared_model(str(data_copy)) is not None  # unchanged data: the prepared model
    start = Start(data_dir=str(data_copy))
    start.model()
    kernel.explorer_start = start
    csv_file = data_copy / "studies.csv"
    st = csv_file.stat()
    os.utime(csv_file, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    assert page._prepared_model(str(data_copy)) is None  # stale: app() reads the data again


def _fonts(node, path=""):
    """Every font size in a layout (title, axes, legend, annotations), with where it is."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "font" and isinstance(v, dict) and "size" in v:
                yield f"{path}.font", v["size"]
            yield from _fonts(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _fonts(v, f"{path}[{i}]")


@pytest.mark.parametrize("view", ["time", "forest", "safety", "map"])
def test_a_slide_is_legible_and_labels_itself_once(model: Model, view: str) -> None:
    """'Download for a slide' (1600x900): every text at least 18 px, the view's title once, the
    whole selection in words, the footer wrapped (no line runs off the image)."""
    state = FilterState(designs=(), approaches=("transforaminal",), guidance=("fluoroscopy",), outcome="leg_pain")
    d = Dashboard(model, FilterState(designs=()), view=view)
    d.set_state(state)
    note = d.current.plot.export_note
    layout = note["layout"]
    assert (layout["width"], layout["height"]) == (1600, 900)
    sizes = dict(_fonts(layout))
    assert sizes and min(sizes.values()) >= 18, {k: v for k, v in sizes.items() if v < 18}
    assert any(a.get("name") == "explorer-footer" for a in layout["annotations"])
    title = note["title"]
    assert title.count(d.current.title) == 1, title  # never "Safety: Safety"
    footer = note["footer"].split("<br>")
    assert all(len(line) <= 140 for line in footer), footer  # about 0.55 em a glyph at 18 px on 1600 px
    words = " ".join(footer)
    for said in ("Transforaminal", "Fluoroscop", "Leg pain"):
        assert said.lower() in words.lower(), (said, words)


def test_the_forest_slide_keeps_its_comparison_and_lists_only_the_studies_drawn(model: Model) -> None:
    d = Dashboard(model, FilterState(designs=()), view="forest")
    forest = d.current
    therapy, window, comparator, rclass = forest.group.value.split("|")
    chosen, _ = model.forest(d.state, therapy, window, comparator, (), responder_class=rclass)
    drawn = sorted(set(chosen["label"]))
    note = forest.plot.export_note
    label = dict((v, k) for k, v in forest.group.options)[forest.group.value]
    assert html.escape(label) in note["title"]
    sub = [a["text"] for a in note["layout"]["annotations"] if a.get("name") == "explorer-subtitle"]
    assert sub and "Pooled" in sub[0]  # the figure's own title (its pool) stays, under the slide's
    footer = note["footer"]
    assert f"{len(drawn)} {'study' if len(drawn) == 1 else 'studies'} drawn" in footer
    others = set(model.studies(d.state)["label"]) - set(drawn)
    assert others and not [x for x in others if f" {html.escape(x)}," in footer or f" {html.escape(x)}." in footer]
    # leaving a study out leaves it out of the sources too
    forest.leave_out.value = (chosen["study_id"].iloc[0],)
    assert f"{len(drawn) - 1} {'study' if len(drawn) == 2 else 'studies'} drawn" in forest.plot.export_note["footer"]


def test_the_findings_csv_prints_rounded_numbers(model: Model) -> None:
    """Estimates to 4 significant digits, counts as whole numbers: never -0.8000000000000003."""
    from explorer.dashboard.views import exports_html

    state = FilterState(designs=())
    page = exports_html(model, state, model.ev.version)
    links = dict(re.findall(r"download='([^']+)' href='data:[^;]+;charset=utf-8;base64,([^']+)'", page))
    text = base64.b64decode(links[next(n for n in links if n.endswith("-findings.csv"))]).decode("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    f = model.findings(state)
    assert len(rows) == len(f)
    for col in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "vote_lb", "vote_ub"):
        for r, want in zip(rows, f[col], strict=True):
            if r[col]:
                digits = re.sub(r"^-?0*\.?0*", "", r[col].replace(".", "", 1).lstrip("-"))
                assert len(digits.rstrip("0")) <= 4, (col, r[col])
                assert float(r[col]) == pytest.approx(want, rel=1e-3, abs=1e-9)
    assert all(r["n_participants"] == "" or r["n_participants"].isdigit() for r in rows)
    assert not re.search(r"\d\.\d*(0000000|9999999)\d", text), "float noise in the CSV"


def test_a_sample_of_filter_pairs_answers_in_every_view(model: Model) -> None:
    """Pairs of tick boxes from two different filters (a seeded sample): drawn or said why."""
    import random

    from explorer.dashboard.filters import FILTERS

    picks = [(f.name, code) for f in FILTERS if f.kind == "many" for code, _ in model.choices(f.name)]
    pairs = [(a, b) for a, b in itertools.combinations(picks, 2) if a[0] != b[0]]
    sample = random.Random(23).sample(pairs, 25)
    states = [FilterState(**{a[0]: (a[1],), b[0]: (b[1],)}) for a, b in sample]
    assert _walk(Dashboard(model), states) == []
