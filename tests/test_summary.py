"""The plain-language summary: written from the findings frame, notes and harms, never surer than
its numbers. Hand-built frames, so each test fails on a wording change it is about; the bundled
data's paragraphs are checked apart (marker ``data``)."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from explorer.analysis.findings import COLUMNS
from explorer.analysis.harms import wilson
from explorer.analysis.summary import NOTE_CHARS, NOTES_SHOWN, overall_summary, therapy_summary

THERAPY, LABEL = "ther_x", "Test injection"


def finding(**kw) -> dict:
    row = dict.fromkeys(COLUMNS, np.nan)
    row.update(
        outcome="pain", therapy=THERAPY, comparator_kind="placebo_sham", window="short", measure="MD",
        responder_class="", k=0, studies="", direction_arm=0, direction_neither=0, direction_comparator=0,
        direction_studies="", review="", how_sure="none", how_sure_text="", sentence="",
    )  # fmt: skip
    row.update(kw)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS)


def studies(labels: dict[str, str], n: float | None = 50.0, design: str = "rct") -> pd.DataFrame:
    return pd.DataFrame(
        [{"study_id": sid, "therapy": THERAPY, "design": design, "study_n": n, "label": lab} for sid, lab in labels.items()]
    )


NO_HARMS = pd.DataFrame(columns=["therapy", "event_type", "unit", "events", "total", "ci_lb", "ci_ub"])
TRIALS = {"t_alpha": "Alpha 2001", "t_beta": "Beta 2003", "t_gamma": "Gamma 2005", "t_delta": "Delta 2010"}


def say(findings: pd.DataFrame, st: pd.DataFrame | None = None, harms=NO_HARMS, notes=None, changes=None) -> str:
    out = therapy_summary(THERAPY, LABEL, studies(TRIALS) if st is None else st, findings, harms, notes, changes)
    return html.unescape(out)


def test_one_trial_is_one_trial_never_a_pool() -> None:
    f = frame(finding(k=1, n_participants=80, estimate=-1.2, ci_lb=-2.0, ci_ub=-0.4, studies="Alpha 2001"))
    text = say(f)
    assert "For pain" not in text  # the first row of a class carries the class
    assert (
        "Versus placebo or sham, for pain up to 3 months, one trial (Alpha 2001; 80 participants) gives a "
        "difference of -1.2 points on a 0-10 scale (95% CI -2.0 to -0.4), favouring the injection." in text
    )
    assert "Between-group numbers come from 1 trial." in text
    assert "pool of" not in text and "pooled" not in text and "1 trials" not in text
    assert "How sure we are about pain up to 3 months versus placebo or sham: Very unsure (a single trial" in text


def test_pooled_trials_give_the_estimate_ci_trials_and_participants() -> None:
    f = frame(
        finding(k=3, n_participants=450, estimate=-0.9, ci_lb=-1.5, ci_ub=-0.3, window="intermediate",
                studies="Alpha 2001; Beta 2003; Gamma 2005", how_sure_text="Somewhat unsure (only a test)."),
        finding(outcome="function", k=2, n_participants=200, estimate=-3.0, ci_lb=-7.5, ci_ub=1.5,
                studies="Alpha 2001; Beta 2003"),
    )  # fmt: skip
    text = say(f)
    assert (
        "for pain at 3 to 12 months, 3 trials pooled (Alpha 2001, Beta 2003, Gamma 2005; 450 participants) gives "
        "a difference of -0.9 points on a 0-10 scale (95% CI -1.5 to -0.3), favouring the injection." in text
    )
    assert (
        "For function up to 3 months, 2 trials pooled (Alpha 2001, Beta 2003; 200 participants) gives a difference "
        "of -3.0 points on a 0-100 scale (95% CI -7.5 to 1.5), an interval that includes no difference." in text
    )
    assert text.count("Differences are injection minus comparator: below 0 favours the injection.") == 1
    assert "How sure we are about pain at 3 to 12 months versus placebo or sham: Somewhat unsure (only a test)." in text


def test_ratios_are_ratios_and_read_in_their_own_direction() -> None:
    f = frame(
        finding(outcome="responders", measure="RR", responder_class="pain_relief_50", k=2, n_participants=120,
                estimate=1.8, ci_lb=1.2, ci_ub=2.7, studies="Alpha 2001; Beta 2003", comparator_kind="active"),
        finding(outcome="surgery", measure="RR", k=1, n_participants=90, estimate=0.5, ci_lb=0.3, ci_ub=0.8,
                studies="Gamma 2005", comparator_kind="conservative", window="long"),
    )  # fmt: skip
    text = say(f)
    assert (
        "Versus an active comparator, for responders (at least 50% pain relief) up to 3 months, 2 trials pooled "
        "(Alpha 2001, Beta 2003; 120 participants) gives a risk ratio of 1.80 (95% CI 1.20 to 2.70), more "
        "responders with the injection." in text
    )
    assert "gives a risk ratio of 0.50 (95% CI 0.30 to 0.80), fewer operations with the injection." in text
    assert "Differences are injection minus comparator" not in text  # no difference was shown
    assert text.index("Versus conservative care") < text.index("Versus an active comparator")


def test_direction_only_trials_are_counted_by_direction_and_named() -> None:
    f = frame(
        finding(window="immediate", direction_arm=2, direction_neither=1,
                direction_studies="Alpha 2001; Beta 2003; Gamma 2005"),
        finding(outcome="function", comparator_kind="conservative", direction_comparator=1, direction_studies="Delta 2010"),
    )  # fmt: skip
    text = say(f)
    assert "No trial gives between-group numbers; 4 trials report only a direction or a p-value." in text
    assert (
        "Versus placebo or sham, for pain in the first 2 weeks, 3 trials report only a direction: 2 favour the "
        "injection, 1 shows no clear difference, 0 favour the comparator (Alpha 2001, Beta 2003, Gamma 2005)." in text
    )
    assert (
        "Versus conservative care, for function up to 3 months, one trial reports only a direction, favouring the "
        "comparator (Delta 2010)." in text
    )
    assert "How sure we are: no trial here gives a between-group estimate, so there is nothing to rate." in text
    assert "no evidence" not in text.lower()


def test_trials_beside_an_estimate_that_report_only_a_direction_are_counted_too() -> None:
    f = frame(finding(k=1, n_participants=60, estimate=0.3, ci_lb=-0.5, ci_ub=1.1, studies="Alpha 2001",
                      direction_arm=1, direction_neither=1, direction_studies="Beta 2003; Gamma 2005"))  # fmt: skip
    text = say(f)
    assert "Between-group numbers come from 1 trial; 2 more trials report only a direction or a p-value." in text
    assert (
        "an interval that includes no difference; 2 more trials report only a direction: 1 favours the injection, "
        "1 shows no clear difference, 0 favour the comparator (Beta 2003, Gamma 2005)." in text
    )


def test_rows_are_chosen_by_the_documented_rule() -> None:
    """Pain first: its longest and earliest windows with an estimate before any direction-only
    window; function gets the place left (its longest); three rows at most per class."""
    est = dict(k=1, n_participants=40, estimate=-1.0, ci_lb=-2.0, ci_ub=0.0, studies="Alpha 2001")
    f = frame(
        finding(window="immediate", direction_arm=1, direction_studies="Beta 2003"),
        finding(window="short", **est),
        finding(window="intermediate", **est),
        finding(window="long", direction_neither=1, direction_studies="Gamma 2005"),
        finding(outcome="function", window="short", direction_arm=1, direction_studies="Beta 2003"),
        finding(outcome="function", window="long", direction_arm=1, direction_studies="Delta 2010"),
    )
    text = say(f)
    assert "for pain up to 3 months, one trial" in text and "For pain at 3 to 12 months, one trial" in text
    assert "pain in the first 2 weeks" not in text and "pain at 12 months or later" not in text
    assert "For function at 12 months or later, one trial reports only a direction" in text
    assert "function up to 3 months" not in text
    assert text.index("pain up to 3 months") < text.index("pain at 3 to 12 months") < text.index("function at 12")


def test_a_responder_estimate_is_shown_when_pain_and_function_have_none() -> None:
    f = frame(
        finding(window="short", direction_arm=1, direction_studies="Beta 2003"),
        finding(window="long", direction_arm=1, direction_studies="Beta 2003"),
        finding(outcome="function", window="long", direction_arm=1, direction_studies="Beta 2003"),
        finding(outcome="responders", measure="RR", responder_class="global_rating", window="long", k=1,
                n_participants=70, estimate=1.1, ci_lb=0.7, ci_ub=1.7, studies="Alpha 2001"),
    )  # fmt: skip
    text = say(f)
    assert "For responders (a global rating of success) at 12 months or later, one trial (Alpha 2001; 70 participants)" in text
    assert "function at 12 months" not in text  # the responder estimate took the last place
    assert "How sure we are about responders (a global rating of success) at 12 months or later" in text


def test_a_published_review_is_quoted_once_as_given_and_escaped() -> None:
    review = "Rev <i>2019</i> (X vs placebo): MD -0.6 (-1.1 to -0.1), 5 trials; negative favours X"
    f = frame(
        finding(window="short", direction_arm=1, direction_studies="Alpha 2001", review=review),
        finding(window="long", direction_arm=1, direction_studies="Alpha 2001", review=review),
    )
    raw = therapy_summary(THERAPY, LABEL, studies(TRIALS), f, NO_HARMS)
    assert "<i>" not in raw and "Rev &lt;i&gt;2019&lt;/i&gt;" in raw
    text = html.unescape(raw)
    assert text.count("Published pools, versus placebo or sham (in the same convention: below 0 favours the injection): " + review + ".") == 1


def test_notes_of_trials_without_numbers_are_appended_shortened_and_escaped() -> None:
    f = frame(finding(k=1, n_participants=40, estimate=-1.0, ci_lb=-2.0, ci_ub=0.0, studies="Alpha 2001",
                      direction_neither=1, direction_studies="Beta 2003"))  # fmt: skip
    long_note = "Enrolment from two centres. " + "Pain was significantly lower with the injection " * 10
    notes = pd.DataFrame(
        {
            "study_id": ["t_alpha", "t_beta", "t_gamma", "t_delta"],
            "label": list(TRIALS.values()),
            "notes": [
                "Numbers read from table 2; not significantly different elsewhere.",
                "Abstract only. <script>alert(1)</script> Pain not significantly different at 8 weeks.",
                long_note,
                "",
            ],
        }
    )
    raw = therapy_summary(THERAPY, LABEL, studies(TRIALS), f, NO_HARMS, notes)
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    text = html.unescape(raw)
    assert "Reported without numbers: Beta 2003 — <script>alert(1)</script> Pain not significantly different at 8 weeks; " in text
    assert "Abstract only" not in text  # the sentences about results are kept, the rest left out
    assert "table 2" not in text  # a trial with a number in the findings has no note here
    gamma = text.split("Gamma 2005 — ", 1)[1].split(" No harms", 1)[0]
    assert gamma.endswith("…") and len(gamma) <= NOTE_CHARS + 2 and "two centres" not in gamma
    assert "Delta 2010 —" not in text  # an empty note says nothing


def test_notes_beyond_the_limit_are_counted_not_listed() -> None:
    many = {f"t_n{i}": f"Trial{i} 2000" for i in range(NOTES_SHOWN + 2)}
    notes = pd.DataFrame({"study_id": list(many), "label": list(many.values()), "notes": "Given only as p values."})
    text = say(frame(), st=studies(many), notes=notes)
    assert text.count(" — Given only as p values") == NOTES_SHOWN
    assert "Notes on 2 more trials without numbers are in the Studies tab." in text
    assert "No trial in this selection reports a comparison with a control group" in text


def test_missing_participant_numbers_are_said_never_zero() -> None:
    f = frame(finding(k=2, n_participants=np.nan, estimate=-0.5, ci_lb=-1.0, ci_ub=0.0, studies="Alpha 2001; Beta 2003"))
    text = say(f, st=studies(TRIALS, n=np.nan))
    assert f"{LABEL}: 4 studies (all randomised), participant numbers not reported." in text
    assert "2 trials pooled (Alpha 2001, Beta 2003; participant numbers not reported)" in text
    assert not re.search(r"(?<![\d.])0 participants", text) and "about 0" not in text
    st = studies(TRIALS)
    st.loc[st["study_id"] == "t_delta", "study_n"] = np.nan
    assert "150 participants, reported by 3 of 4 studies." in say(f, st=st)
    overall = html.unescape(overall_summary(studies(TRIALS, n=0), 5))
    assert overall == "This selection holds 4 studies (4 randomised trials; participant numbers not reported) and 5 data points."


def test_counts_are_pluralised() -> None:
    one = studies({"t_alpha": "Alpha 2001"}, n=1)
    text = say(frame(), st=one)
    assert text.startswith(f"{LABEL}: 1 study (randomised), 1 participant.")
    assert html.unescape(overall_summary(one, 1)) == (
        "This selection holds 1 study (1 randomised trial; 1 participant) and 1 data point."
    )
    mixed = pd.concat([studies(TRIALS), studies({"t_obs": "Obs 2015"}, design="cohort")])
    assert "5 studies (4 randomised), 250 participants." in say(frame(), st=mixed)
    everything = say(frame(finding(k=1, n_participants=1, estimate=0.0, ci_lb=-1, ci_ub=1, studies="Alpha 2001")))
    assert not re.search(r"\b1 (studies|trials|participants|groups)\b", everything)
    assert "-0.0" not in everything and "a difference of 0.0 points" in everything


def test_harms_give_events_of_total_with_the_interval() -> None:
    lb, ub = wilson(np.array([3.0]), np.array([120.0]))
    harms = pd.DataFrame(
        {
            "therapy": [THERAPY, THERAPY, "ther_other"],
            "event_type": ["pain_flare", "serious_any", "infection"],
            "unit": ["participants", "injections", "participants"],
            "events": [3.0, 0.0, 9.0],
            "total": [120.0, 40.0, 10.0],
            "ci_lb": [lb[0], np.nan, 0.5],
            "ci_ub": [ub[0], np.nan, 0.9],
            "reporting_studies": [2, 1, 1],
            "overlap": [True, False, False],
        }
    )
    text = say(frame(), harms=harms)
    assert (
        f"Harms counted per group: pain flare 3 of 120 participants (2.5%; 95% CI {100 * lb[0]:.2f}-{100 * ub[0]:.1f}%, "
        "2 studies) (sub-types added: an upper bound); any serious adverse event 0 of 40 injections "
        "(0%; 95% CI 0-8.8%, 1 study)." in text
    )
    assert "infection" not in text  # another therapy's harms
    assert "No harms were counted per group" in say(frame())


def test_within_group_changes_only_when_given() -> None:
    changes = pd.DataFrame({"therapy": THERAPY, "window": ["short", "short"], "series_id": ["a", "b"], "change": [-2.0, -3.0]})
    assert "natural recovery" not in say(frame())
    text = say(frame(), changes=changes)
    assert "pain on a 0-10 scale fell by 2.5 points up to 3 months (median of 2 groups)" in text
    assert "natural recovery" in text


def test_other_therapies_and_empty_selections() -> None:
    f = frame(finding(therapy="ther_other", k=4, n_participants=400, estimate=-2.0, ci_lb=-3, ci_ub=-1, studies="Zed 1999"))
    text = say(f)
    assert "Zed 1999" not in text and "Between-group numbers" not in text
    assert therapy_summary(THERAPY, LABEL, studies(TRIALS).iloc[0:0], f, NO_HARMS) == ""
    assert overall_summary(studies(TRIALS).iloc[0:0], 0) == "No study matches this selection."


def test_data_text_is_escaped_everywhere() -> None:
    evil = "<img src=x onerror=alert(1)>"
    f = frame(finding(k=1, n_participants=40, estimate=-1.0, ci_lb=-2.0, ci_ub=0.0, studies=evil,
                      direction_arm=1, direction_studies=evil, review=evil, how_sure_text=evil))  # fmt: skip
    st = studies({"t_alpha": evil})
    notes = pd.DataFrame({"study_id": ["t_alpha"], "label": [evil], "notes": [evil]})
    raw = therapy_summary(THERAPY, evil, st, f, NO_HARMS, notes)
    assert "<" not in raw and ">" not in raw and "&lt;img" in raw


@pytest.mark.data
def test_bundled_paragraphs_read_plainly() -> None:
    from explorer.dashboard.state import FilterState, Model
    from explorer.data.load import load
    from explorer.figures.safety import safety_table

    m = Model(load())
    state = FilterState()
    st, f = m.studies(state), m.findings(state)
    harms = safety_table(m.harms(state))
    notes = m.ev.studies[m.ev.studies["study_id"].isin(set(st["study_id"]))][["study_id", "label", "notes"]]
    texts = {
        code: html.unescape(therapy_summary(code, label, st, f, harms, notes))
        for code, label in m.labels("arms", "therapy").items()
    }
    texts = {c: t for c, t in texts.items() if t}
    assert "epidural_steroid" in texts
    for text in texts.values():
        assert not re.search(r"\b1 (studies|trials|participants)\b", text)
        assert not re.search(r"(?<![\d.])0 participants", text) and "about 0" not in text
        assert "a pool of 1" not in text and "How sure we are" in text
    es = texts["epidural_steroid"]
    assert "Versus placebo or sham" in es and "report only a direction" in es and "Reported without numbers:" in es
    assert "95% CI" in es and "Published pools, versus placebo or sham" in es


def test_breaks_put_each_comparator_class_on_its_own_line() -> None:
    f = frame(
        finding(k=1, n_participants=80, estimate=-1.2, ci_lb=-2.0, ci_ub=-0.4, studies="Alpha 2001"),
        finding(comparator_kind="active", direction_neither=1, direction_studies="Beta 2003"),
    )
    plain = say(f)
    lines = html.unescape(therapy_summary(THERAPY, LABEL, studies(TRIALS), f, NO_HARMS, breaks=True)).split("\n")
    assert "\n" not in plain and " ".join(lines) == plain  # the same words, broken into lines
    assert [line.split(",")[0] for line in lines[1:3]] == ["Versus placebo or sham", "Versus an active comparator"]
    assert lines[3].startswith("How sure we are") and lines[-1].startswith(("Harms", "No harms"))
