"""The filter table: loose values become a valid state; the mask tests what each level says."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from explorer.dashboard.filters import FILTERS, FilterState, clean, mask, panel_spec, values

KNOWN = {"outcome": ["pain", "function"], "measure": ["final"], "therapies": ["prp", "epidural_steroid"],
         "designs": ["rct", "cohort"], "windows": ["short", "long"], "comparators": ["placebo_sham", "active"]}  # fmt: skip
YEARS = (1990, 2025)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from([f.name for f in FILTERS] + ["junk"]), JSON, max_size=8))
def test_any_panel_value_gives_a_valid_state(loose: dict) -> None:
    """The panel's value comes from a browser: whatever it holds, the state is valid."""
    state, _ = clean(loose, KNOWN, YEARS)
    for f in FILTERS:
        v = getattr(state, f.name)
        if f.kind == "one":
            assert v == f.default or v in KNOWN[f.name]
        elif f.kind == "many":
            assert isinstance(v, tuple) and set(v) <= set(KNOWN.get(f.name, ()))
        elif f.kind == "switch":
            assert isinstance(v, bool)
        elif f.kind == "years":
            lo, hi = v
            assert lo is None or YEARS[0] < lo <= YEARS[1]
            assert hi is None or YEARS[0] <= hi < YEARS[1]
            assert lo is None or hi is None or lo <= hi
        else:
            assert isinstance(v, int) and 0 <= v < 100_000
    hash(state)  # memoisable


def test_values_round_trip_through_clean() -> None:
    state = FilterState(therapies=("prp",), designs=(), years=(2000, None), min_n=30, imputed_sd=False)
    assert clean(values(state), KNOWN, YEARS)[0] == state


def test_panel_spec_lists_every_filter_in_order() -> None:
    spec = panel_spec({"therapies": [("prp", "PRP <b>")]}, YEARS)
    assert [e["name"] for e in spec] == [f.name for f in FILTERS]
    therapy = next(e for e in spec if e["name"] == "therapies")
    assert therapy["options"] == [["prp", "PRP <b>"]]  # the component writes labels as text, not HTML
    assert next(e for e in spec if e["name"] == "years")["min"] == 1990


ARMS = pd.DataFrame(
    {
        "study_id": ["a", "a", "b", "b", "c"],
        "therapy": ["prp", "epidural_steroid", "epidural_steroid", "saline", "prp"],
        "role": ["intervention", "comparator", "intervention", "comparator", "intervention"],
        "design": ["rct", "rct", "rct", "rct", "cohort"],
        "window": ["short", "short", "long", "long", "short"],
        "year": [2001, 2001, 2010, 2010, 2020],
        "study_n": [40, 40, 100, 100, 12],
    }
)
STUDY_ARMS = ARMS[ARMS["role"] == "intervention"].drop(columns=["role", "window"])


def _arm_studies(state) -> set:
    return set(STUDY_ARMS["study_id"][mask(STUDY_ARMS, state, "studies", levels=("arm",))])


def test_a_therapy_keeps_the_control_arms_of_its_trials() -> None:
    state = FilterState(therapies=("prp",), designs=())
    kept = ARMS[mask(ARMS, state, "arms", arm_studies=_arm_studies)]
    assert list(kept.index) == [0, 1, 4]  # a's steroid control stays; b's steroid intervention goes


def test_study_and_row_levels() -> None:
    state = FilterState(designs=("rct",), windows=("long",), years=(2005, None), min_n=50)
    assert list(ARMS[mask(ARMS, state, "arms", arm_studies=_arm_studies)].index) == [2, 3]
    # windows are not applied to a list of studies
    assert list(STUDY_ARMS[mask(STUDY_ARMS, state, "studies")].index) == [2]


def test_comparison_level_uses_the_study_lookup_unless_rows_are_contrasts() -> None:
    state = FilterState(comparators=("placebo_sham",), designs=())
    lookup = {"a": frozenset({"active"}), "b": frozenset({"placebo_sham"})}
    kept = ARMS[mask(ARMS, state, "arms", arm_studies=_arm_studies, study_comparators=lookup)]
    assert set(kept["study_id"]) == {"b"}
    contrasts = pd.DataFrame({"study_id": ["a", "b"], "comparator_kind": ["placebo_sham", "active"]})
    assert list(mask(contrasts, state, "contrasts", study_comparators=lookup)) == [True, False]
