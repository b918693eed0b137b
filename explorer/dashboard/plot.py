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
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

if TYPE_CHECKING:
    import plotly.graph_objects as go

STATIC_PLOTLY = "voila/templates/explorer/static/plotly/plotly-basic.min.js"

_ESM = r"""
function loadPlotly(model) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (window.__explorerPlotly) return window.__explorerPlotly;
  window.__explorerPlotly = new Promise((resolve, reject) => {
    const url = model.get("plotly_url");
    const fromKernel = () => {
      model.on("msg:custom", (msg) => {
        if (msg.type !== "plotly-source") return;
        const blob = new Blob([msg.source], { type: "text/javascript" });
        const s = document.createElement("script");
        s.src = URL.createObjectURL(blob);
        s.onload = () => resolve(window.Plotly);
        s.onerror = reject;
        document.head.appendChild(s);
      });
      model.send({ event: "need-plotly" });
    };
    if (!url) { fromKernel(); return; }
    const s = document.createElement("script");
    s.src = url;
    s.onload = () => (window.Plotly ? resolve(window.Plotly) : fromKernel());
    s.onerror = fromKernel;
    document.head.appendChild(s);
  });
  return window.__explorerPlotly;
}

// One heartbeat per page: if the kernel stops answering (it died, or the server restarted it),
// say so in words and offer a reload, instead of a page that silently stops reacting.
function heartbeat(model) {
  if (window.__explorerHeartbeat) return;
  window.__explorerHeartbeat = true;
  let last = Date.now();
  model.on("msg:custom", (msg) => { if (msg.type === "pong") last = Date.now(); });
  setInterval(() => {
    if (document.hidden) { last = Date.now(); return; }
    try { model.send({ event: "ping" }); } catch (e) { /* the comm is gone: the timeout below tells */ }
    if (Date.now() - last > 12000 && !document.querySelector(".explorer-lost")) {
      const bar = document.createElement("div");
      bar.className = "explorer-lost";
      bar.setAttribute("role", "alert");
      bar.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:10000;padding:12px 16px;" +
        "background:#fff4e5;border-bottom:2px solid #b26a00;font-size:16px;color:#222";
      bar.textContent = "The dashboard lost its connection to the server (its kernel stopped). ";
      const button = document.createElement("button");
      button.textContent = "Reload the page";
      button.onclick = () => window.location.reload();
      bar.appendChild(button);
      document.body.appendChild(bar);
    }
  }, 4000);
}

export default {
  async render({ model, el }) {
    heartbeat(model);
    const div = document.createElement("div");
    div.className = "explorer-plot";
    el.appendChild(div);
    const Plotly = await loadPlotly(model);
    let fig = JSON.parse(JSON.stringify(model.get("figure")));
    // "For a slide": the same figure with a title (what is shown, the selection in words) and a
    // footer (dataset version, sources), so that the image stands alone.
    const slide = {
      name: "slide",
      title: "Download for a slide (title, selection, dataset version, sources)",
      icon: Plotly.Icons.disk,
      click: (gd) => {
        const note = model.get("export_note") || {};
        const cfg = model.get("config") || {};
        const layout = JSON.parse(JSON.stringify(gd.layout));
        layout.title = { text: note.title || "", font: { size: 18 }, x: 0.01, xanchor: "left" };
        layout.margin = { ...(layout.margin || {}), t: 80, b: 200 };
        layout.annotations = [...(layout.annotations || []), {
          text: note.footer || "", xref: "paper", yref: "paper", x: 0, y: -0.14, xanchor: "left",
          yanchor: "top", showarrow: false, align: "left", font: { size: 11, color: "#444" },
        }];
        const opts = cfg.toImageButtonOptions || {};
        return Plotly.downloadImage({ data: gd.data, layout }, {
          format: opts.format || "png", width: 1600, height: 900,
          filename: (opts.filename || "figure") + "-slide",
        });
      },
    };
    const draw = () => Plotly.react(div, fig.data, fig.layout,
      { ...model.get("config"), modeBarButtonsToAdd: [slide] });
    await draw();
    model.on("msg:custom", async (msg) => {
      if (msg.type === "update") {
        for (const [i, trace] of Object.entries(msg.traces || {})) fig.data[Number(i)] = trace;
        if (msg.data) fig.data = msg.data;
        if (msg.layout) fig.layout = msg.layout;
        await draw();
        div.dataset.revision = String(msg.revision);
      } else if (msg.type === "figure") {
        fig = msg.figure;
        await draw();
        div.dataset.revision = String(msg.revision);
      }
    });
    model.on("change:config", draw);
    div.on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (p) model.send({ event: "click", curve: p.curveNumber, point: p.pointNumber, customdata: p.customdata ?? null });
    });
    model.send({ event: "hello" });
    return () => Plotly.purge(div);
  },
};
"""


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


