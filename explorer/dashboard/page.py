"""The Voila dashboard: filters on the left, one view at a time on the right.

ipywidgets wiring over :mod:`explorer.dashboard.state` (state -> derived data) and
:mod:`explorer.dashboard.views`. Views are built the first time they are shown and redrawn in
place afterwards (no figure rebuild for the main plot). Every string from the data that reaches
HTML is escaped.
"""

from __future__ import annotations

import html

import ipywidgets as w

from explorer.analysis.windows import DEFAULT_WINDOWS
from explorer.dashboard import preheat, preload, urlstate
from explorer.dashboard.plot import Heartbeat
from explorer.dashboard.state import MEASURES, OUTCOME_CHOICES, FilterState, Model
from explorer.dashboard.views import (
    FindingsView,
    ForestView,
    MapView,
    SafetyView,
    StudiesView,
    SummaryView,
    TimeView,
    exports_html,
    selection_words,
)
from explorer.data import DataError, load

TITLE = "Injection therapies for back pain: evidence explorer"
STYLE = """<style>
.explorer-title { font-size: 1.6em; font-weight: 600; margin: 0 0 0.2em 0; }
.explorer-muted { color: var(--jp-ui-font-color2, #666); font-size: 0.9em; }
.explorer-table { border-collapse: collapse; font-size: 0.92em; }
.explorer-table th, .explorer-table td { border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
.explorer-notice { color: #8a5300; }
.explorer-present { font-size: 1.25em; }
.explorer-present .explorer-filters { display: none !important; }
.explorer-present .widget-tab > .p-TabBar, .explorer-present .widget-tab > .lm-TabBar { font-size: 1.1em; }
.explorer-summary p { max-width: 60em; line-height: 1.5; }
.widget-tab > .lm-TabBar .lm-TabBar-tab, .widget-tab > .p-TabBar .p-TabBar-tab { flex: 0 0 auto !important; min-width: 0; max-width: none !important; }
.widget-tab > .lm-TabBar .lm-TabBar-tabLabel, .widget-tab > .p-TabBar .p-TabBar-tabLabel { overflow: visible; text-overflow: clip; }
.widget-tab > .lm-TabBar .lm-TabBar-content, .widget-tab > .p-TabBar .p-TabBar-content { flex-wrap: wrap; }
</style>"""


def error_panel(exc: Exception) -> w.HTML:
    """One clear message instead of a traceback or a blank page."""
    if isinstance(exc, DataError):
        items = "".join(f"<li><code>{html.escape(str(p))}</code></li>" for p in exc.problems[:20])
        more = len(exc.problems) - 20
        extra = f"<p>… and {more} more.</p>" if more > 0 else ""
        body = (
            f"<p>The evidence could not be loaded: {len(exc.problems)} problem(s) in the data.</p>"
            f"<ul>{items}</ul>{extra}<p>Run <code>explorer validate</code> for the full list.</p>"
        )
    else:
        body = f"<p>The evidence could not be loaded: {html.escape(type(exc).__name__)}: {html.escape(str(exc))}</p>"
    return w.HTML(f"<div class='explorer-error' role='alert'><h2>{TITLE}</h2>{body}</div>")


def _multi(
    description: str, options: list[tuple[str, str]], value: tuple[str, ...], rows: int = 4
) -> w.SelectMultiple:
    codes = {c for _, c in options}
    return w.SelectMultiple(
        options=options,
        value=tuple(v for v in value if v in codes),
        description=description,
        rows=min(rows, max(2, len(options))),
        layout=w.Layout(width="100%"),
        style={"description_width": "82px"},
    )


#: Plot type sizes (px) on screen and in presentation mode: a room reads 18 px from the back.
PLOT_FONTS = {False: {"font": 12, "axis": 14, "legend": 12}, True: {"font": 18, "axis": 20, "legend": 16}}


