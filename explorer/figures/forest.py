"""Forest plot of one pooling group: studies with weights, the pooled diamond, the prediction
interval, and tau²/I² in the title. Pure: a DataFrame of chosen effects and a pool row in."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.analysis.harmonise import Z95
from explorer.figures.palette import colour


def forest_data(chosen: pd.DataFrame, pooled: pd.Series | None, tau2: float = 0.0, ratio: bool = False) -> dict:
    """Arrays for the three traces (studies, diamond, prediction interval); weights in % as the
    random-effects weights 1/(vi + tau²) normalised. With ``ratio`` (log RR/OR in ``yi``) every
    position is exponentiated for a log axis, so the labels read as ratios."""
    k = len(chosen)
    y = np.arange(k, 0, -1, dtype=float)  # first study on top, pooled row at 0
    yi = chosen["yi"].to_numpy(dtype=float)
    vi = chosen["vi"].to_numpy(dtype=float)
    w = 1 / (vi + (tau2 if np.isfinite(tau2) else 0.0))
    weight = 100 * w / w.sum() if k else w
    se = np.sqrt(vi)
    labels = [html.escape(f"{r.label} · {r.arm_label} vs {r.comparator_label}") for r in chosen.itertuples()]
    ticks = [html.escape(str(r.label)) for r in chosen.itertuples()]
    f = np.exp if ratio else (lambda a: a)
    lo, hi = f(yi - Z95 * se), f(yi + Z95 * se)
    studies = {
        "x": f(yi).tolist(),
        "y": y.tolist(),
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": (hi - f(yi)).tolist(),
            "arrayminus": (f(yi) - lo).tolist(),
            "thickness": 1.5,
            "width": 4,
        },
        "marker": {"size": (6 + weight / 4).tolist() if k else [], "symbol": "square"},
        "customdata": [
            [lab, f"{wt:.1f}%", f"{a:.2f} to {b:.2f}", f"{t:.0f}"]
            for lab, wt, a, b, t in zip(labels, weight, lo, hi, chosen["time_weeks"], strict=True)
        ],
        "visible": k > 0,
    }
    diamond = {"x": [], "y": [], "visible": False}
    band = {"x": [], "y": [], "visible": False}
    if pooled is not None and k >= 2:  # one trial is not a pool: no diamond
        est, lb, ub = (float(f(float(pooled[c]))) for c in ("estimate", "ci_lb", "ci_ub"))
        diamond = {"x": [lb, est, ub, est, lb], "y": [0, 0.3, 0, -0.3, 0], "visible": True}
        if np.isfinite(pooled["pi_lb"]):
            band = {"x": [float(f(float(pooled["pi_lb"]))), float(f(float(pooled["pi_ub"])))], "y": [0, 0], "visible": True}
    return {
        "studies": studies,
        "diamond": diamond,
        "band": band,
        "tickvals": [*y.tolist(), 0],
        "ticktext": [*ticks, "Pooled" if diamond["visible"] else ""],
    }


def _column(chosen: pd.DataFrame, pooled: pd.Series | None, d: dict, ratio: bool) -> list[tuple[str, float]]:
    """The text column right of the plot: each study's estimate [95% CI] and weight, then the
    pool's (only where there is a pool: one trial is not one)."""
    rows = [("<b>Estimate [95% CI]   Weight</b>", len(chosen) + 0.7)] if len(chosen) else []
    for (est, (_label, wt, ci, _t)), y in zip(
        zip(d["studies"]["x"], d["studies"]["customdata"], strict=True), d["studies"]["y"], strict=True
    ):
        lo, hi = ci.split(" to ")
        rows.append((f"{est:6.2f} [{lo}, {hi}]  {wt:>6}", y))
    if d["diamond"]["visible"]:
        lb, est, ub = d["diamond"]["x"][:3]
        rows.append((f"{est:6.2f} [{lb:.2f}, {ub:.2f}]  100.0%", 0.0))
    return rows


def forest_title(pooled: pd.Series | None, unit: str, ratio: bool = False) -> str:
    if pooled is None:
        return "No pool for this selection"
    f = np.exp if ratio else (lambda a: a)
    est, lb, ub = (float(f(float(pooled[c]))) for c in ("estimate", "ci_lb", "ci_ub"))
    what = f"risk ratio {est:.2f}" if ratio else f"{est:.2f} {unit}"
    if int(pooled["k"]) == 1:
        return f"One trial, not a pool: {what} (95% CI {lb:.2f} to {ub:.2f})"
    pi = (
        f"; prediction interval {float(f(float(pooled['pi_lb']))):.2f} to {float(f(float(pooled['pi_ub']))):.2f}"
        if np.isfinite(pooled["pi_lb"])
        else ""
    )
    return (
        f"Pooled {what} (95% CI {lb:.2f} to {ub:.2f})"
        f"{pi}; k = {int(pooled['k'])}, tau² = {pooled['tau2']:.3f}, I² = {pooled['I2']:.0f}%"
    )


def forest_plot(
    chosen: pd.DataFrame, pooled: pd.Series | None, therapy: str, unit: str = "points", ratio: bool = False
) -> go.Figure:
    """Studies' differences (intervention minus comparator) with 95% CIs sized by weight; with
    ``ratio``, risk ratios on a log axis (no effect at 1)."""
    d = forest_data(chosen, pooled, float(pooled["tau2"]) if pooled is not None else 0.0, ratio)
    c = colour(therapy)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            mode="markers",
            name="Studies",
            marker_color=c,
            meta="studies",
            hovertemplate="<b>%{customdata[0]}</b><br>%{x:.2f} (95% CI %{customdata[2]})<br>"
            "weight %{customdata[1]}; week %{customdata[3]}<extra></extra>",
            **d["studies"],
        )
    )
    fig.add_trace(
        go.Scatter(
            mode="lines",
            name="Prediction interval",
            line={"color": c, "width": 8},
            opacity=0.3,
            hoverinfo="skip",
            meta="band",
            **d["band"],
        )
    )
    fig.add_trace(
        go.Scatter(
            mode="lines",
            fill="toself",
            name="Pooled (95% CI)",
            line={"color": c},
            fillcolor=c,
            meta="diamond",
            hoverinfo="skip",
            **d["diamond"],
        )
    )
    fig.add_vline(x=1 if ratio else 0, line={"color": "#444", "width": 1})
    for text, y in _column(chosen, pooled, d, ratio):  # estimate [95% CI] and weight, as metafor prints them
        fig.add_annotation(
            text=text, x=1.01, xref="paper", xanchor="left", y=y, yref="y", showarrow=False,
            font={"family": "monospace", "size": 11}, align="left",
        )  # fmt: skip
    fig.update_layout(
        template="plotly_white",
        title={"text": html.escape(forest_title(pooled, unit, ratio)), "font": {"size": 13}},
        xaxis_title=(
            "Risk ratio of responding, intervention over comparator (log scale; above 1 favours the intervention)"
            if ratio
            else f"Difference, intervention minus comparator ({unit}; negative favours the intervention)"
        ),
        xaxis_type="log" if ratio else "linear",
        yaxis={"tickvals": d["tickvals"], "ticktext": d["ticktext"], "zeroline": False},
        showlegend=False,
        height=max(280, 60 + 34 * (len(chosen) + 1)),
        margin={"l": 150, "r": 250, "t": 50, "b": 50},
    )
    return fig
