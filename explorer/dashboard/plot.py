"""A light plotly widget for the dashboard.

Why not plotly's ``FigureWidget``: it sends its 5 MB JavaScript bundle over the websocket to every
viewer on every page load, and importing it costs the kernel about 1.7 s (it pulls nbformat and
jsonschema in). This widget is a few lines of JavaScript (anywidget) that draws with plotly.js
loaded once per browser from the Voila template's static files (the 1.2 MB "basic" bundle, cached
by the browser), and sends only the traces that changed on each update.

Protocol: the ``figure`` trait holds the figure as first drawn; later states travel as
``{"type": "update", ...}`` messages carrying the changed traces and layout. A view that appears
later asks for the whole current figure (``hello``). Clicks come back as ``{"event": "click"}``.
Outside Voila (JupyterLab) the view asks for plotly.js itself and the kernel sends plotly.py's copy.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

if TYPE_CHECKING:
    import plotly.graph_objects as go

STATIC_PLOTLY = "voila/templates/explorer/static/plotly/plotly-basic.min.js"

def static(name: str) -> str:
    """A file of the dashboard's static folder (JavaScript and CSS live in their own files)."""
    return resources.files("explorer.dashboard").joinpath("static", name).read_text(encoding="utf-8")


_ESM = static("heartbeat.js") + "\n" + static("plot.js")


def plotly_url() -> str:
    """Where Voila serves the vendored plotly.js ('' outside Voila: the kernel sends it instead)."""
    base = os.environ.get("VOILA_BASE_URL")
    return f"{base}{STATIC_PLOTLY}" if base is not None else ""


def figure_json(fig: go.Figure) -> dict[str, Any]:
    """The figure as plain JSON (numpy arrays, NaN and dates handled by plotly's encoder)."""
    return json.loads(fig.to_json())


def clean(value: Any) -> Any:
    """JSON-ready copy: NaN and infinities become None (JavaScript's JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "tolist"):
        return clean(value.tolist())
    return value


_HEARTBEAT_ESM = static("heartbeat.js") + "\n" + static("heartbeat-widget.js")


class Heartbeat(anywidget.AnyWidget):
    """An invisible widget that runs the page's heartbeat (the same as a plot's): a page without
    a plot in view still tells its viewer, in words, when its kernel has stopped."""

    _esm = _HEARTBEAT_ESM

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.on_msg(lambda _w, content, _b: self.send({"type": "pong"}) if content.get("event") == "ping" else None)


def as_spec(fig: go.Figure | dict) -> dict[str, Any]:
    """The figure contract: plain plotly JSON ``{"data": [...], "layout": {...}}`` in which every
    trace has a ``uid`` naming what it draws. Figure functions set ``uid`` (``meta`` is used when
    they name a trace that way); a trace without one is named by its position."""
    state = clean(fig) if isinstance(fig, dict) else figure_json(fig)
    state = {"data": list(state.get("data", [])), "layout": dict(state.get("layout", {}))}
    for i, trace in enumerate(state["data"]):
        name = trace.get("uid") or trace.get("meta")
        name = str(name) if isinstance(name, (str, int)) and str(name) else f"trace-{i}"
        # plotly.js puts the uid in CSS class names (image export selects by them): keep it plain
        state["data"][i] = {**trace, "uid": re.sub(r"[^A-Za-z0-9_-]", "-", name)}
    return state


class Plot(anywidget.AnyWidget):
    """A plot that redraws through one path: :meth:`show` with the whole new figure; the widget
    works out which traces (by ``uid``) and whether the layout changed, and sends only those."""

    _esm = _ESM
    figure = traitlets.Dict().tag(sync=True)
    config = traitlets.Dict().tag(sync=True)
    #: {"title", "footer"} for the "download for a slide" button (set by the dashboard)
    export_note = traitlets.Dict().tag(sync=True)
    plotly_url = traitlets.Unicode("").tag(sync=True)

    def __init__(self, fig: go.Figure | dict, config: dict | None = None, **kwargs: Any):
        state = as_spec(fig)
        super().__init__(figure=state, config=config or {}, plotly_url=plotly_url(), **kwargs)
        self._current = state
        self._sent = {t["uid"]: json.dumps(t, sort_keys=True) for t in state["data"]}
        self._order = [t["uid"] for t in state["data"]]
        self._layout = json.dumps(state["layout"], sort_keys=True)
        self.revision = 0
        self._click: list[Callable[[dict], None]] = []
        self.on_msg(self._message)

    @property
    def current(self) -> dict[str, Any]:
        """The figure as last shown (plain JSON; read it, do not change it in place)."""
        return self._current

    def trace(self, uid: str) -> dict[str, Any]:
        """The current trace called ``uid``."""
        return next(t for t in self._current["data"] if t["uid"] == uid)

    def on_click(self, callback: Callable[[dict], None]) -> None:
        """``callback({"curve", "point", "customdata"})`` when a point is clicked in the browser."""
        self._click.append(callback)

    def show(self, fig: go.Figure | dict, *, ready: bool = False) -> None:
        """Draw ``fig`` (a figure or its plain JSON): only changed traces and layout travel.
        ``ready=True`` says ``fig`` already is :func:`as_spec` output (the views' path), so it is
        not copied and cleaned a second time."""
        state = fig if ready else as_spec(fig)
        order = [t["uid"] for t in state["data"]]
        texts = {t["uid"]: json.dumps(t, sort_keys=True) for t in state["data"]}
        layout = json.dumps(state["layout"], sort_keys=True)
        msg: dict[str, Any] = {"type": "update"}
        if order != self._order or len(set(order)) != len(order):
            msg["data"] = state["data"]
        else:
            changed = {str(i): t for i, t in enumerate(state["data"]) if texts[t["uid"]] != self._sent.get(t["uid"])}
            if changed:
                msg["traces"] = changed
        if layout != self._layout:
            msg["layout"] = state["layout"]
        self._current, self._sent, self._order, self._layout = state, texts, order, layout
        if len(msg) > 1:
            self.revision += 1
            msg["revision"] = self.revision
            self.send(msg)

    def _message(self, _widget: Any, content: dict, _buffers: list) -> None:
        event = content.get("event") if isinstance(content, dict) else None
        if event == "hello" and self.revision:
            self.send({"type": "figure", "figure": self._current, "revision": self.revision})
        elif event == "need-plotly":
            source = (
                resources.files("plotly").joinpath("package_data/plotly.min.js").read_text(encoding="utf-8")
            )
            self.send({"type": "plotly-source", "source": source})
        elif event == "ping":
            self.send({"type": "pong"})
        elif event == "click":
            for cb in self._click:
                cb(content)
