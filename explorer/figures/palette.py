"""One colour per therapy everywhere, colour-blind safe.

Intervention families take the Okabe-Ito palette; comparators take Paul Tol's muted greys and
earth tones, so that active therapies stand out and comparators recede.
"""

from __future__ import annotations

THERAPY_COLOURS: dict[str, str] = {
    "epidural_steroid": "#0072B2",  # blue
    "nerve_root_block": "#56B4E9",  # sky blue
    "facet_intraarticular": "#E69F00",  # orange
    "medial_branch_block": "#D55E00",  # vermillion
    "sacroiliac": "#CC79A7",  # reddish purple
    "prp": "#009E73",  # bluish green
    "msc": "#882255",  # wine (Tol)
    "bmc": "#AA4499",  # purple (Tol)
    "local_anaesthetic": "#999933",  # olive (Tol)
    "saline": "#7F7F7F",  # grey
    "sham": "#BBBBBB",  # light grey
    "intramuscular_steroid": "#44AA99",  # teal (Tol)
    "conservative": "#332288",  # indigo (Tol)
    "other": "#000000",  # black
}


def colour(therapy: str) -> str:
    return THERAPY_COLOURS.get(therapy, "#000000")


# The light look of plotly's "plotly_white" template, written out: figures built as plain JSON
# (for the dashboard, without plotly's validators) and as plotly objects then look the same.
LAYOUT_THEME: dict = {
    "font": {"color": "#2a3f5f"},
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "hoverlabel": {"align": "left"},
}
AXIS_THEME: dict = {
    "gridcolor": "#EBF0F8",
    "linecolor": "#EBF0F8",
    "zerolinecolor": "#EBF0F8",
    "zerolinewidth": 2,
    "ticks": "",
    "automargin": True,
}
