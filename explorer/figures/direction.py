"""Effect-direction plot: what every trial says, with numbers or without (Cochrane SWiM guidance).

Many trials of injections report only a p-value or "no significant difference". A forest plot
drops them, so a reader sees "no evidence" where there is some. The effect-direction plot of the
SWiM guidance (Campbell et al., BMJ 2020;368:l6890; Boon & Thomson, Res Synth Methods
2021;12:29-33) shows instead, for each comparison (rows) and follow-up window (columns), how many
trials favour the injection (triangle up), show no clear difference (diamond) or favour the
comparator (triangle down). Shape carries the direction, so colour is never needed to read it.

Trials with numbers are drawn too: a pooled (or one-trial) estimate counts its ``k`` trials in the
direction its 95% CI shows, filled; trials that report only a direction are drawn open. Counts
follow the findings frame: a trial with two responder classes in one cell counts once per class,
as the frame lists it. Each cell's hover text says which trials are behind which symbol, and
gives the estimates with their CIs.

Pure: a findings frame (:func:`explorer.analysis.findings.findings`) in, plain plotly JSON out.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from explorer.analysis.effects import BINARY_OUTCOMES, RATIO_MEASURES
from explorer.analysis.findings import outcome_label
from explorer.analysis.harmonise import OUTCOMES, outcome_unit
from explorer.analysis.windows import DEFAULT_WINDOWS
from explorer.figures.findings import comparison_words
from explorer.figures.palette import AXIS_THEME, LAYOUT_THEME

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: Directions, oriented to the injection as in the findings frame's ``direction_*`` columns.
DIRECTIONS = ("arm", "neither", "comparator")
#: Where a count comes from: a pooled or one-trial estimate, or a reported direction only.
SOURCES = ("estimate", "direction")
SYMBOL = {"arm": "triangle-up", "neither": "diamond", "comparator": "triangle-down"}
#: Okabe-Ito blue and vermillion with a neutral grey, as in :mod:`explorer.figures.palette`:
#: safe for colour-blind readers, and redundant with the shapes anyway.
DIRECTION_COLOURS = {"arm": "#0072B2", "neither": "#7F7F7F", "comparator": "#D55E00"}
DIRECTION_WORDS = {
    "arm": "favours the injection",
    "neither": "no clear difference",
    "comparator": "favours the comparator",
}
SOURCE_WORDS = {"estimate": "by its estimate's 95% CI", "direction": "direction reported only"}
#: One legend per source, side by side under the grid: a key of three symbols each.
LEGENDS = {
    "estimate": ("legend", "Trials with an estimate (filled): direction of its 95% CI"),
    "direction": ("legend2", "Trials reporting only a direction (open)"),
}
ROW_HEIGHT = 52  # pixels per comparison: room for the largest marker and its count below it
EMPTY_TEXT = "No trial in this selection reports an estimate or a direction for these comparisons."
LABELS_PER_LINE = 4  # trial labels per hover line, so a long list stays readable


def higher_is_better(outcome: str) -> bool:
    """Whether a larger effect favours the injection on ``outcome``.

    Continuous outcomes are harmonised so that lower is better (:mod:`explorer.analysis.harmonise`),
    and their effects read intervention minus comparator. Binary outcomes count either events
    (surgery: fewer is better) or responders (more is better), as
    :data:`explorer.analysis.effects.BINARY_OUTCOMES` records in its row measure.
    """
    spec = BINARY_OUTCOMES.get(outcome)
    return spec is not None and spec[1] == "responders"


def estimate_direction(findings: pd.DataFrame) -> pd.Series:
    """Per findings row: 'arm', 'neither' or 'comparator' from the 95% CI against no effect
    ('' for rows without an estimate).

    No effect is 1 for ratios (the findings frame shows RR and OR exponentiated) and 0 otherwise.
    A CI that is missing or includes no effect is 'neither': no clear difference, as a trial
    reporting p > 0.05 would be counted.
    """
    if findings.empty:
        return pd.Series([], index=findings.index, dtype=object)
    null = np.where(findings["measure"].isin(RATIO_MEASURES), 1.0, 0.0)
    lb = pd.to_numeric(findings["ci_lb"], errors="coerce").to_numpy(dtype=float)
    ub = pd.to_numeric(findings["ci_ub"], errors="coerce").to_numpy(dtype=float)
    hib = findings["outcome"].map(higher_is_better).to_numpy(dtype=bool)
    above, below = lb > null, ub < null  # NaN compares False: 'neither'
    good = np.where(hib, above, below)
    bad = np.where(hib, below, above)
    side = np.select([good, bad], ["arm", "comparator"], default="neither")
    has = pd.to_numeric(findings["k"], errors="coerce").fillna(0).to_numpy() > 0
    return pd.Series(np.where(has, side, ""), index=findings.index, dtype=object)


def _window_labels(windows: pd.Series) -> dict[str, str]:
    """Column categories: the default windows in time order, then any other window names.

    Every default window is a column even when empty, so the grid stays put as filters change
    and an empty column says "nothing reported then". Labels break before the bracket.
    """
    labels = {w.name: html.escape(w.label).replace(" (", "<br>(", 1) for w in DEFAULT_WINDOWS}
    for name in pd.unique(windows.astype(str)):
        labels.setdefault(name, html.escape(name))
    return labels


def _row_labels(
    f: pd.DataFrame, therapy_labels: dict[str, str], kind_labels: dict[str, str], per_outcome: bool
) -> pd.Series:
    """A readable, escaped and unique y category per comparison (therapy vs comparator class,
    with the outcome when several are shown), aligned with ``f``'s rows."""
    cols = [c for c in ("therapy", "comparator_kind", "comparison", "variant", "outcome") if c in f.columns]
    keys = f[cols].fillna("").astype(str).drop_duplicates()
    words = pd.Series(
        [comparison_words(r, therapy_labels, kind_labels) for r in keys.to_dict("records")], index=keys.index
    )
    if per_outcome:
        words = words + " · " + keys["outcome"].map(outcome_label)
    clash = words.duplicated(keep=False)  # two codes given one label must stay two rows
    words[clash] = (
        words[clash] + " (" + keys["therapy"][clash] + " vs " + keys["comparator_kind"][clash] + ")"
    )
    keys = keys.assign(row=words.map(html.escape))
    return f[cols].fillna("").astype(str).merge(keys, how="left")["row"]


