"""The summary-of-findings table: pooled cells, direction-only cells, review matching, escaping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from explorer.analysis.findings import direction_counts, findings
from explorer.data import load
from explorer.figures.findings import findings_html, findings_page

from .builders import make_package, review_estimate
from .test_effects import trial


def _package(tmp_path: Path):
    s1, a1, o1 = trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38))
    s2, a2, o2 = trial("bbb2021", "10.1000/b", (2.5, 1.8, 50), (3.1, 2.0, 52))
    # a third trial reports only a direction, once with the arms swapped (comparator first)
    s3 = dict(study_id="ccc2022", label="Ccc <b>2022</b>", doi="10.1000/c")
    a3 = [
        dict(study_id="ccc2022", arm_id="steroid"),
        dict(study_id="ccc2022", arm_id="control", therapy="saline", agent_class="saline", role="comparator",
             comparator_kind="placebo_sham"),
    ]  # fmt: skip
    o3 = [
        dict(outcome_id="ccc2022_001", study_id="ccc2022", arm_id="control", comparator_arm_id="steroid",
             measure="test", favours="comparator", scale_min="", scale_max="", scale_basis="", higher_is_better=""),
    ]  # fmt: skip
    # the pooled trial aaa also reports a direction: it must not be counted twice
    o1.append(dict(outcome_id="aaa2020_003", study_id="aaa2020", arm_id="steroid", comparator_arm_id="control",
                   measure="test", favours="arm", scale_min="", scale_max="", scale_basis="", higher_is_better=""))  # fmt: skip
    reviews = dict(study_id="rev2019", label="Rev 2019", doi="10.1000/r", design="systematic_review",
                   blinding="not_applicable")  # fmt: skip
    estimates = [
        review_estimate("rev2019_re01", (-0.6, -1.1, -0.1), timing="short", time_weeks_min=2, time_weeks_max=13,
                        scale_min=0, scale_max=10, k_studies=5, n_participants=600, i2=20,
                        notes="negative favours ESI"),
        review_estimate("rev2019_re02", (-0.1, -0.5, 0.3), timing="long", time_weeks_min=52, scale_min=0,
                        scale_max=10, k_studies=3, n_participants=300, i2=0, notes="negative favours ESI"),
    ]  # fmt: skip
    d = make_package(tmp_path / "d", [s1, s2, s3, reviews], a1 + a2 + a3, o1 + o2 + o3, review_estimates=estimates)
    return load(d)


def test_direction_votes_are_oriented_to_the_intervention(tmp_path: Path) -> None:
    v = direction_counts(_package(tmp_path)).set_index("study_id")
    assert v.at["ccc2022", "favours"] == "arm"  # 'comparator' seen from the control arm
    assert v.at["ccc2022", "therapy"] == "epidural_steroid" and v.at["ccc2022", "comparator_kind"] == "placebo_sham"


def test_findings_pool_count_directions_once_and_match_reviews_by_window(tmp_path: Path) -> None:
    f = findings(_package(tmp_path))
    row = f[(f["outcome"] == "pain") & (f["window"] == "short")].iloc[0]
    assert row["k"] == 2 and row["n_participants"] == 40 + 38 + 50 + 52
    assert (row["direction_arm"], row["direction_neither"], row["direction_comparator"]) == (1, 0, 0)  # ccc only
    assert "Rev 2019: −0.6 (−1.1 to −0.1) points on 0-10, favours the therapy; 5 trials, 600 participants" in row["review"]
    assert "3 trials" not in row["review"]  # the long-term estimate belongs to another window
    assert row["answer"].startswith("−") and row["answer_basis"] == "pool" and "published: Rev 2019" in row["answer"]
    assert "a pool of 2 trials" in row["sentence"]


def test_one_trial_is_never_a_pool(tmp_path: Path) -> None:
    """A single trial is 'one trial' in the row's sentence, and a review estimate from one trial
    says '1 trial': never 'a pool of 1 trials' nor '1 trials' (two trials, for contrast, are a pool)."""
    import re

    s1, a1, o1 = trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38))
    s2, a2, o2 = trial("bbb2021", "10.1000/b", (2.5, 1.8, 50), (3.1, 2.0, 52), weeks=(52,))  # one per window
    reviews = dict(study_id="rev2019", label="Rev 2019", doi="10.1000/r", design="systematic_review",
                   blinding="not_applicable")  # fmt: skip
    estimates = [review_estimate("rev2019_re01", (-0.6, -1.1, -0.1), timing="short", time_weeks_min=2,
                                 time_weeks_max=13, scale_min=0, scale_max=10, k_studies=1, n_participants=78)]  # fmt: skip
    ev = load(make_package(tmp_path / "d", [s1, s2, reviews], a1 + a2, o1 + o2, review_estimates=estimates))
    f = findings(ev)
    one = f[(f["outcome"] == "pain") & (f["k"] == 1)]
    assert len(one) == 2  # the short and the long window, one trial each
    for r in one.itertuples():
        assert ", one trial: " in r.sentence, r.sentence
        said = f"{r.sentence} {r.how_sure_text}"
        assert "not a pool" in r.how_sure_text and not re.search(r"(?<!not a )\bpool|\b1 trials\b", said), said
    short = one[one["window"] == "short"].iloc[0]
    assert "1 trial" in short["review"] and not re.search(r"\b1 trials\b", short["review"]), short["review"]
    two = findings(_package(tmp_path / "two"))
    assert "a pool of 2 trials" in two.loc[two["k"] == 2, "sentence"].iloc[0]


def test_findings_html_escapes_text_from_the_data(tmp_path: Path) -> None:
    f = findings(_package(tmp_path))
    text = findings_html(f, {}, {})
    assert "<b>2022</b>" not in text and "&lt;b&gt;2022&lt;/b&gt;" in text
    page = findings_page(f, {}, {}, title="T <i>", selection="s", version="0.3.0", sources="x")
    assert "<i>" not in page.split("<body")[1] and "Dataset 0.3.0" in page
    assert findings_html(pd.DataFrame(columns=f.columns), {}, {}).startswith("<p>No trial")


def test_study_card_lists_every_number_with_its_locator_and_links(tmp_path: Path) -> None:
    from explorer.figures.study_card import study_card_html

    ev = _package(tmp_path)
    card = study_card_html("ccc2022", ev.studies, ev.arms, ev.outcomes, {"therapy": {"saline": "Saline"}})
    assert "&lt;b&gt;2022&lt;/b&gt;" in card and "<b>2022</b>" not in card  # text from data is escaped
    assert "href='https://doi.org/10.1000/c'" in card
    assert "favours comparator" in card and "Saline" in card
    aaa = study_card_html("aaa2020", ev.studies, ev.arms, ev.outcomes)
    rows = ev.outcomes[ev.outcomes["study_id"] == "aaa2020"]
    assert aaa.count("<td>abstract</td>") == len(rows)  # one locator cell per number row
    assert "mean 3" in aaa and "sd 2" in aaa
    assert study_card_html("nope", ev.studies, ev.arms, ev.outcomes) == "<p>No such study.</p>"


def test_randomised_numbers_stand_in_only_when_every_trial_has_one() -> None:
    """Where pooled rows print no arm sizes, the table gives the trials' randomised numbers, and
    only when all are known (a partial sum would read as the whole)."""
    import numpy as np
    import pandas as pd

    from explorer.analysis.findings import _randomised
    from explorer.figures.findings import findings_html

    n = pd.Series({"A 2001": 40.0, "B 2002": 60.0, "C 2003": np.nan})
    assert _randomised("A 2001; B 2002", n) == 100
    assert np.isnan(_randomised("A 2001; C 2003", n)) and np.isnan(_randomised("", n))
    assert np.isnan(_randomised("Z 1999", n))
    row = {"outcome": "pain", "therapy": "t", "comparator_kind": "placebo_sham", "window": "short", "measure": "MD",
           "responder_class": "", "k": 1, "n_participants": np.nan, "n_randomised": 100.0, "estimate": -1.0,
           "ci_lb": -2.0, "ci_ub": 0.0, "pi_lb": np.nan, "pi_ub": np.nan, "studies": "A 2001", "direction_arm": 0,
           "direction_neither": 0, "direction_comparator": 0, "direction_studies": "", "review": "",
           "review_short": "", "how_sure": "very low", "how_sure_text": "", "sentence": ""}  # fmt: skip
    page = findings_html(pd.DataFrame([row]), {}, {})
    assert "1 (100 randomised)" in page and "arm sizes not printed" in page
    assert "n not reported" in findings_html(pd.DataFrame([{**row, "n_randomised": np.nan}]), {}, {})


def test_published_estimates_are_shown_in_the_project_convention_on_0_to_10(tmp_path: Path) -> None:
    """A review printing 'positive favours the therapy' on 0-100 reads as a negative number of
    points on 0-10; a window where no trial reports answers with the published estimate."""
    s1, a1, o1 = trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38))
    rev = dict(study_id="rev2019", label="Rev 2019", doi="10.1000/r", design="systematic_review",
               blinding="not_applicable")  # fmt: skip
    est = [
        review_estimate("rev2019_re01", (12.0, 4.0, 20.0), printed_convention="positive_favours_therapy",
                        timing="3 to 12 months", time_weeks_min=13, time_weeks_max=52, scale_min=0,
                        scale_max=100, k_studies=4, n_participants=420),
    ]  # fmt: skip
    ev = load(make_package(tmp_path / "d", [s1, rev], a1, o1, review_estimates=est))
    f = findings(ev)
    row = f[(f["outcome"] == "pain") & (f["window"] == "intermediate")].iloc[0]
    assert row["k"] == 0 and row["answer_basis"] == "published"
    assert "−1.2 (−2 to −0.4) points on 0-10, favours the therapy" in row["answer"] and "4 trials, 420 participants" in row["answer"]


def test_a_cell_without_estimates_answers_with_its_vote_count(tmp_path: Path) -> None:
    import dataclasses

    ev = _package(tmp_path)
    assert findings(ev, studies=["ccc2022"]).iloc[0]["answer_basis"] == "published"  # published first
    ev = dataclasses.replace(ev, review_estimates=ev.review_estimates.iloc[0:0])
    f = findings(ev, studies=["ccc2022"])  # the trial that reports only a direction
    row = f[(f["k"] == 0) & (f["vote_trials"] > 0)]
    assert len(row) == 1
    r = row.iloc[0]
    assert r["answer_basis"] == "vote count" and r["answer"].startswith("1 of 1 trial favours the therapy")
    assert "95% CI 0.21 to 1.00" in r["answer"] and "sign test p = 1" in r["answer"]
    assert "not how large" in r["vote_text"]


def test_published_pools_table_marks_disagreement_and_escapes(tmp_path: Path) -> None:
    from explorer.analysis.reviews import overlap, reviews
    from explorer.figures.reviews import reviews_html

    s1, a1, o1 = trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38))
    revs = [
        dict(study_id=f"rev{y}", label=f"Rev <i>{y}</i>", doi=f"10.1000/r{y}", design="systematic_review",
             blinding="not_applicable", year=str(y))
        for y in (2019, 2021)
    ]  # fmt: skip
    est = [
        review_estimate("rev2019_re01", (-0.6, -1.1, -0.1), time_weeks_min=2, time_weeks_max=13, scale_min=0, scale_max=10),
        review_estimate("rev2021_re01", (0.2, -0.3, 0.7), time_weeks_min=2, time_weeks_max=13, scale_min=0, scale_max=10),
    ]  # fmt: skip
    ev = load(make_package(tmp_path / "d", [s1, *revs], a1, o1, review_estimates=est))
    page = reviews_html(reviews(ev), overlap(ev))
    assert "<i>" not in page and "Rev &lt;i&gt;2021&lt;/i&gt;" in page
    assert page.index("2021") < page.index("Rev &lt;i&gt;2019")  # most recent first
    assert "the reviews differ" in page  # one CI excludes no effect, the other does not
    same = reviews_html(reviews(ev)[lambda t: t["estimate_id"] == "rev2019_re01"], overlap(ev))
    assert "the reviews differ" not in same
    one_review = reviews(ev).assign(review="Rev 2019")  # one review's two estimates are one voice
    assert "the reviews differ" not in reviews_html(one_review, overlap(ev))
