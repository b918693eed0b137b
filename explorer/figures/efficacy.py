"""Efficacy over time: arms (or contrasts) as lines on a common scale, coloured by therapy.

Pure functions: a DataFrame from :func:`explorer.analysis.series.arm_series` in, plotly data out.
The figure holds one trace per therapy; an arm's points are joined by a line and arms are
separated by gaps, so a filter change only swaps arrays (see :func:`efficacy_traces`) instead of
adding or removing traces: the dashboard updates in place.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from explorer.figures.palette import AXIS_THEME, LAYOUT_THEME, colour

if TYPE_CHECKING:
    import plotly.graph_objects as go

HOVER = (
    "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>"
    "Week %{x:.1f}: %{y:.2f} (95% CI %{customdata[2]})<br>"
    "n = %{customdata[3]}<br>%{customdata[4]}<br><i>Click for the study card (DOI, PubMed)</i>"
    "<extra>%{fullData.name}</extra>"
)


def _fmt(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.2f}"


def _escaped(values: pd.Series) -> list[str]:
    """``html.escape`` of each value, computed once per distinct value."""
    text = values.astype(str)
    table = {v: html.escape(v) for v in pd.unique(text)}
    return [table[v] for v in text]


def _with_gaps(values: list, positions: list[int], total: int) -> list:
    out: list = [None] * total
    for p, v in zip(positions, values, strict=True):
        out[p] = v
    return out


def _instrument_words(series: pd.DataFrame, labels: Mapping[str, str] | None) -> pd.Series:
    """The instrument in words: a responder row's own definition, else the vocabulary's label
    (``labels``), else the code."""
    inst = series["instrument"].astype(str)
    words = inst.map(dict(labels)) if labels else inst
    words = words.where(words.notna(), inst)
    if "responder_definition" in series.columns:
        own = series["responder_definition"]
        use = own.notna() & (own.astype(str) != "") & (inst == "responder_definition")
        words = words.where(~use, own.astype(str))
    return words


def efficacy_traces(
    series: pd.DataFrame, therapies: Sequence[str], instruments: Mapping[str, str] | None = None
) -> list[dict]:
    """Arrays for one trace per therapy, in the order given (empty arrays when none match).

    Within a trace, arms come in the order they first appear in ``series``, each followed by a
    gap (``None``), so one trace draws many separate lines. Built with whole-column operations:
    a filter change on a large table costs milliseconds, not a Python loop per arm.

    Every string shown in a hover label is HTML-escaped here: plotly renders a subset of HTML in
    hover text, and titles or labels from the data must show as text.
    """
    if series.empty:
        return [_no_trace() for _ in therapies]
    arm = pd.factorize(series["series_id"])[0]  # arms numbered in order of first appearance
    therapy = series["therapy"].to_numpy()
    x = series["time_weeks"].to_numpy(dtype=float)
    y = series["value"].to_numpy(dtype=float)
    lb = series["ci_lb"].to_numpy(dtype=float)
    ub = series["ci_ub"].to_numpy(dtype=float)
    plus = np.where(np.isnan(ub), 0.0, ub - y)
    minus = np.where(np.isnan(lb), 0.0, y - lb)
    who = _escaped(series["label"].astype(str) + " · " + series["arm_label"].astype(str))
    where = _escaped(
        series["domain"].astype(str).str.replace("_", " ")
        + ", "
        + _instrument_words(series, instruments)
        + "; "
        + series["locator"].astype(str)
    )
    how = _escaped(series["derivation"])
    ci = [
        "not reported" if np.isnan(lo) and np.isnan(hi) else f"{_fmt(lo)} to {_fmt(hi)}"
        for lo, hi in zip(lb.tolist(), ub.tolist(), strict=True)
    ]
    ids = series["study_id"].astype(str).tolist()
    n = ["–" if pd.isna(v) else f"{v:g}" for v in series["n"].tolist()]
    out = []
    for name in therapies:
        rows = np.flatnonzero(therapy == name)
        rows = rows[np.argsort(arm[rows], kind="stable")]
        if not len(rows):
            out.append(_no_trace())
            continue
        groups = arm[rows]
        ends = np.r_[np.flatnonzero(np.diff(groups)), len(rows) - 1]  # last row of each arm
        positions = (np.arange(len(rows)) + np.searchsorted(ends, np.arange(len(rows)), side="left")).tolist()
        total = len(rows) + len(ends)
        r = rows.tolist()
        custom = [[who[i], where[i], ci[i], n[i], how[i], ids[i]] for i in r]  # the last: for a click
        out.append(
            {
                "x": _with_gaps(x[rows].tolist(), positions, total),
                "y": _with_gaps(y[rows].tolist(), positions, total),
                "error_y": _error_y(
                    _with_gaps(plus[rows].tolist(), positions, total),
                    _with_gaps(minus[rows].tolist(), positions, total),
                ),
                "customdata": _with_gaps(custom, positions, total),
                "visible": True,
            }
        )
    return out


def _no_trace() -> dict:
    return {"x": [], "y": [], "error_y": _error_y([], []), "customdata": [], "visible": False}


def _error_y(plus: list, minus: list) -> dict:
    return {
        "type": "data",
        "symmetric": False,
        "array": plus,
        "arrayminus": minus,
        "thickness": 1,
        "width": 3,
    }


POOLED_HOVER = (
    "<b>Pooled %{customdata[0]}</b><br>%{customdata[1]}<br>"
    "%{y:.2f} (95% CI %{customdata[2]}); prediction interval %{customdata[3]}<br>"
    "k = %{customdata[4]}; tau² = %{customdata[5]}; I² = %{customdata[6]}<br>%{customdata[7]}"
    "<extra>%{fullData.name}</extra>"
)
KIND_SYMBOL = {"placebo_sham": "diamond", "active": "square", "conservative": "triangle-up"}


def pooled_traces(pooled: pd.DataFrame, therapies: Sequence[str]) -> tuple[list[dict], list[dict]]:
    """Per therapy: the pooled estimates (points with 95% CI) and their prediction intervals (bars).

    ``pooled`` comes from :func:`explorer.analysis.effects.pool` (with ``mean_weeks`` as x).
    Column-wise, like :func:`efficacy_traces`: called on every filter change for every therapy.
    """
    empty_point = {
        "x": [],
        "y": [],
        "text": [],
        "customdata": [],
        "visible": False,
        "marker": {"symbol": [], "size": 13, "line": {"width": 1.5, "color": "white"}},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": [],
            "arrayminus": [],
            "thickness": 2.5,
            "width": 6,
        },
    }
    if pooled.empty or "therapy" not in pooled.columns:
        return [dict(empty_point) for _ in therapies], [
            {"x": [], "y": [], "visible": False} for _ in therapies
        ]
    therapy = pooled["therapy"].to_numpy()
    weeks = pooled["mean_weeks"].to_numpy(dtype=float)
    est = pooled["estimate"].to_numpy(dtype=float)
    lb = pooled["ci_lb"].to_numpy(dtype=float)
    ub = pooled["ci_ub"].to_numpy(dtype=float)
    pi_lb = pooled["pi_lb"].to_numpy(dtype=float)
    pi_ub = pooled["pi_ub"].to_numpy(dtype=float)
    what = _escaped(
        pooled["window"].astype(str)
        + " window, vs "
        + pooled["comparator_kind"].astype(str).str.replace("_", "/")
    )
    method = _escaped(pooled["method"])
    studies = _escaped(pooled["studies"])
    k = [f"{int(v)}" for v in pooled["k"].tolist()]
    tau2 = [_fmt(v) for v in pooled["tau2"].astype(float).tolist()]
    i2 = [f"{v:.0f}%" if pd.notna(v) else "–" for v in pooled["I2"].tolist()]
    symbol = [KIND_SYMBOL.get(c, "circle") for c in pooled["comparator_kind"].tolist()]
    points, bands = [], []
    for name in therapies:
        rows = np.flatnonzero(therapy == name)
        if not len(rows):
            points.append(dict(empty_point))
            bands.append({"x": [], "y": [], "visible": False})
            continue
        r = rows.tolist()
        custom = [
            [
                what[i],
                method[i],
                f"{_fmt(lb[i])} to {_fmt(ub[i])}",
                f"{_fmt(pi_lb[i])} to {_fmt(pi_ub[i])}",
                k[i],
                tau2[i],
                i2[i],
                studies[i],
            ]
            for i in r
        ]
        px: list = []
        py: list = []
        for i in r:
            if not np.isnan(pi_lb[i]):
                px += [float(weeks[i]), float(weeks[i]), None]
                py += [float(pi_lb[i]), float(pi_ub[i]), None]
        points.append(
            {
                "x": weeks[rows].tolist(),
                "y": est[rows].tolist(),
                "text": [f"k={k[i]}" for i in r],  # each pooled marker says how many trials it holds
                "customdata": custom,
                "visible": True,
                "marker": {
                    "symbol": [symbol[i] for i in r],
                    "size": 13,
                    "line": {"width": 1.5, "color": "white"},
                },
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": (ub[rows] - est[rows]).tolist(),
                    "arrayminus": (est[rows] - lb[rows]).tolist(),
                    "thickness": 2.5,
                    "width": 6,
                },
            }
        )
        bands.append({"x": px, "y": py, "visible": bool(px)})
    return points, bands


#: where an open-ended published window ('12 months or more') is drawn to, in weeks beyond its start
OPEN_WINDOW_WEEKS = 26.0


def published_traces(published: pd.DataFrame, therapies: Sequence[str], labels: Mapping[str, str]) -> list[dict]:
    """Published pooled estimates as traces: per therapy, each estimate a horizontal bar across
    the review's window (its own definition, in weeks) at the estimate, with its 95% CI as a
    vertical bar at the window's middle; dotted, so they never read as our own pools.

    ``published``: rows of :func:`explorer.analysis.reviews.reviews` already on the drawn scale
    (``shown``, ``shown_lb``, ``shown_ub``) with ``time_weeks_min``/``time_weeks_max``."""
    out = []
    if published.empty:
        return out
    for therapy in therapies:
        rows = published[published["therapy"] == therapy]
        if rows.empty:
            continue
        bx: list = []
        by: list = []
        mx, my, up, down, text = [], [], [], [], []
        for r in rows.to_dict("records"):
            lo = 0.0 if pd.isna(r["time_weeks_min"]) else float(r["time_weeks_min"])
            hi = lo + OPEN_WINDOW_WEEKS if pd.isna(r["time_weeks_max"]) else float(r["time_weeks_max"])
            bx += [lo, hi, None]
            by += [float(r["shown"]), float(r["shown"]), None]
            mx.append((lo + hi) / 2)
            my.append(float(r["shown"]))
            up.append(float(r["shown_ub"] - r["shown"]) if pd.notna(r["shown_ub"]) else 0.0)
            down.append(float(r["shown"] - r["shown_lb"]) if pd.notna(r["shown_lb"]) else 0.0)
            text.append(html.escape(f"Published pool — {r['text']}; {r['comparison']}; {r['timing']}"))
        name = f"{labels.get(therapy, therapy)}: published pools"
        out.append(
            {
                "type": "scatter", "mode": "lines", "x": bx, "y": by, "name": name, "legendgroup": f"{therapy}:published",
                "showlegend": True, "hoverinfo": "skip", "line": {"color": colour(therapy), "width": 4, "dash": "dot"},
                "opacity": 0.8, "meta": f"{therapy}:published_window",
            }
        )  # fmt: skip
        out.append(
            {
                "type": "scatter", "mode": "markers", "x": mx, "y": my, "name": name, "legendgroup": f"{therapy}:published",
                "showlegend": False, "text": text, "hovertemplate": "%{text}<extra></extra>",
                "marker": {"symbol": "diamond-open", "size": 12, "color": colour(therapy), "line": {"width": 2}},
                "error_y": {"type": "data", "symmetric": False, "array": up, "arrayminus": down, "thickness": 1.5, "width": 8},
                "meta": f"{therapy}:published",
            }
        )  # fmt: skip
    return out


def curve_traces(curve: pd.DataFrame, therapies: Sequence[str]) -> tuple[list[dict], list[dict]]:
    """Per therapy: the fitted time course's 95% CI band (a closed polygon) and its line, from
    :func:`explorer.analysis.timecourse.timecourse`'s ``curve`` (one comparator class per therapy:
    the one with most studies, placebo/sham first on ties). Empty, invisible traces elsewhere."""
    bands, lines = [], []
    for therapy in therapies:
        c = curve[curve["therapy"] == therapy] if len(curve) else curve
        if len(c):
            ranked = c.groupby("comparator_kind")["k_studies"].max().sort_values(ascending=False)
            kinds = list(ranked.index)
            best = "placebo_sham" if "placebo_sham" in kinds and ranked["placebo_sham"] == ranked.iloc[0] else kinds[0]
            c = c[c["comparator_kind"] == best].sort_values("weeks")
        if not len(c):
            bands.append({"x": [], "y": [], "visible": False})
            lines.append({"x": [], "y": [], "customdata": [], "visible": False})
            continue
        x = c["weeks"].astype(float).tolist()
        bands.append(
            {"x": x + x[::-1], "y": c["ci_ub"].astype(float).tolist() + c["ci_lb"].astype(float).tolist()[::-1], "visible": True}
        )
        lines.append(
            {
                "x": x,
                "y": c["estimate"].astype(float).tolist(),
                "customdata": [
                    [str(best).replace("_", "/"), f"{lb:.2f} to {ub:.2f}", int(k)]
                    for lb, ub, k in zip(c["ci_lb"], c["ci_ub"], c["k_studies"], strict=True)
                ],
                "visible": True,
            }
        )
    return bands, lines


CURVE_HOVER = (
    "Time course vs %{customdata[0]}: %{y:.2f} at week %{x:.0f} (95% CI %{customdata[1]}; "
    "%{customdata[2]} trials)<extra>%{fullData.name}</extra>"
)


def efficacy_spec(
    series: pd.DataFrame,
    therapies: Sequence[str] | None = None,
    labels: dict[str, str] | None = None,
    y_title: str = "Pain (0-10, lower is better)",
    title: str | None = None,
    pooled: pd.DataFrame | None = None,
    mcid: float | None = None,
    curve: pd.DataFrame | None = None,
    instruments: Mapping[str, str] | None = None,
    published: pd.DataFrame | None = None,
) -> dict:
    """The efficacy figure as plain plotly JSON (``{"data": [...], "layout": {...}}``).

    Same arguments as :func:`efficacy_over_time`. Building plain dicts skips plotly's validators
    (about 0.4 s for this figure's 40-odd traces), which matters when a dashboard kernel starts;
    the result is what ``efficacy_over_time(...).to_plotly_json()`` holds, minus the template.
    """
    if therapies is None:
        therapies = list(dict.fromkeys(series["therapy"].tolist())) if len(series) else []
    labels = labels or {}
    data: list[dict] = []
    for therapy, arrays in zip(therapies, efficacy_traces(series, therapies, instruments), strict=True):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": labels.get(therapy, therapy),
                "legendgroup": therapy,
                "line": {"color": colour(therapy), "width": 1.5},
                "marker": {"color": colour(therapy), "size": 6},
                "hovertemplate": HOVER,
                "connectgaps": False,
                "meta": therapy,
                "opacity": 0.45 if pooled is not None else 1.0,
                **arrays,
            }
        )
    if pooled is not None:
        points, bands = pooled_traces(pooled, therapies)
        for therapy, pt, band in zip(therapies, points, bands, strict=True):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{labels.get(therapy, therapy)}: prediction interval",
                    "legendgroup": therapy,
                    "showlegend": False,
                    "hoverinfo": "skip",
                    "line": {"color": colour(therapy), "width": 8},
                    "opacity": 0.25,
                    "meta": f"{therapy}:pi",
                    **band,
                }
            )
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers+text",
                    "textposition": "top right",
                    "textfont": {"color": colour(therapy)},
                    "name": f"{labels.get(therapy, therapy)}: pooled",
                    "legendgroup": therapy,
                    "showlegend": False,
                    "hovertemplate": POOLED_HOVER,
                    **pt,
                    "marker": {**pt["marker"], "color": colour(therapy)},
                    "meta": f"{therapy}:pooled",
                }
            )
    if curve is not None:
        bands_c, lines_c = curve_traces(curve, therapies)
        for therapy, band, line in zip(therapies, bands_c, lines_c, strict=True):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "fill": "toself",
                    "fillcolor": colour(therapy),
                    "opacity": 0.18,
                    "line": {"width": 0},
                    "name": f"{labels.get(therapy, therapy)}: time course 95% CI",
                    "legendgroup": therapy,
                    "showlegend": False,
                    "hoverinfo": "skip",
                    "meta": f"{therapy}:curve_band",
                    **band,
                }
            )
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "line": {"color": colour(therapy), "width": 3},
                    "name": f"{labels.get(therapy, therapy)}: time course",
                    "legendgroup": therapy,
                    "showlegend": False,
                    "hovertemplate": CURVE_HOVER,
                    "meta": f"{therapy}:curve",
                    **line,
                }
            )
    if published is not None:
        data += published_traces(published, therapies, labels)
    layout: dict = {
        **LAYOUT_THEME,
        "xaxis": {**AXIS_THEME, "title": {"text": "Weeks since the first injection"}},
        "yaxis": {**AXIS_THEME, "title": {"text": y_title}},
        "hovermode": "closest",
        "legend": {"title": {"text": "Therapy"}},
        "margin": {"l": 60, "r": 20, "t": 40 if title else 20, "b": 50},
        "height": 520,
        "shapes": [],
        "annotations": [],
    }
    if title:
        layout["title"] = {"text": title, "x": 0.05}
    if mcid is not None:
        layout["shapes"].append(
            {
                "type": "line",
                "xref": "x domain",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": -mcid,
                "y1": -mcid,
                "line": {"dash": "dash", "color": "#555", "width": 1},
            }
        )
        layout["annotations"].append(
            {
                "text": f"Minimal important change within a person (Ostelo 2008): −{mcid:g}",
                "showarrow": False,
                "xref": "x domain",
                "x": 1,
                "xanchor": "right",
                "yref": "y",
                "y": -mcid,
                "yanchor": "top",
            }
        )
    return {"data": data, "layout": layout}


def efficacy_over_time(
    series: pd.DataFrame,
    therapies: Sequence[str] | None = None,
    labels: dict[str, str] | None = None,
    y_title: str = "Pain (0-10, lower is better)",
    title: str | None = None,
    pooled: pd.DataFrame | None = None,
    mcid: float | None = None,
) -> go.Figure:
    """Figure of arm-level values against weeks since the first injection.

    ``therapies`` fixes the trace set (default: those present in ``series``); ``labels`` maps
    therapy codes to legend names. With ``pooled`` (from :func:`explorer.analysis.effects.pool`),
    each therapy also gets its pooled random-effects estimates as bold points with 95% CIs and
    prediction intervals; ``mcid`` draws a reference line at minus the minimal clinically
    important difference (improvement is negative on the common scales).
    """
    import plotly.graph_objects as go  # here: the dashboard draws from efficacy_spec without it

    fig = go.Figure(efficacy_spec(series, therapies, labels, y_title, title, pooled, mcid))
    fig.update_layout(template="none")  # the spec carries its own light theme
    return fig