def scale_plot_fonts(plot, present: bool) -> None:
    """Plot text (ticks, axis titles, legend, hover) sized for a screen or for a room; the legend
    goes below the plot in presentation mode so the data keep the width."""
    f = PLOT_FONTS[present]
    layout = plot.current["layout"]
    xaxis = {**layout.get("xaxis", {}), "tickfont": {"size": f["font"]}, "title": {**layout.get("xaxis", {}).get("title", {}), "font": {"size": f["axis"]}}}
    yaxis = {**layout.get("yaxis", {}), "tickfont": {"size": f["font"]}, "title": {**layout.get("yaxis", {}).get("title", {}), "font": {"size": f["axis"]}}}
    legend = {**layout.get("legend", {}), "font": {"size": f["legend"]}}
    if present:
        legend.update(orientation="h", y=-0.22, x=0, yanchor="top")
    else:
        for k in ("orientation", "y", "x", "yanchor"):
            legend.pop(k, None)
    plot.patch({}, {"font": {**layout.get("font", {}), "size": f["font"]}, "xaxis": xaxis, "yaxis": yaxis, "legend": legend,
                    "hoverlabel": {"font": {"size": f["font"]}}})  # fmt: skip


def _switch(value: bool, description: str) -> w.Checkbox:
    """A pooling-rule switch of the filter panel (explorer.analysis.comparability)."""
    return w.Checkbox(value=value, description=description, indent=False, layout=w.Layout(width="100%"))