def _tallies(f: pd.DataFrame) -> pd.DataFrame:
    """Trials per cell, direction and source: an estimate counts its k trials in the direction of
    its CI; direction-only trials count as the findings frame counted them."""
    est = f[f["k"] > 0]
    parts = [est[["row", "x"]].assign(direction=estimate_direction(est), source="estimate", count=est["k"])]
    parts += [
        f[["row", "x"]].assign(direction=d, source="direction", count=f[f"direction_{d}"]) for d in DIRECTIONS
    ]
    t = pd.concat(parts, ignore_index=True)
    t = t[t["count"] > 0]
    return t.groupby(["row", "x", "direction", "source"], sort=False, as_index=False)["count"].sum()


def _trial_list(labels: str) -> str:
    """'; '-separated trial labels, each escaped, a few per hover line."""
    names = [html.escape(s) for s in str(labels).split("; ") if s]
    lines = ["; ".join(names[i : i + LABELS_PER_LINE]) for i in range(0, len(names), LABELS_PER_LINE)]
    return "<br>   ".join(lines)


def _estimate_line(r: pd.Series, direction: str) -> str:
    """One estimate in words: measure, value, 95% CI, trials and participants, direction."""
    measure = str(r["measure"])
    ratio = measure in RATIO_MEASURES
    fmt = (lambda v: f"{v:.2f}") if ratio else (lambda v: f"{v:.1f}")
    unit = "" if ratio or r["outcome"] not in OUTCOMES else f" {outcome_unit(r['outcome'])}"
    ci = f" (95% CI {fmt(r['ci_lb'])} to {fmt(r['ci_ub'])})" if pd.notna(r["ci_lb"]) else ""
    value = f"{measure} {fmt(r['estimate'])}{unit}{ci}" if pd.notna(r["estimate"]) else measure
    who = str(r["responder_class"]).replace("_", " ") + ": " if r["responder_class"] else ""
    k = int(r["k"])
    n = "" if pd.isna(r["n_participants"]) else f", {int(r['n_participants'])} participants"
    trials = "1 trial" if k == 1 else f"pool of {k} trials"
    return (
        f"{html.escape(who + value)}, {trials}{n}: {DIRECTION_WORDS[direction]}"
        f"<br>   {_trial_list(r['studies'])}"
    )


