"""Adverse events by type and therapy: rates with Wilson 95% CIs, each denominator counted once.

Pure: the table of :func:`explorer.analysis.harms.totals` in, a plotly figure out. An event type
that no study of a therapy reports is drawn as an open marker labelled "not reported", never as a
zero bar; a reported zero is a bar of height 0 with its interval.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.analysis.harms import describe_rate, totals
from explorer.figures.palette import colour


def safety_table(ae: pd.DataFrame) -> pd.DataFrame:
    """Rates per therapy x event type x unit (participants and injections never mix)."""
    t = totals(ae)
    return t.assign(percent=100 * t["rate"].astype(float)) if len(t) else t.assign(percent=pd.Series(dtype=float))


def safety_plot(table: pd.DataFrame, therapy_labels: dict[str, str], type_labels: dict[str, str]) -> go.Figure:
    fig = go.Figure()
    types = sorted(set(table["event_type"])) if len(table) else []
    for therapy, part in table.groupby("therapy", sort=False):
        name = therapy_labels.get(therapy, therapy)
        for unit, rows in part.groupby("unit", sort=True):
            pct = 100 * rows["rate"].astype(float).to_numpy()
            fig.add_trace(
                go.Bar(
                    x=[type_labels.get(e, e) for e in rows["event_type"]],
                    y=pct,
                    name=f"{name} (per {'injection' if unit == 'injections' else 'participant'})",
                    marker_color=colour(str(therapy)),
                    marker_pattern_shape="/" if unit == "injections" else "",
                    meta=f"{therapy}:{unit}",
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": (100 * rows["ci_ub"].astype(float).to_numpy() - pct).tolist(),
                        "arrayminus": (pct - 100 * rows["ci_lb"].astype(float).to_numpy()).tolist(),
                    },
                    customdata=[
                        [
                            describe_rate(r.events, r.total, r.ci_lb, r.ci_ub, str(r.unit)),
                            html.escape(str(r.basis)),
                            html.escape(str(r.studies)[:300]),
                        ]
                        for r in rows.itertuples(index=False)
                    ],
                    hovertemplate="%{x}: %{customdata[0]}<br>%{customdata[1]}<br>%{customdata[2]}"
                    "<extra>%{fullData.name}</extra>",
                )
            )
        missing = [t for t in types if t not in set(part["event_type"])]
        if missing:
            fig.add_trace(
                go.Scatter(
                    x=[type_labels.get(e, e) for e in missing],
                    y=np.zeros(len(missing)),
                    mode="markers+text",
                    marker={"symbol": "circle-open", "size": 9, "color": colour(str(therapy))},
                    text=["not reported"] * len(missing),
                    textposition="top center",
                    textfont={"size": 10},
                    name=f"{name}: not reported",
                    meta=f"{therapy}:not_reported",
                    hovertemplate="%{x}: no study of this therapy reports it<extra>%{fullData.name}</extra>",
                )
            )
    fig.update_layout(
        template="plotly_white",
        barmode="group",
        height=440,
        yaxis_title="% with the event (95% CI)",
        yaxis_rangemode="tozero",
        margin={"l": 60, "r": 20, "t": 30, "b": 100},
        legend={"title": {"text": "Therapy"}},
    )
    return fig