class Dashboard:
    """Widgets and wiring. ``Dashboard(model).widget`` is what the notebook displays."""

    def __init__(
        self,
        model: Model,
        state: FilterState | None = None,
        ignored: list[str] | None = None,
        view: str = "findings",
        present: bool = False,
    ):
        self.model = model
        self.state = state or FilterState()
        self.ignored = list(ignored or [])
        self._quiet = False
        ev, m, s = model.ev, model, self.state
        style = {"description_width": "82px"}
        self.outcome = w.Dropdown(
            options=[(v, k) for k, v in OUTCOME_CHOICES.items()],
            value=s.outcome,
            description="Outcome",
            layout=w.Layout(width="100%"),
            style=style,
        )
        self.measure = w.ToggleButtons(
            options=[(v, k) for k, v in MEASURES.items()],
            value=s.measure,
            description="Show",
            style={"button_width": "auto", **style},
        )
        arms, studies = ev.arms, ev.studies
        self.therapy = _multi("Therapy", m.therapy_options(), s.therapies, 8)
        self.approach = _multi("Approach", m.options("arms", "approach", arms["approach"]), s.approaches, 5)
        self.indication = _multi("Indication", m.indication_options(), s.indications, 5)
        self.guidance = _multi("Guidance", m.options("arms", "guidance", arms["guidance"]), s.guidance)
        self.comparator = _multi(
            "Comparator", m.options("arms", "comparator_kind", arms["comparator_kind"]), s.comparators, 3
        )
        self.design = _multi("Design", m.options("studies", "design", studies["design"]), s.designs)
        self.window = _multi("Follow-up", [(win.label, win.name) for win in DEFAULT_WINDOWS], s.windows)
        self.rob = _multi(
            "Risk of bias", m.options("studies", "risk_of_bias", studies["risk_of_bias"]), s.rob, 4
        )
        lo, hi = m.year_range()
        self.years = w.IntRangeSlider(
            value=(s.year_min or lo, s.year_max or hi),
            min=lo,
            max=hi,
            description="Published",
            style=style,
            layout=w.Layout(width="100%"),
        )
        self.min_n = w.BoundedIntText(
            value=s.min_n,
            min=0,
            max=100_000,
            step=10,
            description="Min. n",
            style=style,
            layout=w.Layout(width="60%"),
        )
        self.strict = _switch(s.strict_placebo, "Placebo = inert injections only (strict; local anaesthetic counts as active)")
        self.inferred = _switch(s.inferred_scales, "Pool VAS rows whose range was inferred from the values")
        self.imputed = _switch(s.imputed_sd, "Pool rows whose SD was imputed from other trials")
        self.controls = [
            self.outcome,
            self.measure,
            self.therapy,
            self.approach,
            self.indication,
            self.guidance,
            self.comparator,
            self.design,
            self.window,
            self.rob,
            self.years,
            self.min_n,
            self.strict,
            self.inferred,
            self.imputed,
        ]
        self.reset = w.Button(description="Reset", icon="undo", tooltip="Back to all randomised evidence")
        self.present = w.ToggleButton(
            value=present,
            description="Presentation mode",
            icon="desktop",
            tooltip="Larger type, no filter panel: for a room",
        )
        self.image_format = w.ToggleButtons(
            options=[("PNG", "png"), ("SVG", "svg")],
            value="png",
            description="Figures",
            style={"button_width": "auto", **style},
        )
        self.status = w.HTML()
        self.link = w.HTML()
        self.exports = w.HTML()
        # exports are made only while this section is open: they are large, and most viewers never ask
        self.export_box = w.Accordion(children=[self.exports], selected_index=None)
        self.export_box.set_title(0, "Download this selection (data, citations)")
        self.export_box.observe(lambda _c: self._fill_exports(), names="selected_index")
        self.views = [
            FindingsView(m, self.open_group),
            TimeView(m),
            ForestView(m),
            MapView(m, self.pick_cell),
            SafetyView(m),
            StudiesView(m),
            SummaryView(m),
        ]
        self.tabs = w.Tab(children=[v.box for v in self.views])
        for i, v in enumerate(self.views):
            self.tabs.set_title(i, v.title)
        names = [v.name for v in self.views]
        self.tabs.selected_index = names.index(view) if view in names else 0
        for control in self.controls:
            control.observe(self._changed, names="value")
        self.tabs.observe(lambda _c: self.update(), names="selected_index")
        self.reset.on_click(self._reset)
        self.present.observe(lambda _c: self._present(), names="value")
        self.image_format.observe(lambda _c: self._image_format(), names="value")
        header = w.HTML(
            f"<div class='explorer-title'>{TITLE}</div>"
            f"<div class='explorer-muted'>Dataset version {html.escape(ev.version)} · {len(studies)} publications. "
            "Every point links to its source (hover). Pain is on 0-10 and function on % of the scale; lower is "
            "better except for responders.</div>"
        )
        help_text = w.HTML(
            "<div class='explorer-muted'>Ctrl/Cmd-click picks several; none picked means all.</div>"
        )
        self.filters = w.VBox(
            [*self.controls, help_text, self.reset], layout=w.Layout(width="360px", min_width="300px")
        )
        self.filters.add_class("explorer-filters")
        main = w.VBox(
            [self.status, self.tabs, self.link, self.export_box, w.HBox([self.present, self.image_format])],
            layout=w.Layout(flex="1 1 auto", overflow="hidden"),
        )
        self.widget = w.VBox([w.HTML(STYLE), Heartbeat(), header, w.HBox([self.filters, main])])
        self.widget.add_class("explorer-root")
        self._present()
        self.update()

    # ------------------------------------------------------------------ state
    def _read_state(self) -> FilterState:
        lo, hi = self.model.year_range()
        y0, y1 = self.years.value
        return FilterState(
            outcome=self.outcome.value,
            measure=self.measure.value,
            therapies=tuple(self.therapy.value),
            approaches=tuple(self.approach.value),
            indications=tuple(self.indication.value),
            guidance=tuple(self.guidance.value),
            comparators=tuple(self.comparator.value),
            designs=tuple(self.design.value),
            windows=tuple(self.window.value),
            rob=tuple(self.rob.value),
            year_min=None if y0 == lo else y0,
            year_max=None if y1 == hi else y1,
            min_n=int(self.min_n.value or 0),
            strict_placebo=bool(self.strict.value),
            inferred_scales=bool(self.inferred.value),
            imputed_sd=bool(self.imputed.value),
        )

    def _changed(self, _change=None) -> None:
        if self._quiet:
            return
        self.state = self._read_state()
        self.update()

    def set_state(self, state: FilterState) -> None:
        """Move every control to ``state`` (one update at the end)."""
        lo, hi = self.model.year_range()
        self._quiet = True
        try:
            self.outcome.value, self.measure.value = state.outcome, state.measure
            for control, value in (
                (self.therapy, state.therapies),
                (self.approach, state.approaches),
                (self.indication, state.indications),
                (self.guidance, state.guidance),
                (self.comparator, state.comparators),
                (self.design, state.designs),
                (self.window, state.windows),
                (self.rob, state.rob),
            ):
                codes = {c for _, c in control.options}
                control.value = tuple(v for v in value if v in codes)
            self.years.value = (state.year_min or lo, state.year_max or hi)
            self.min_n.value = state.min_n
            self.strict.value = state.strict_placebo
            self.inferred.value = state.inferred_scales
            self.imputed.value = state.imputed_sd
        finally:
            self._quiet = False
        self._changed()

    def _reset(self, _button=None) -> None:
        self.ignored = []
        self.set_state(FilterState())

    def open_group(self, view: str, therapy: str, window: str, comparator: str, outcome: str) -> None:
        """From a findings row to its forest plot or its time course."""
        names = [v.name for v in self.views]
        if view == "forest":
            forest = self.views[names.index("forest")]
            forest.wanted = f"{therapy}|{window}|{comparator}|"
        self.set_state(self.state.with_(outcome=outcome, measure="difference" if view == "time" else self.state.measure))
        self.tabs.selected_index = names.index(view)

    def pick_cell(self, therapy: str, indication: str) -> None:
        """Evidence-map click: filter everything to that therapy and indication."""
        self.set_state(self.state.with_(therapies=(therapy,), indications=(indication,)))

    def _present(self) -> None:
        if self.present.value:
            self.widget.add_class("explorer-present")
        else:
            self.widget.remove_class("explorer-present")
        for v in self.views:
            if getattr(v, "plot", None) is not None:
                scale_plot_fonts(v.plot, bool(self.present.value))
        self._show_link()

    def _image_format(self) -> None:
        """PNG or SVG from each plot's camera button (plotly.js draws the file in the browser)."""
        for v in self.views:
            plot = getattr(v, "plot", None)
            if plot is not None:
                options = {**plot.config.get("toImageButtonOptions", {}), "format": self.image_format.value}
                if plot.config.get("toImageButtonOptions") != options:
                    plot.config = {**plot.config, "toImageButtonOptions": options}

    # ------------------------------------------------------------------ view
    def view(self, name: str):
        """The view called ``name`` (built on first use)."""
        v = next(v for v in self.views if v.name == name)
        if not v.built:
            v.update(self.state)
        return v

    @property
    def current(self):
        return self.views[self.tabs.selected_index or 0]

    def _show_link(self) -> None:
        query = urlstate.to_query(self.state, self.current.name, bool(self.present.value))
        href = html.escape("?" + query, quote=True)
        shown = html.escape("?" + query) if query else "(all randomised evidence)"
        self.link.value = f"<div class='explorer-link'>Link to this view: <a class='explorer-share' href='{href}'>{shown}</a></div>"

    def update(self) -> None:
        """Redraw the visible view for the current state; the others redraw when shown.

        The plot goes out first; the hint naming outcomes with more studies (which may derive
        other outcomes' series the first time) is computed after it, so it never delays a redraw.
        """
        state = self.state
        rows = self.model.filtered(state)
        self.status.value = self._status_html(state, rows, hint="")
        self.current.update(state)
        if self.present.value and getattr(self.current, "plot", None) is not None:
            scale_plot_fonts(self.current.plot, True)  # a redraw resets axis titles
        if getattr(self.current, "plot", None) is not None:
            self.current.plot.export_note = self._export_note(state)
        self._image_format()
        self._show_link()
        self._fill_exports()
        if self.current.name != "findings" and rows["study_id"].nunique() < 3:
            others = self.model.other_outcomes(state)[:3]
            if others:
                listed = "; ".join(f"{label}: {n} {'study' if n == 1 else 'studies'}" for label, n in others)
                hint = (
                    "<div class='explorer-muted'>With the same filters, more studies report "
                    f"{html.escape(listed)} (choose under Outcome).</div>"
                )
                self.status.value = self._status_html(state, rows, hint)

    def _status_html(self, state: FilterState, rows, hint: str) -> str:
        notice = ""
        if self.ignored:
            notice = (
                f"<div class='explorer-notice'>Ignored in the link (not a known filter value): "
                f"{html.escape(', '.join(self.ignored[:10]))}</div>"
            )
        studies = self.model.studies(state)["study_id"].nunique()
        text = self.model.status(state, rows)
        if self.current.name == "findings":  # the table answers for every outcome at once
            f = self.model.findings(state)
            text = (
                f"{len(f)} comparisons: {int((f['k'] > 0).sum())} with a pooled estimate or one trial's "
                f"estimate, {int((f['k'] == 0).sum())} with trials reporting only a direction."
            )
        return (
            f"<div class='explorer-status' aria-live='polite'>{html.escape(text)} "
            f"<span class='explorer-muted'>({studies} studies match the filters for any outcome.)"
            f"</span></div>{notice}{hint}"
        )

    def _export_note(self, state: FilterState) -> dict[str, str]:
        """Title and footer that make an exported figure stand alone on a slide."""
        view = self.current
        what = self.model.y_title(state) if view.name == "time" else view.title
        shown = self.model.filtered(state) if view.name == "time" else self.model.studies(state)
        names = sorted({str(x) for x in shown["label"]}) if len(shown) else []
        labels = ", ".join(names)
        if len(labels) > 600:
            labels = labels[:600].rsplit(",", 1)[0] + ", …"
        esc = html.escape  # plotly renders some HTML in text: what comes from the data is escaped
        return {
            "title": esc(f"{view.title}: {what}"),
            "footer": (
                f"Selection: {esc(selection_words(self.model, state))}.<br>Dataset {esc(self.model.ev.version)}; "
                f"{len(names)} studies: {esc(labels)}.<br>Injection therapies for back pain: evidence explorer "
                f"(link: ?{esc(urlstate.to_query(state, view.name))})"
            ),
        }

    def _fill_exports(self) -> None:
        if self.export_box.selected_index == 0:
            self.exports.value = exports_html(self.model, self.state, self.model.ev.version)

    # conveniences for tests and notebooks
    @property
    def figure(self):
        """A plotly Figure of what the efficacy plot shows now (a snapshot, for reading)."""
        import plotly.graph_objects as go

        view = next(v for v in self.views if v.name == "time")
        if not view.built:
            view.update(self.state)
        return go.Figure(view.plot.current)

    @property
    def therapy_codes(self) -> list[str]:
        return [code for _, code in self.model.therapy_options()]


