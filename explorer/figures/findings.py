"""The summary-of-findings table as HTML: for the dashboard and as a page that stands alone on a
slide (title, selection in words, dataset version, sources). Pure: a findings frame in, text out;
every piece of text from the data is escaped."""

from __future__ import annotations

import html
from importlib import resources

import numpy as np
import pandas as pd

from explorer.analysis.findings import outcome_label

WINDOW_WORDS = {
    "immediate": "≤ 2 weeks",
    "short": "2 weeks to 3 months",
    "intermediate": "3 to 12 months",
    "long": "≥ 12 months",
}
SURE_CLASS = {"moderate": "sure-moderate", "low": "sure-low", "very low": "sure-verylow", "none": "sure-none"}
#: the table's style sheet (its own file; inlined in the dashboard and in the standalone page)
STYLE = resources.files("explorer.figures").joinpath("static", "findings.css").read_text(encoding="utf-8")


#: the finer comparisons in words (as compared with the therapy)
COMPARISON_WORDS = {
    "systemic_drug": "a systemic drug",
    "other_therapy": "another therapy",
    "approach": "another approach",
    "agent": "another agent",
    "dose": "another dose",
    "guidance": "another image guidance",
    "injections": "another number of injections",
}


def comparison_words(row: pd.Series | dict, therapy_labels: dict[str, str], kind_labels: dict[str, str]) -> str:
    """A row's comparison as compared: 'Epidural steroid injection vs placebo/sham', or for the
    finer comparisons what differs ('Epidural steroid injection: transforaminal vs caudal
    (another approach)')."""
    therapy = therapy_labels.get(row["therapy"], row["therapy"])
    comparison = str(row.get("comparison", "") or "")
    variant = str(row.get("variant", "") or "")
    if comparison in COMPARISON_WORDS:
        if variant:
            return f"{therapy}: {variant} ({COMPARISON_WORDS[comparison]})"
        return f"{therapy} vs {COMPARISON_WORDS[comparison]}"
    return f"{therapy} vs {kind_labels.get(row['comparator_kind'], row['comparator_kind'])}"


def _e(x: object) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x))


def _pi(r: pd.Series) -> str:
    if not r["k"] or pd.isna(r["pi_lb"]):
        return "needs 3 trials" if r["k"] else ""
    ratio = str(r["measure"]) in ("RR", "OR")
    return f"{r['pi_lb']:.2f} to {r['pi_ub']:.2f}" if ratio else f"{r['pi_lb']:.1f} to {r['pi_ub']:.1f}"


def _direction(r: pd.Series) -> str:
    n = int(r["direction_arm"] + r["direction_neither"] + r["direction_comparator"])
    if not n:
        return ""
    return (
        f"<span class='dir' title='{_e(r['direction_studies'])}'>▲ {int(r['direction_arm'])} · "
        f"◆ {int(r['direction_neither'])} · ▼ {int(r['direction_comparator'])}</span>"
    )


def _trials_title(r: pd.Series) -> str:
    """The trials of a row, and where its participant number comes from."""
    if pd.isna(r["n_participants"]) and pd.notna(r.get("n_randomised", np.nan)):
        return f"{r['studies']} (arm sizes not printed in the pooled rows: the trials' randomised numbers)"
    return str(r["studies"])


def _answer_cell(r: pd.Series) -> str:
    """The best answer the row holds (see :func:`explorer.analysis.findings._answer`), with the
    prediction interval where a pool has one and what the answer rests on."""
    answer = str(r.get("answer", "") or "")
    if not answer:
        return "<td class='answer'>–</td>"
    basis = str(r.get("answer_basis", ""))
    pi = ""
    if r["k"] and pd.notna(r.get("pi_lb", np.nan)):
        pi = f"<div class='sub'>prediction interval {_e(_pi(r))}</div>"
    return f"<td class='answer basis-{_e(basis.replace(' ', '-'))}'><div>{_e(answer)}</div>{pi}<div class='sub'>{_e(basis)}</div></td>"


def _votes_cell(r: pd.Series) -> str:
    n = int(r.get("vote_trials", 0) or 0)
    if not n:
        return "<td></td>"
    text = str(r.get("vote_text", ""))
    names = str(r.get("direction_studies", ""))
    return (
        f"<td class='votes'>{_direction(r) or ''}<details><summary>{n} trial{'s' if n != 1 else ''} by direction</summary>"
        f"<div class='sub'>{_e(text)}</div><div class='sub'>{_e(names)}</div></details></td>"
    )


