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

// The slide's layout comes from the kernel (explorer.figures.palette.slide_layout: title, every
// text at least 18 px, the footer). Here it is drawn off screen at 1600x900, and the footer is put
// below whatever the axis labels and the legend take (rotated labels can be tall): the bottom
// margin grows until nothing reaches the footer, then the image is saved.
async function downloadSlide(Plotly, gd, model) {
  const note = model.get("export_note") || {};
  const cfg = model.get("config") || {};
  const opts = cfg.toImageButtonOptions || {};
  const layout = JSON.parse(JSON.stringify(note.layout || gd.layout));
  const W = layout.width || 1600, H = layout.height || 900;
  const footerPx = (layout.meta && layout.meta.footer_px) || 200;
  const host = document.createElement("div");
  host.style.cssText = `position:fixed;left:-${W + 100}px;top:0;width:${W}px;height:${H}px;`;
  document.body.appendChild(host);
  try {
    await Plotly.newPlot(host, gd.data, layout, { staticPlot: true });
    const footerIndex = (layout.annotations || []).findIndex((a) => a.name === "explorer-footer");
    const place = () => {  // the footer's top at H - footerPx, in paper units
      const s = host._fullLayout._size;
      return (s.t + s.h - (H - footerPx)) / s.h;
    };
    const bottomOf = (selector) => {
      const top = host.getBoundingClientRect().top;
      let lowest = 0;
      for (const n of host.querySelectorAll(selector)) {
        const r = n.getBoundingClientRect();
        if (r.height) lowest = Math.max(lowest, r.bottom - top);
      }
      return lowest;
    };
    const below = layout.legend && layout.legend.orientation === "h" && (layout.legend.y || 0) < 0;
    for (let i = 0; i < 5 && footerIndex >= 0; i++) {
      const s = host._fullLayout._size;
      const update = { [`annotations[${footerIndex}].y`]: place() };
      const axis = bottomOf(".xaxislayer-above, .g-xtitle");
      if (below) update["legend.y"] = (s.t + s.h - (axis + 12)) / s.h;  // under the axis labels, never over them
      await Plotly.relayout(host, update);
      const lowest = Math.max(axis, bottomOf(".legend"));
      const left = host.getBoundingClientRect().left;
      let right = 0;  // text beside the plot (a forest plot's estimates) must not run off the image
      for (const n of host.querySelectorAll(".annotation, .legend")) {
        if (n.getAttribute("data-index") === String(footerIndex)) continue;  // the footer is wrapped in the kernel
        right = Math.max(right, n.getBoundingClientRect().right - left);
      }
      const over = lowest - (H - footerPx - 8), wide = right - (W - 8);
      if (over <= 0 && wide <= 0) break;
      const m = host._fullLayout.margin;
      await Plotly.relayout(host, { "margin.b": m.b + Math.max(0, over) + 4, "margin.r": m.r + Math.max(0, wide) + 4 });
    }
    await Plotly.downloadImage(host, {
      format: opts.format || "png", width: W, height: H, filename: (opts.filename || "figure") + "-slide",
    });
  } finally {
    Plotly.purge(host);
    host.remove();
  }
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
      click: (gd) => downloadSlide(Plotly, gd, model),
    };
    // In presentation mode the plot takes the height of the screen (less the tabs above it).
    const sized = (layout) => (div.closest(".explorer-present")
      ? { ...layout, height: Math.max(layout.height || 0, Math.round(window.innerHeight * 0.8)) }
      : layout);
    const draw = () => Plotly.react(div, fig.data, sized(fig.layout),
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