def _page_query() -> str:
    """The page's query string. A preheated Voila kernel runs the notebook before the request
    exists, so it waits for it here (after the imports and the data are ready)."""
    return preheat.page_query()


def app(data_dir: str | None = None, query: str | None = None) -> w.Widget:
    """Build the dashboard on the evidence (``EXPLORER_DATA`` or bundled data by default).

    ``query`` (default: the page's query string, which Voila passes as ``QUERY_STRING``) picks the
    initial selection, e.g. ``therapy=prp&indication=discogenic&window=short``.
    """
    try:
        # prepared at kernel start-up when served; taken once, so a later call re-reads the data
        model = preload.take(data_dir) or Model(load(data_dir))
        if query is None:
            query = _page_query()
        vocab = {
            "approach": list(model.labels("arms", "approach")),
            "guidance": list(model.labels("arms", "guidance")),
            "comparator": list(model.labels("arms", "comparator_kind")),
            "design": list(model.labels("studies", "design")),
            "rob": list(model.labels("studies", "risk_of_bias")),
        }
        therapies = [code for _, code in model.therapy_options()]
        indications = [code for _, code in model.indication_options()]
        state, ignored = urlstate.parse(query, therapies, indications, vocab)
        view, present = urlstate.parse_view(query)
        return Dashboard(model, state, ignored, view, present).widget
    except Exception as exc:  # the page must say what is wrong, never go blank
        return error_panel(exc)