_HEARTBEAT_ESM = _ESM.split("export default")[0] + """
export default { render({ model, el }) { heartbeat(model); el.style.display = "none"; } };
"""


class Heartbeat(anywidget.AnyWidget):
    """An invisible widget that runs the page's heartbeat (the same as a plot's): a page without
    a plot in view still tells its viewer, in words, when its kernel has stopped."""

    _esm = _HEARTBEAT_ESM

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.on_msg(lambda _w, content, _b: self.send({"type": "pong"}) if content.get("event") == "ping" else None)


class Plot(anywidget.AnyWidget):
    _esm = _ESM
    figure = traitlets.Dict().tag(sync=True)
    config = traitlets.Dict().tag(sync=True)
    #: {"title", "footer"} for the "download for a slide" button (set by the dashboard)
    export_note = traitlets.Dict().tag(sync=True)
    plotly_url = traitlets.Unicode("").tag(sync=True)

    def __init__(self, fig: go.Figure | dict, config: dict | None = None, **kwargs: Any):
        state = clean(fig) if isinstance(fig, dict) else figure_json(fig)
        super().__init__(figure=state, config=config or {}, plotly_url=plotly_url(), **kwargs)
        self._current = state
        self._sent = [json.dumps(t, sort_keys=True) for t in state["data"]]
        self._layout = json.dumps(state["layout"], sort_keys=True)
        self.revision = 0
        self._click: list[Callable[[dict], None]] = []
        self.on_msg(self._message)

    @property
    def current(self) -> dict[str, Any]:
        return self._current

    def on_click(self, callback: Callable[[dict], None]) -> None:
        """``callback({"curve", "point", "customdata"})`` when a point is clicked in the browser."""
        self._click.append(callback)

    def show(self, fig: go.Figure) -> None:
        """Send ``fig``'s new state: only the traces (and layout) that changed."""
        state = figure_json(fig)
        traces = [json.dumps(t, sort_keys=True) for t in state["data"]]
        layout = json.dumps(state["layout"], sort_keys=True)
        msg: dict[str, Any] = {"type": "update"}
        if len(traces) != len(self._sent):
            msg["data"] = state["data"]
        else:
            changed = {
                str(i): state["data"][i]
                for i, (a, b) in enumerate(zip(traces, self._sent, strict=True))
                if a != b
            }
            if changed:
                msg["traces"] = changed
        if layout != self._layout:
            msg["layout"] = state["layout"]
        self._current, self._sent, self._layout = state, traces, layout
        if len(msg) > 1:
            self.revision += 1
            msg["revision"] = self.revision
            self.send(msg)

    def patch(self, traces: dict[int, dict[str, Any]], layout: dict[str, Any] | None = None) -> None:
        """Replace properties of some traces (and top-level layout keys) without rebuilding a
        plotly Figure. Values must be JSON-ready (lists, numbers, strings, None; NaN becomes None)."""
        msg: dict[str, Any] = {"type": "update", "traces": {}}
        for i, props in traces.items():
            new = {**self._current["data"][i], **clean(props)}
            text = json.dumps(new, sort_keys=True)
            if text != self._sent[i]:
                self._current["data"][i] = new
                self._sent[i] = text
                msg["traces"][str(i)] = new
        if layout:
            new_layout = {**self._current["layout"], **clean(layout)}
            text = json.dumps(new_layout, sort_keys=True)
            if text != self._layout:
                self._current["layout"], self._layout = new_layout, text
                msg["layout"] = new_layout
        if msg["traces"] or "layout" in msg:
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
