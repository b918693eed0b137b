// The filter panel: one generic component draws every filter of the table the kernel sends
// (explorer/dashboard/filters.py). Plain HTML controls with full labels: radio buttons for a
// single choice, checkboxes with an "All" box for a set, number boxes for ranges, one checkbox per
// rule. The panel's value is one object (filter name -> value); the kernel validates it.

const TEXT = {
  intro: "Tick what to include. Nothing ticked under a heading means all of it. Every tab and the " +
    "link below follow these choices.",
  all: "All",
  rules: "Pooling rules (sensitivity)",
  reset: "Reset all filters",
  from: "from",
  to: "to",
};

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.appendChild(c);
  return node;
}

function summaryText(f, value) {
  if (f.kind === "many") {
    const v = value || [];
    if (!v.length) return TEXT.all;
    if (v.length === 1) {
      const o = f.options.find((x) => x[0] === v[0]);
      return o ? o[1] : v[0];
    }
    return `${v.length} of ${f.options.length}`;
  }
  if (f.kind === "one") {
    const o = f.options.find((x) => x[0] === value);
    return o ? o[1].split(",")[0] : "";
  }
  if (f.kind === "years") {
    const [lo, hi] = value || [null, null];
    return lo || hi ? `${lo || f.min}-${hi || f.max}` : TEXT.all;
  }
  if (f.kind === "at_least") return value ? `n ≥ ${value}` : TEXT.all;
  return "";
}

export default {
  render({ model, el: root }) {
    let uid = 0;
    const id = (name) => `explorer-f-${name}-${++uid}`;
    const panel = el("div", { class: "explorer-panel", role: "form", "aria-label": "Filters" });
    panel.appendChild(el("p", { class: "explorer-panel-intro", text: TEXT.intro }));
    const refresh = []; // functions that bring a control in line with the value
    const value = () => ({ ...model.get("value") });
    const set = (name, v) => {
      const next = value();
      next[name] = v;
      model.set("value", next);
      model.save_changes();
    };
    let rules = null;

    for (const f of model.get("spec")) {
      if (f.kind === "switch") {
        if (!rules) {
          rules = el("details", { class: "explorer-filter explorer-rules" });
          rules.appendChild(el("summary", { text: TEXT.rules }));
          panel.appendChild(rules);
        }
        const box = el("input", { type: "checkbox", id: id(f.name), "data-filter": f.name });
        box.addEventListener("change", () => set(f.name, box.checked));
        rules.appendChild(el("label", { class: "explorer-option", for: box.id }, [box, el("span", { text: f.label })]));
        refresh.push((v) => { box.checked = !!v[f.name]; });
        continue;
      }
      const section = el("details", { class: "explorer-filter", "data-filter": f.name });
      if (f.open) section.open = true;
      const chosen = el("span", { class: "explorer-chosen" });
      section.appendChild(el("summary", {}, [el("span", { class: "explorer-filter-label", text: f.label }), chosen]));
      if (f.help) section.appendChild(el("div", { class: "explorer-help", text: f.help }));
      const body = el("div", { class: "explorer-options", role: f.kind === "one" ? "radiogroup" : "group", "aria-label": f.label });
      section.appendChild(body);
      if (f.kind === "one") {
        const radios = f.options.map(([code, label]) => {
          const r = el("input", { type: "radio", name: `explorer-${f.name}-${uid}`, id: id(f.name), value: code });
          r.addEventListener("change", () => { if (r.checked) set(f.name, code); });
          body.appendChild(el("label", { class: "explorer-option", for: r.id }, [r, el("span", { text: label })]));
          return r;
        });
        refresh.push((v) => { for (const r of radios) r.checked = r.value === v[f.name]; });
      } else if (f.kind === "many") {
        const all = el("input", { type: "checkbox", id: id(f.name), "data-all": "1" });
        body.appendChild(el("label", { class: "explorer-option explorer-all", for: all.id }, [all, el("span", { text: TEXT.all })]));
        const boxes = f.options.map(([code, label]) => {
          const b = el("input", { type: "checkbox", id: id(f.name), value: code });
          body.appendChild(el("label", { class: "explorer-option", for: b.id }, [b, el("span", { text: label })]));
          return b;
        });
        all.addEventListener("change", () => {
          if (all.checked) set(f.name, []);
          else all.checked = true; // "all" is left by ticking one option
        });
        for (const b of boxes) {
          b.addEventListener("change", () => {
            const picked = boxes.filter((x) => x.checked).map((x) => x.value);
            set(f.name, picked);
          });
        }
        refresh.push((v) => {
          const picked = new Set(v[f.name] || []);
          all.checked = picked.size === 0;
          for (const b of boxes) b.checked = picked.has(b.value);
        });
      } else if (f.kind === "years") {
        const make = (which) => {
          const box = el("input", { type: "number", min: String(f.min), max: String(f.max), step: "1", id: id(f.name), class: "explorer-number" });
          body.appendChild(el("label", { class: "explorer-inline", for: box.id }, [el("span", { text: TEXT[which] }), box]));
          return box;
        };
        const lo = make("from"), hi = make("to");
        const changed = () => {
          const a = lo.value ? Number(lo.value) : null, b = hi.value ? Number(hi.value) : null;
          set(f.name, [a === f.min ? null : a, b === f.max ? null : b]);
        };
        lo.addEventListener("change", changed);
        hi.addEventListener("change", changed);
        refresh.push((v) => {
          const [a, b] = v[f.name] || [null, null];
          lo.value = String(a ?? f.min);
          hi.value = String(b ?? f.max);
        });
      } else if (f.kind === "at_least") {
        const box = el("input", { type: "number", min: "0", max: "99999", step: "10", id: id(f.name), class: "explorer-number" });
        body.appendChild(el("label", { class: "explorer-inline", for: box.id }, [el("span", { text: "n ≥" }), box]));
        box.addEventListener("change", () => set(f.name, Math.max(0, Math.floor(Number(box.value) || 0))));
        refresh.push((v) => { box.value = String(v[f.name] || 0); });
      }
      refresh.push((v) => { chosen.textContent = summaryText(f, v[f.name]); });
      panel.appendChild(section);
    }
    const reset = el("button", { type: "button", class: "explorer-reset", text: TEXT.reset });
    reset.addEventListener("click", () => model.send({ event: "reset" }));
    panel.appendChild(reset);
    root.appendChild(panel);
    const sync = () => { const v = model.get("value"); for (const r of refresh) r(v); };
    model.on("change:value", sync);
    sync();
    // Esc leaves presentation mode (the panel is hidden then, but it listens for the page)
    const onKey = (e) => {
      if (e.key === "Escape" && root.closest(".explorer-present")) model.send({ event: "escape" });
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  },
};