def findings_html(df: pd.DataFrame, therapy_labels: dict[str, str], kind_labels: dict[str, str], caption: str = "") -> str:
    """The table, the answer first. Columns: comparison, when, outcome, the best answer the data
    hold (our pool; else published pools of the comparison and window; else the vote count with
    its CI), trials (participants), trials outside the pool by direction of their estimate (▲
    favour the therapy, ◆ no difference, ▼ favour the comparator; the vote count on opening),
    published pools (normalised: negative favours the therapy), how sure. Details open on click
    or keyboard (no tooltip-only content)."""
    if df.empty:
        return "<p>No trial in this selection compares a therapy with a comparator on these outcomes.</p>"
    head = (
        "<tr><th scope='col'>Therapy vs comparator</th><th scope='col'>When</th><th scope='col'>Outcome</th>"
        "<th scope='col'>Answer (95% CI)</th><th scope='col'>Trials (n)</th>"
        "<th scope='col'>Trials by direction ▲◆▼</th><th scope='col'>Published pools</th>"
        "<th scope='col'>How sure</th></tr>"
    )
    body = []
    for _, r in df.iterrows():
        comparison = comparison_words(r, therapy_labels, kind_labels)
        outcome = outcome_label(str(r["outcome"]))
        if r["responder_class"]:
            outcome += f" ({str(r['responder_class']).replace('_', ' ')})"
        if pd.notna(r["n_participants"]):
            n = f" ({int(r['n_participants'])})"
        elif pd.notna(r.get("n_randomised", np.nan)):
            n = f" ({int(r['n_randomised'])} randomised)"
        else:
            n = " (n not reported)"
        trials = f"{int(r['k'])}{n}" if r["k"] else "none pooled"
        review = str(r.get("review", "") or "")
        published = (
            f"<details><summary>{_e(r.get('review_short', review))}</summary><div class='sub'>{_e(review)}</div></details>"
            if review
            else ""
        )
        sure = _e(r["how_sure"] if r["k"] else "–")
        body.append(
            f"<tr><td>{_e(comparison)}</td><td>{_e(WINDOW_WORDS.get(r['window'], r['window']))}</td>"
            f"<td>{_e(outcome)}</td>{_answer_cell(r)}"
            f"<td class='count'><details><summary>{_e(trials)}</summary><div class='sub'>{_e(_trials_title(r))}</div>"
            f"<div class='sub'>{_e(r['sentence'])}</div></details></td>"
            f"{_votes_cell(r)}<td class='review'>{published}</td>"
            f"<td class='{SURE_CLASS.get(r['how_sure'], '')}'><details><summary>{sure}</summary>"
            f"<div class='sub'>{_e(r['how_sure_text'])}</div></details></td></tr>"
        )
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return (
        f"<style>{STYLE}</style><div class='explorer-sof-wrap'><table class='explorer-sof'>{cap}<thead>{head}</thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def findings_page(df: pd.DataFrame, therapy_labels: dict[str, str], kind_labels: dict[str, str], *,
                  title: str, selection: str, version: str, sources: str) -> str:  # fmt: skip
    """A standalone HTML page of the table for a slide or a handout (no script, no external request)."""
    note = (
        "Effects are intervention minus comparator: pain in points on 0-10 and function in % of the scale "
        "(negative favours the therapy); RR above 1 favours the therapy for responders and below 1 for surgery. "
        "Published pools are shown in the same convention, whatever sign the review printed. A vote count says "
        "whether trials point one way, not how large the effect is. "
        "How sure is a rough guide from each pool's own numbers, not a GRADE rating."
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title></head><body style='font-family:sans-serif;margin:24px'>"
        f"<h1 style='font-size:1.4em'>{_e(title)}</h1><p>{_e(selection)}</p>"
        + findings_html(df, therapy_labels, kind_labels)
        + f"<p style='color:#555'>{_e(note)}</p><p style='color:#555'>Dataset {_e(version)}. Sources: {_e(sources)}</p>"
        "</body></html>"
    )
