"""The selection in the URL: parsing only selects among known values; links round-trip."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from explorer.analysis.windows import DEFAULT_WINDOWS
from explorer.dashboard import Dashboard, Model
from explorer.dashboard.filters import FILTERS
from explorer.dashboard.state import MEASURES, OUTCOME_CHOICES, FilterState
from explorer.dashboard.urlstate import parse, to_query
from explorer.data import load

from .conftest import DATA

THER = ["prp", "epidural_steroid", "bmc"]
IND = ["discogenic", "radiculopathy"]
KNOWN = {
    "outcome": list(OUTCOME_CHOICES),
    "measure": list(MEASURES),
    "therapies": THER,
    "indications": IND,
    "windows": [w.name for w in DEFAULT_WINDOWS],
    "approaches": ["caudal", "transforaminal"],
    "guidance": ["fluoroscopy"],
    "comparators": ["active"],
    "comparisons": ["approach", "guidance"],
    "designs": ["rct", "single_arm"],
    "rob": ["low", "high"],
}
YEARS = (1990, 2025)


def test_issue_example_and_round_trip() -> None:
    state, ignored = parse("therapy=prp&indication=discogenic&window=short", KNOWN, YEARS)
    assert state == FilterState(therapies=("prp",), indications=("discogenic",), windows=("short",))
    assert ignored == []
    assert parse(to_query(state), KNOWN, YEARS)[0] == state
    full = FilterState(outcome="function", measure="change", therapies=("prp", "bmc"), windows=("long",))
    assert parse("?" + to_query(full), KNOWN, YEARS)[0] == full


def test_unknown_keys_and_values_are_dropped() -> None:
    state, ignored = parse("therapy=prp,__import__('os')&outcome=<script>&evil=1&window=never", KNOWN, YEARS)
    assert state.therapies == ("prp",) and state.outcome == "pain" and state.windows == ()
    assert "therapy=__import__('os')" in ignored and "evil" in ignored and "window=never" in ignored


def _known_state(state: FilterState) -> None:
    assert set(state.therapies) <= set(THER) and set(state.indications) <= set(IND)
    assert state.outcome in OUTCOME_CHOICES and state.measure in MEASURES
    assert set(state.windows) <= {w.name for w in DEFAULT_WINDOWS}


@given(st.text(max_size=300))
def test_any_text_gives_a_known_state(query: str) -> None:
    _known_state(parse(query, KNOWN, YEARS)[0])


#: every value the dashboard knows (each outcome and measure included), and some it does not
VALUES = [*OUTCOME_CHOICES, *MEASURES, *THER, *IND, *(w.name for w in DEFAULT_WINDOWS), "all", "<b>", ""]
PAIRS = st.tuples(
    st.sampled_from(["outcome", "show", "therapy", "indication", "window", "view", "junk"]),
    st.sampled_from(VALUES) | st.text(max_size=12),
)


@given(st.lists(PAIRS, max_size=8))
def test_any_query_of_known_keys_gives_a_known_state(pairs: list[tuple[str, str]]) -> None:
    state, _ = parse(urlencode(pairs), KNOWN, YEARS)
    _known_state(state)
    for key, attr, allowed in (("outcome", "outcome", OUTCOME_CHOICES), ("show", "measure", MEASURES)):
        given_values = [v for k, v in pairs if k == key and v]
        if given_values and given_values[-1] in allowed:  # the last valid value given wins
            assert getattr(state, attr) == given_values[-1]


def test_every_outcome_and_measure_is_reachable_from_a_link() -> None:
    for outcome in OUTCOME_CHOICES:
        for measure in MEASURES:
            state = FilterState(outcome=outcome, measure=measure)
            assert parse(to_query(state), KNOWN, YEARS)[0] == state


def test_dashboard_starts_from_query_and_shows_link() -> None:
    model = Model(load(DATA))
    codes = model.therapy_codes()
    state, ignored = parse(f"therapy={codes[0]}&window=short&bogus=<b>x</b>", model.known(), model.year_range())
    d = Dashboard(model, state, ignored)
    assert d.panel.value["therapies"] == [codes[0]] and d.panel.value["windows"] == ["short"]
    assert f"?therapy={codes[0]}&amp;window=short" in d.link.value
    d.tabs.selected_index = [v.name for v in d.views].index("map")
    assert "view=map" in d.link.value
    assert "&lt;b&gt;" not in d.status.value or "<b>x</b>" not in d.status.value
    assert "bogus" in d.status.value
    d.panel._message(d.panel, {"event": "reset"}, [])  # the panel's Reset button
    assert "?view=map" in d.link.value and "therapy" not in d.link.value


def test_every_filter_round_trips_through_the_url() -> None:
    state = FilterState(
        outcome="responders",
        measure="change",
        therapies=("prp",),
        approaches=("caudal",),
        indications=("discogenic",),
        guidance=("fluoroscopy",),
        comparators=("active",),
        comparisons=("approach",),
        designs=("rct", "single_arm"),
        windows=("long",),
        rob=("low",),
        years=(2005, 2020),
        min_n=40,
        strict_placebo=True,
        inferred_scales=True,
        imputed_sd=False,
    )
    assert all(getattr(state, f.name) != f.default for f in FILTERS)  # every filter is exercised
    assert parse(to_query(state), KNOWN, YEARS)[0] == state
    every = state.with_(designs=())
    assert "design=all" in to_query(every) and parse(to_query(every), KNOWN, YEARS)[0] == every


def test_the_filter_table_makes_the_state_and_the_keys() -> None:
    """One entry per filter: a state field with the entry's default, a URL key, nothing else."""
    import dataclasses

    fields = {f.name: f.default for f in dataclasses.fields(FilterState)}
    assert fields == {f.name: f.default for f in FILTERS}
    assert len({f.key for f in FILTERS}) == len(FILTERS)
    assert to_query(FilterState()) == ""


def test_years_at_the_data_bounds_mean_no_bound() -> None:
    state, _ = parse("year=1990-2025", KNOWN, YEARS)
    assert state.years == (None, None)
    state, ignored = parse("year=20x5-2020", KNOWN, YEARS)
    assert state.years == (None, None) and ignored == ["year=20x5-2020"]
