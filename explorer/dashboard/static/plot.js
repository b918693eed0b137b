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
