"""The published pooled estimates as one table: comparisons and windows down, the reviews side
by side within each row (one block per review, most recent first; a column per review left most
cells empty and ran far off a 1366-pixel screen).

Pure: the harmonised review table (:func:`explorer.analysis.reviews.reviews`), the overlap per
comparison and, optionally, the explorer's own findings in; HTML out, every text from the data
escaped. Each cell is a review's estimate in the project's convention (negative favours the
therapy; ratios therapy over comparator) with its CI and k; a row whose reviews disagree, in
direction or in whether their CI excludes no effect, is marked, so a reader sees at once where
the literature is not of one voice.
"""

from __future__ import annotations

import html

import pandas as pd

from explorer.figures.findings import COMPARISON_WORDS, STYLE, WINDOW_WORDS

CLASS_WORDS = {
    "placebo_sham": "placebo/sham",
    "conservative": "conservative care",
    **COMPARISON_WORDS,
    "mixed_controls": "mixed controls",
    "single_arm": "before/after (no comparator)",
}
OUTCOME_WORDS = {"pain_leg": "Leg pain", "pain_back": "Back pain", "pain_overall": "Pain", "function": "Function"}
WINDOW_ORDER = ["immediate", "short", "intermediate", "long", "pooled across times", "not stated"]


def _e(x: object) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x))


def _when(r: dict) -> list[str]:
    if r["time_basis"] == "window" and r["windows"]:
        return list(r["windows"])
    return ["pooled across times" if r["time_basis"] == "pooled_across_times" else "not stated"]


def _cell(r: dict) -> str:
    body = r["text"].split(": ", 1)[-1]
    mark = {"therapy": "▲", "comparator": "▼", "neither": "◆", "improved": "▲", "worsened": "▼"}.get(r["favours"], "")
    return (
        f"<div class='est'>{_e(mark)} {_e(body)}</div>"
        f"<div class='sub'>{_e(r['comparison'])}; {_e(r['timing'])}{'; relayed by ' + _e(r['relay_source']) if r['source'] == 'relay' else ''}</div>"
    )


def reviews_html(table: pd.DataFrame, overlap: pd.DataFrame, ours: dict | None = None, therapy_labels: dict | None = None) -> str:
    """The table (see the module docstring). ``ours``: (therapy, comparator_kind, outcome, window)
    -> our answer text for the same comparison, shown beside the published pools."""
    if table.empty:
        return "<p>No published pooled estimate in the data for this selection.</p>"
    therapy_labels = therapy_labels or {}
    ours = ours or {}
    rows: dict[tuple, dict] = {}
    for r in table.to_dict("records"):
        outcome = OUTCOME_WORDS.get(r["domain"], str(r["domain"]).replace("_", " ").capitalize())
        for when in _when(r):
            cls = r["comparison_class"] if isinstance(r["comparison_class"], str) else ""
            key = (str(r["therapy"]), cls, outcome, when)
            rows.setdefault(key, {"cells": {}, "kind": r["comparator_kind"], "outcome": r["outcome"], "sides": {}})
            rows[key]["cells"].setdefault(r["review"], []).append(r)
            if r["favours"]:  # a review's first estimate speaks for it (crude and adjusted are one voice)
                rows[key]["sides"].setdefault(r["review"], r["favours"])
    cca = {(o["therapy"], o["comparison_class"]): o for o in overlap.to_dict("records")} if len(overlap) else {}
    body = []
    order = sorted(rows, key=lambda k: (k[0], k[1], k[2], WINDOW_ORDER.index(k[3]) if k[3] in WINDOW_ORDER else 9))
    for key in order:
        therapy, cls, outcome, when = key
        row = rows[key]
        disagree = len(set(row["sides"].values())) > 1
        o = cca.get((therapy, cls))
        over = f"Overlap: CCA {o['cca']:.0f}% ({o['overlap']}), {o['r']} trials" if o and pd.notna(o["cca"]) else ""
        window = when if when in WINDOW_WORDS else None
        our = ours.get((therapy, row["kind"], row["outcome"], window), "") if window else ""
        # reviews side by side within the row, most recent first: one block per review
        by_year = sorted(row["cells"].items(), key=lambda kv: (-(kv[1][0]["year"] if pd.notna(kv[1][0]["year"]) else 0), kv[0]))
        cells = "".join(
            f"<div class='review-est'><b>{_e(name)}</b>{''.join(_cell(r) for r in rs)}</div>" for name, rs in by_year
        )
        flag = "<div class='disagree'>⚠ the reviews differ in direction or in whether the CI excludes no effect</div>" if disagree else ""
        label = f"{therapy_labels.get(therapy, therapy)} vs {CLASS_WORDS.get(cls, cls or 'unclassified')}"
        body.append(
            f"<tr class='{'reviews-differ' if disagree else ''}'><th scope='row'>{_e(label)}<div class='sub'>{_e(outcome)} · "
            f"{_e(WINDOW_WORDS.get(when, when))}</div><div class='sub'>{_e(over)}</div></th>"
            f"<td class='ours'>{_e(our) or '–'}</td><td><div class='review-row'>{cells}</div>{flag}</td></tr>"
        )
    return (
        f"<style>{STYLE}</style><div class='explorer-sof-wrap'><table class='explorer-sof explorer-reviews'>"
        "<caption>Published pooled estimates, in one convention: negative differences and ratios below 1 "
        "for harms favour the therapy (▲ the CI favours the therapy, ▼ the comparator, ◆ includes no effect). "
        "Pain is in points on 0-10 where the scale is known. CCA: how much the reviews of a comparison share "
        "their trials (Pieper 2014).</caption>"
        "<thead><tr><th scope='col'>Comparison · outcome · when</th><th scope='col'>This explorer's answer</th>"
        "<th scope='col'>Published pools, review by review (most recent first)</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
