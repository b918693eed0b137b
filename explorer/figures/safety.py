"""Adverse events by type and therapy: events over participants, as reported."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from explorer.figures.palette import colour


def safety_table(ae: pd.DataFrame) -> pd.DataFrame:
    """Sum of events and of denominators per therapy x event type (participants and injections
    kept apart: they are different units)."""
    if ae.empty:
        return pd.DataFrame(
            columns=["therapy", "event_type", "unit", "events", "total", "studies", "percent"]
        )
    t = (
        ae.groupby(["therapy", "event_type", "unit"], observed=True)
        .agg(
            events=("events", "sum"),
            total=("total", "sum"),
            studies=("label", lambda s: "; ".join(sorted(set(s)))),
        )
        .reset_index()
    )
    t["percent"] = 100 * t["events"].astype(float) / t["total"].astype(float)
    return t


def safety_plot(
    table: pd.DataFrame, therapy_labels: dict[str, str], type_labels: dict[str, str]
) -> go.Figure:
    fig = go.Figure()
    for therapy, part in table.groupby("therapy", sort=False):
        fig.add_trace(
            go.Bar(
                x=[type_labels.get(e, e) for e in part["event_type"]],
                y=part["percent"],
                name=therapy_labels.get(therapy, therapy),
                marker_color=colour(str(therapy)),
                meta=str(therapy),
                customdata=[
                    [f"{int(r.events)}/{int(r.total)} {r.unit}", html.escape(r.studies[:300])]
                    for r in part.itertuples(index=False)
                ],
                hovertemplate="%{x}: %{customdata[0]} (%{y:.1f}%)<br>%{customdata[1]}<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_layout(
        template="plotly_white",
        barmode="group",
        height=420,
        yaxis_title="% with the event",
        margin={"l": 60, "r": 20, "t": 30, "b": 100},
        legend={"title": {"text": "Therapy"}},
    )
    return fig
