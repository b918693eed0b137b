"""Evidence map: therapy x indication, bubbles sized by participants, shaded by the share of
randomised trials, with counts in the hover. Pure function of a per-study DataFrame."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go


def evidence_cells(studies: pd.DataFrame) -> pd.DataFrame:
    """One row per therapy x indication: studies, RCTs, participants, low-risk-of-bias share.

    ``studies`` holds one row per (study, therapy) with ``indication``, ``design``, ``study_n``,
    ``risk_of_bias``.
    """
    if studies.empty:
        return pd.DataFrame(
            columns=["therapy", "indication", "studies", "rcts", "participants", "low_rob", "labels"]
        )
    g = studies.groupby(["therapy", "indication"], observed=True)
    cells = g.agg(
        studies=("study_id", "nunique"),
        rcts=("design", lambda s: int((s == "rct").sum())),
        participants=("study_n", lambda s: float(pd.to_numeric(s, errors="coerce").fillna(0).sum())),
        low_rob=("risk_of_bias", lambda s: int((s == "low").sum())),
        labels=("label", lambda s: "; ".join(sorted(set(s)))),
    ).reset_index()
    return cells


def evidence_map(
    cells: pd.DataFrame, therapy_labels: dict[str, str], indication_labels: dict[str, str]
) -> go.Figure:
    x = [indication_labels.get(i, i) for i in cells["indication"]]
    y = [therapy_labels.get(t, t) for t in cells["therapy"]]
    share = (cells["rcts"] / cells["studies"].where(cells["studies"] > 0, 1)).to_numpy(dtype=float)
    size = 12 + 40 * np.sqrt(
        cells["participants"].to_numpy(dtype=float) / max(1.0, cells["participants"].max())
    )
    custom = [
        [
            r.therapy,
            r.indication,
            int(r.studies),
            int(r.rcts),
            f"{r.participants:.0f}",
            html.escape(r.labels[:300]),
        ]
        for r in cells.itertuples(index=False)
    ]
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=y,
            mode="markers+text",
            text=[str(int(n)) for n in cells["studies"]],
            textposition="middle center",
            marker={
                "size": size,
                "color": share,
                "colorscale": "Blues",
                "cmin": 0,
                "cmax": 1,
                "showscale": True,
                "colorbar": {"title": {"text": "share RCT"}},
                "line": {"width": 1, "color": "#333"},
            },
            customdata=custom,
            meta="cells",
            hovertemplate="<b>%{y} · %{x}</b><br>%{customdata[2]} studies, %{customdata[3]} RCTs<br>"
            "%{customdata[4]} participants<br>%{customdata[5]}<extra>click to filter</extra>",
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=480,
        margin={"l": 220, "r": 20, "t": 30, "b": 120},
        xaxis={"tickangle": -30},
        clickmode="event",
    )
    return fig