def _cell_text(cell: pd.DataFrame, comparison: str, window: str) -> str:
    """The hover text of one cell (every marker in it shows the same): comparison, window,
    each estimate with its CI and trials, and the direction-only counts with their trials."""
    lines = [f"<b>{comparison}</b>", window.replace("<br>", " ")]
    est = cell[cell["k"] > 0]
    for (_, r), d in zip(est.iterrows(), estimate_direction(est), strict=True):
        lines.append("Estimate: " + _estimate_line(r, d))
    counts = {d: int(cell[f"direction_{d}"].sum()) for d in DIRECTIONS}
    if sum(counts.values()):
        said = ", ".join(f"{counts[d]} {DIRECTION_WORDS[d]}" for d in DIRECTIONS)
        names = "; ".join(s for s in cell["direction_studies"].astype(str) if s)
        lines.append(f"Direction only: {said}<br>   {_trial_list(names)}")
    return "<br>".join(lines)


def _prepared(findings: pd.DataFrame, outcome: str | None) -> pd.DataFrame:
    """The rows to draw, with defaults for the columns a hand-made frame may lack."""
    f = findings if outcome is None else findings[findings["outcome"] == outcome]
    defaults = {
        "measure": "",
        "responder_class": "",
        "n_participants": np.nan,
        "studies": "",
        "direction_studies": "",
    }
    f = f.assign(**{c: f.get(c, v) for c, v in defaults.items()})
    f = f.assign(
        measure=f["measure"].fillna("").astype(str),
        responder_class=f["responder_class"].fillna("").astype(str),
        studies=f["studies"].fillna("").astype(str),
        direction_studies=f["direction_studies"].fillna("").astype(str),
        k=pd.to_numeric(f["k"], errors="coerce").fillna(0).astype(int),
        **{
            f"direction_{d}": pd.to_numeric(f[f"direction_{d}"], errors="coerce").fillna(0).astype(int)
            for d in DIRECTIONS
        },
    )
    return f.reset_index(drop=True)


def _marker_size(count: pd.Series) -> list[float]:
    """Area grows with the number of trials, within bounds that fit a cell."""
    return np.clip(10 + 4 * np.sqrt(count.to_numpy(dtype=float)), 10, 28).round(1).tolist()


def _trace(source: str, direction: str, points: pd.DataFrame) -> dict:
    """One trace per source and direction, with a stable uid: filled symbols for estimates,
    open ones for direction-only trials; the count is written under each marker."""
    uid = f"{source}:{direction}"
    symbol = SYMBOL[direction] + ("" if source == "estimate" else "-open")
    name = DIRECTION_WORDS[direction].capitalize()
    return {
        "type": "scatter",
        "mode": "markers+text",
        "uid": uid,
        "meta": uid,
        "name": name,
        "x": points["x"].tolist(),
        "y": points["row"].tolist(),
        "text": [str(int(c)) for c in points["count"]],
        "textposition": "bottom center",
        "textfont": {"size": 10, "color": DIRECTION_COLOURS[direction]},
        "customdata": [[t] for t in points["hover"]],
        "hovertemplate": f"%{{customdata[0]}}<extra>{name}<br>({SOURCE_WORDS[source]})</extra>",
        "marker": {
            "symbol": symbol,
            "size": _marker_size(points["count"]),
            "color": DIRECTION_COLOURS[direction],
            "line": {"width": 2 if source == "direction" else 1, "color": DIRECTION_COLOURS[direction]},
        },
        "legend": LEGENDS[source][0],
        "orientation": "v",
        "offsetgroup": uid,
        "alignmentgroup": "cells",
        "cliponaxis": False,
        "showlegend": True,
        "visible": True,
    }


def _traces(tallies: pd.DataFrame) -> list[dict]:
    """Always the same six traces in the same order (the dashboard updates them by uid); the
    order also fixes each symbol's place within a cell: up, then level, then down."""
    out = []
    for direction in DIRECTIONS:
        for source in SOURCES:
            points = tallies[(tallies["direction"] == direction) & (tallies["source"] == source)]
            out.append(_trace(source, direction, points))
    return out


