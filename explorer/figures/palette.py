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


#: Plot type sizes (px) on screen and in presentation mode: a room reads 18 px from the back.
PLOT_FONTS = {False: {"font": 12, "axis": 14, "legend": 12}, True: {"font": 18, "axis": 20, "legend": 16}}


def sized_for(layout: dict, present: bool) -> dict:
    """``layout`` with its text (ticks, axis titles, legend, hover) sized for a screen or for a
    room; in presentation mode a legend at the side goes below the plot so the data keep the
    width. Sizes an unsized layout (the views keep the figure as drawn and size a copy)."""
    f = PLOT_FONTS[present]
    out = dict(layout)
    for axis in ("xaxis", "yaxis"):
        a = dict(out.get(axis, {}))
        title = a.get("title", {})
        title = {"text": title} if isinstance(title, str) else dict(title)
        a["tickfont"] = {**a.get("tickfont", {}), "size": f["font"]}
        if present and axis == "yaxis":  # a room-sized axis title on two lines, so it is not cut
            title = {**title, "text": _two_lines(str(title.get("text", "")))}
        a["title"] = {**title, "font": {**title.get("font", {}), "size": f["axis"]}}
        out[axis] = a
    legend = {**out.get("legend", {}), "font": {**out.get("legend", {}).get("font", {}), "size": f["legend"]}}
    if present and "y" not in legend:  # a legend the figure placed itself stays where it is
        legend.update(orientation="h", y=-0.22, x=0, yanchor="top")
    out["legend"] = legend
    for key in [k for k in out if k.startswith("legend") and k != "legend" and isinstance(out[k], dict)]:
        out[key] = {**out[key], "font": {**out[key].get("font", {}), "size": f["legend"]}}
    out["font"] = {**out.get("font", {}), "size": f["font"]}
    out["hoverlabel"] = {**out.get("hoverlabel", {}), "font": {"size": f["font"]}}
    return out


def _two_lines(text: str, longest: int = 40) -> str:
    """``text`` broken at the space nearest its middle when longer than ``longest`` characters."""
    if len(text) <= longest or "<br>" in text or " " not in text:
        return text
    middle = len(text) // 2
    cut = min((i for i, c in enumerate(text) if c == " "), key=lambda i: abs(i - middle))
    return text[:cut] + "<br>" + text[cut + 1 :]


#: A figure "for a slide": 1600x900 px, every text at least 18 px (read from the back of a room).
SLIDE = {"width": 1600, "height": 900}
SLIDE_FONTS = {"title": 28, "subtitle": 20, "axis": 22, "tick": 18, "legend": 18, "text": 18, "footer": 18}
#: characters per footer line at 18 px on 1600 px (an average glyph is about 0.55 em: 140 leaves room)
SLIDE_LINE = 140
SLIDE_LINE_PX = 24  # 18 px text at 1.3 line height


def wrap(text: str, width: int = SLIDE_LINE) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces (a longer word stands alone)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def slide_layout(layout: dict, title: str, footer: list[str]) -> dict:
    """``layout`` (as the figure function made it) for a 1600x900 slide: the slide title above the
    figure's own title (kept, smaller: a forest plot's pooled estimate), every text at least 18 px,
    and a footer of ``footer`` lines (already wrapped; HTML-escaped by the caller) in a bottom
    margin of its own. The footer annotation is named ``explorer-footer``: the browser moves it
    below whatever the axis labels and legend take (see ``plot.js``)."""
    f = SLIDE_FONTS
    out = sized_for(layout, True)
    own = out.get("title", {})
    own = own.get("text", "") if isinstance(own, dict) else str(own or "")
    out["title"] = {"text": title, "font": {"size": f["title"]}, "x": 0.01, "xanchor": "left", "xref": "container",
                    "y": 0.985, "yanchor": "top", "yref": "container"}  # fmt: skip
    for axis in [k for k in out if k.startswith(("xaxis", "yaxis")) and isinstance(out[k], dict)]:
        a = dict(out[axis])
        a["tickfont"] = {**a.get("tickfont", {}), "size": max(f["tick"], a.get("tickfont", {}).get("size") or 0)}
        t = a.get("title", {})
        t = {"text": t} if isinstance(t, str) else dict(t)
        a["title"] = {**t, "font": {**t.get("font", {}), "size": f["axis"]}}
        out[axis] = a
    for key in [k for k in out if k.startswith("legend") and isinstance(out[k], dict)]:
        out[key] = {**out[key], "font": {**out[key].get("font", {}), "size": f["legend"]}}
    out["font"] = {**out.get("font", {}), "size": f["text"]}
    notes = [
        {**a, "font": {**a.get("font", {}), "size": max(f["text"], (a.get("font") or {}).get("size") or 0)}}
        for a in out.get("annotations", [])
    ]
    if own:  # the figure's own title (a forest plot's pool) under the slide's, above the plot
        notes.append({
            "name": "explorer-subtitle", "text": own, "xref": "paper", "yref": "paper", "x": 0, "y": 1,
            "xanchor": "left", "yanchor": "bottom", "yshift": 12, "showarrow": False, "align": "left",
            "font": {"size": f["subtitle"]},
        })  # fmt: skip
    footer_px = SLIDE_LINE_PX * len(footer) + 16
    notes.append({
        "name": "explorer-footer", "text": "<br>".join(footer), "xref": "paper", "yref": "paper",
        "x": 0, "y": 0, "xanchor": "left", "yanchor": "top", "showarrow": False, "align": "left",
        "font": {"size": f["footer"], "color": "#333"},
    })  # fmt: skip
    out["annotations"] = notes
    top = 70 + (20 + 26 * (own.count("<br>") + 1) if own else 0)
    out["margin"] = {**out.get("margin", {}), "t": top, "b": footer_px + 60, "l": max(80, out.get("margin", {}).get("l", 0) or 0)}
    out.update(SLIDE, autosize=False, meta={"footer_px": footer_px})
    return out