def _layout(rows: list[str], windows: list[str]) -> dict:
    """Category axes (windows across, on top like a table header; comparisons down, first at
    the top), a legend under the grid explaining the symbols, and height following the rows."""
    return {
        **LAYOUT_THEME,
        "scattermode": "group",
        "scattergap": 0.2,
        "xaxis": {
            **AXIS_THEME,
            "type": "category",
            "categoryorder": "array",
            "categoryarray": windows,
            "range": [-0.5, len(windows) - 0.5],
            "side": "top",
            "tickangle": 0,  # read as a table header, not tilted
            "tickson": "boundaries",
            "showgrid": True,
            "fixedrange": True,
        },
        "yaxis": {
            **AXIS_THEME,
            "type": "category",
            "categoryorder": "array",
            "categoryarray": rows,
            "range": [len(rows) - 0.5, -0.5],
            "tickson": "boundaries",
            "showgrid": True,
            "fixedrange": True,
        },
        **{
            key: {
                "x": 0.5 * SOURCES.index(source),
                "xanchor": "left",
                "y": -0.02,
                "yanchor": "top",
                "itemsizing": "constant",
                "traceorder": "normal",
                "title": {"text": title, "side": "top"},
            }
            for source, (key, title) in LEGENDS.items()
        },
        "hovermode": "closest",
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},  # t: room for the modebar above the header
        "height": 150 + ROW_HEIGHT * len(rows),
        "shapes": [],
        "annotations": [],
    }


def _empty_spec() -> dict:
    """The same six (empty) traces and a centred note: nothing to show is said, not left blank."""
    empty = pd.DataFrame({"x": [], "row": [], "count": [], "hover": []})
    layout = {
        **LAYOUT_THEME,
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "height": 260,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "showlegend": False,
        "shapes": [],
        "annotations": [
            {
                "text": EMPTY_TEXT,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "xanchor": "center",
                "yanchor": "middle",
            }
        ],
    }
    return {
        "data": [{**t, "visible": False} for t in _traces(empty.assign(direction="", source=""))],
        "layout": layout,
    }


def direction_spec(
    findings: pd.DataFrame,
    therapy_labels: dict[str, str],
    kind_labels: dict[str, str],
    outcome: str | None = None,
) -> dict:
    """The effect-direction plot as plain plotly JSON (``{"data": [...], "layout": {...}}``).

    ``findings`` is :func:`explorer.analysis.findings.findings`' frame; ``therapy_labels`` and
    ``kind_labels`` name therapies and comparator classes. With ``outcome`` only that outcome is
    drawn, one row per therapy and comparator class; without, one row per outcome as well. Plain
    dicts (no plotly validators), as :func:`explorer.figures.efficacy.efficacy_spec`, because the
    dashboard redraws on every filter change.
    """
    f = _prepared(findings, outcome)
    if f.empty:
        return _empty_spec()
    windows = _window_labels(f["window"])
    f = f.assign(
        row=_row_labels(f, therapy_labels, kind_labels, per_outcome=outcome is None).to_numpy(),
        x=f["window"].astype(str).map(windows),
    )
    hover = {key: _cell_text(cell, key[0], key[1]) for key, cell in f.groupby(["row", "x"], sort=False)}
    tallies = _tallies(f)
    tallies["hover"] = [hover[(r, x)] for r, x in zip(tallies["row"], tallies["x"], strict=True)]
    rows = list(dict.fromkeys(f["row"]))
    return {"data": _traces(tallies), "layout": _layout(rows, list(windows.values()))}


def direction_plot(
    findings: pd.DataFrame,
    therapy_labels: dict[str, str],
    kind_labels: dict[str, str],
    outcome: str | None = None,
) -> go.Figure:
    """:func:`direction_spec` as a plotly figure, for notebooks and the command line."""
    import plotly.graph_objects as go  # here: the dashboard draws from direction_spec without it

    fig = go.Figure(direction_spec(findings, therapy_labels, kind_labels, outcome))
    fig.update_layout(template="none")  # the spec carries its own light theme
    return fig
