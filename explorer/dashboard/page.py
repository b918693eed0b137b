"""The Voila dashboard: the filter panel on the left, a status line and one tab at a time on the right.

ipywidgets wiring over :mod:`explorer.dashboard.state` (state -> derived data) and
:mod:`explorer.dashboard.views`. The page is three parts: :class:`~explorer.dashboard.panel.FilterPanel`
(generated from the filter table), :class:`StatusLine` and :class:`ViewTabs`; :class:`Dashboard`
only connects them. Every string from the data that reaches HTML is escaped.
"""

from __future__ import annotations

import html
import logging
import os
import re
import threading
from typing import Any

import ipywidgets as w

from explorer.dashboard import filters, preheat, urlstate
from explorer.dashboard.panel import FilterPanel
from explorer.dashboard.plot import Heartbeat
from explorer.dashboard.state import FilterState, Model
from explorer.dashboard.views import (
    FindingsView,
    ForestView,
    MapView,
    ReviewsView,
    SafetyView,
    StudiesView,
    SummaryView,
    TimeView,
    View,
    exports_html,
    selection_words,
)
from explorer.data import DataError, load
from explorer.figures.palette import slide_layout, wrap

TITLE = "Injection therapies for back pain: evidence explorer"
#: lines of a slide's footer that list the studies drawn (the rest are counted)
SLIDE_SOURCE_LINES = 3
log = logging.getLogger(__name__)
#: the status line opens the results: the skip link's target (focusable, not in the tab order)
STATUS_ATTRS = "class='explorer-status' id='explorer-results' tabindex='-1' aria-live='polite'"
SKIP_LINK = "<a class='explorer-skip' href='#explorer-results'>Skip to results</a>"


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


class StatusLine(w.HTML):
    """What the selection holds, in one sentence, with the same counts as the tabs below it."""

    def say(self, model: Model, state: FilterState, view: str, ignored: list[str], hint: str = "") -> None:
        notice = ""
        if ignored:
            notice = (
                f"<div class='explorer-notice'>Ignored in the link (not a known filter value): "
                f"{html.escape(', '.join(ignored[:10]))}</div>"
            )
        studies = model.studies(state)["study_id"].nunique()
        if view == "findings":  # the table answers for every outcome at once
            f = model.findings(state)
            basis = f["answer_basis"].value_counts() if len(f) else {}
            text = (
                f"{len(f)} comparisons: {int((f['k'] > 1).sum())} pooled here, {int((f['k'] == 1).sum())} from one "
                f"trial's estimate, {int(basis.get('published', 0))} answered by published pools, "
                f"{int(basis.get('vote count', 0))} by the direction of their trials."
            )
        elif view == "reviews":
            n = len(model.ev.review_estimates)
            text = f"{n} published pooled estimates from {model.ev.review_estimates['study_id'].nunique()} reviews in the data."
        elif view == "safety":  # the outcome does not apply here: say what the harms rest on
            ae = model.harms(state)
            n = ae["study_id"].nunique()
            text = (
                f"{n} {'study reports' if n == 1 else 'studies report'} adverse events in this selection "
                f"({len(ae)} {'count' if len(ae) == 1 else 'counts'} per group)."
            )
        elif view in ("map", "studies", "summary", "reviews"):  # every outcome: the studies are the answer
            text = f"{studies} {'study matches' if studies == 1 else 'studies match'} these filters."
        else:
            text = model.status(state, model.filtered(state))
        also = (
            ""
            if view in ("map", "studies", "summary", "reviews")
            else f"<span class='explorer-muted'>({studies} {'study matches' if studies == 1 else 'studies match'} "
            "the filters for any outcome.)</span>"
        )
        self.value = f"<div {STATUS_ATTRS}>{html.escape(text)} {also}</div>{notice}{hint}"

    @staticmethod
    def hint(model: Model, state: FilterState) -> str:
        """Where few studies report the chosen outcome, name the outcomes more of them report."""
        if model.filtered(state)["study_id"].nunique() >= 3:
            return ""
        others = model.other_outcomes(state)[:3]
        if not others:
            return ""
        listed = "; ".join(f"{label}: {n} {'study' if n == 1 else 'studies'}" for label, n in others)
        return (
            "<div class='explorer-muted'>With the same filters, more studies report "
            f"{html.escape(listed)} (choose under Outcome).</div>"
        )


class ViewTabs(w.Tab):
    """The views as tabs; a view is built the first time it is shown."""

    def __init__(self, views: list[View], selected: str):
        super().__init__(children=[v.box for v in views])
        self.views = views
        for i, v in enumerate(views):
            self.set_title(i, v.title)
        self.select(selected)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.views]

    @property
    def current(self) -> View:
        return self.views[self.selected_index or 0]

    def select(self, name: str) -> None:
        self.selected_index = self.names.index(name) if name in self.names else 0

    def view(self, name: str) -> View:
        return self.views[self.names.index(name)]


class Dashboard:
    """Connects the filter panel, the status line and the tabs. ``Dashboard(model).widget`` is
    what the notebook displays; ``set_state`` / ``state`` are the whole selection."""

    def __init__(
        self,
        model: Model,
        state: FilterState | None = None,
        ignored: list[str] | None = None,
        view: str = "findings",
        present: bool = False,
        extras: dict[str, str] | None = None,
        defer: bool = False,
    ):
        #: pool a findings table not yet computed in a background thread (the page shows first)
        self.defer = defer
        self._pending: FilterState | None = None
        self._synchronous: FilterState | None = None
        self.model = model
        self.state = state or FilterState()
        self.ignored = list(ignored or [])
        ev = model.ev
        options = {f.name: model.choices(f.name) for f in filters.FILTERS if f.kind in ("one", "many")}
        self.panel = FilterPanel(filters.panel_spec(options, model.year_range()), self.state)
        self.panel.observe(self._changed, names="value")
        self.panel.on_reset(self._reset)
        self.status = StatusLine()
        self.present = w.ToggleButton(
            value=present,
            description="Presentation mode",
            icon="desktop",
            tooltip="Larger type, no filter panel: for a room",
        )
        self.present.add_class("explorer-present-toggle")
        self.image_format = w.ToggleButtons(
            options=[("PNG", "png"), ("SVG", "svg")],
            value="png",
            description="Figures",
            style={"button_width": "auto", "description_width": "60px"},
        )
        self.link = w.HTML()
        self.exports = w.HTML()
        # exports are made only while this button is down: they are large, and most viewers never
        # ask. A button (not an accordion, whose header takes no keyboard focus): Tab and Enter open it.
        self.export_box = w.ToggleButton(
            value=False,
            description="Download this selection (data, citations)",
            icon="download",
            tooltip="Show the downloads: data and findings as CSV, citations, the findings table for a slide",
            layout=w.Layout(width="auto"),
        )
        self.export_box.observe(lambda _c: self._fill_exports(), names="value")
        self.tabs = ViewTabs(
            [
                FindingsView(model, self.open_group),
                ReviewsView(model),
                TimeView(model, self.open_study),
                ForestView(model),
                MapView(model, self.pick_cell),
                SafetyView(model),
                StudiesView(model),
                SummaryView(model),
            ],
            view,
        )
        self.tabs.observe(lambda _c: self.update(), names="selected_index")
        for v in self.views:  # every drawn figure gets its slide title and footer, the link its extras
            v.on_drawn = self._drawn
        forest = self.tabs.view("forest")
        extras = extras or {}
        forest.wanted = extras.get("comparison")
        forest.wanted_omit = tuple(x for x in extras.get("omit", "").split(",") if x)
        self.tabs.view("findings").wanted_form = extras.get("form")
        self.present.observe(lambda _c: self._present(), names="value")
        self.image_format.observe(lambda _c: self._image_format(), names="value")
        header = w.HTML(
            f"{SKIP_LINK}<div class='explorer-title'>{TITLE}</div>"
            f"<div class='explorer-muted'>Dataset version {html.escape(ev.version)} · {len(ev.studies)} publications. "
            "Hover a point for its source; click it for the study card (DOI, PubMed). Pain is on 0-10 and function on % of the scale; lower is "
            "better except for responders.</div>"
        )
        main = w.VBox(
            [self.status, self.tabs, self.link, self.export_box, self.exports, self.image_format],
            layout=w.Layout(flex="1 1 auto", overflow="hidden", min_width="0"),
        )
        main.add_class("explorer-main")
        body = w.HBox([self.panel, main])
        body.add_class("explorer-body")
        # the way in and out of presentation mode at the top of the page (Esc leaves it too)
        top = w.HBox([header, self.present], layout=w.Layout(justify_content="space-between", align_items="flex-start"))
        top.add_class("explorer-top")
        self.panel.on_escape(self._escape)
        self.widget = w.VBox([Heartbeat(), top, body])
        self.widget.add_class("explorer-root")
        self._present()
        self.update()

    @property
    def views(self) -> list[View]:
        return self.tabs.views

    # ------------------------------------------------------------------ state
    def _changed(self, _change=None) -> None:
        state, _dropped = self.model.state_from(self.panel.value)
        if state != self.state:
            self.state = state
            self.update()
        self.panel.show(state)  # a value the kernel did not accept goes back to what it shows

    def set_state(self, state: FilterState) -> None:
        """Show ``state`` in the panel and every view (one update)."""
        self.state = state
        self.panel.show(state)
        self.update()

    def pick(self, **changes: Any) -> None:
        """Change some filters, as a viewer ticking boxes would: ``d.pick(therapies=("prp",))``."""
        self.panel.value = {**self.panel.value, **filters.values(self.state.with_(**changes))}

    def _reset(self) -> None:
        self.ignored = []
        self.set_state(FilterState())

    def open_group(
        self, view: str, therapy: str, window: str, comparator: str, outcome: str, responder_class: str = ""
    ) -> None:
        """From a findings row to its forest plot, or its time course for that therapy and
        comparison only (the filters say so, and Reset undoes it)."""
        if view == "forest":
            self.tabs.view("forest").wanted = f"{therapy}|{window}|{comparator}|{responder_class}"
            self.state = self.state.with_(outcome=outcome)
        else:
            self.state = self.state.with_(
                outcome=outcome, measure="difference", therapies=(therapy,), comparators=(comparator,)
            )
        self.panel.show(self.state)
        if self.tabs.current.name == view:
            self.update()
        else:
            self.tabs.select(view)  # the tab change redraws

    def open_study(self, study_id: str) -> None:
        """A click on a study's point: its card, in the Studies tab."""
        if study_id not in set(self.model.ev.studies["study_id"]):
            return
        self.tabs.select("studies")  # builds the tab if needed
        self.view("studies").open_card(study_id)

    def pick_cell(self, therapy: str, indication: str) -> None:
        """Evidence-map click: filter everything to that therapy and indication."""
        self.set_state(self.state.with_(therapies=(therapy,), indications=(indication,)))

    def _escape(self) -> None:
        """Esc leaves presentation mode."""
        self.present.value = False

    def _present(self) -> None:
        present = bool(self.present.value)
        if present:
            self.widget.add_class("explorer-present")
        else:
            self.widget.remove_class("explorer-present")
        self.present.description = "Exit presentation mode (Esc)" if present else "Presentation mode"
        self.present.icon = "times" if present else "desktop"
        for v in self.views:
            v.set_present(present)
        self._show_link()

    def _image_format(self) -> None:
        """PNG or SVG from each plot's camera button (plotly.js draws the file in the browser)."""
        for v in self.views:
            plot = v.plot
            if plot is not None:
                options = {**plot.config.get("toImageButtonOptions", {}), "format": self.image_format.value}
                if plot.config.get("toImageButtonOptions") != options:
                    plot.config = {**plot.config, "toImageButtonOptions": options}

    # ------------------------------------------------------------------ view
    def view(self, name: str) -> View:
        """The view called ``name`` (built on first use)."""
        v = self.tabs.view(name)
        if not v.built:
            v.update(self.state)
        return v

    @property
    def current(self) -> View:
        return self.tabs.current

    def _show_link(self) -> None:
        query = urlstate.to_query(self.state, self.current.name, bool(self.present.value), self.current.link_extras())
        href = html.escape("?" + query, quote=True)
        shown = html.escape("?" + query) if query else "(all randomised evidence)"
        self.link.value = f"<div class='explorer-link'>Link to this view: <a class='explorer-share' href='{href}'>{shown}</a></div>"

    def update(self) -> None:
        """Redraw the visible view for the current state; the others redraw when shown.

        The plot goes out first; the hint naming outcomes with more studies (which may derive
        other outcomes' series the first time) is computed after it, so it never delays a redraw.
        """
        state, view = self.state, self.current
        if view.name == "findings" and self._later(state):
            return
        view.update(state)  # the view first: its message reaches the browser before the status's
        self.status.say(self.model, state, view.name, self.ignored)
        self._image_format()
        self._show_link()
        self._fill_exports()
        if view.name in ("time", "forest"):  # where one outcome is drawn
            hint = self.status.hint(self.model, state)
            if hint:
                self.status.say(self.model, state, view.name, self.ignored, hint)

    def _later(self, state: FilterState) -> bool:
        """With ``defer``, a findings table not yet computed is pooled in a background thread
        while the page shows that it is coming (a served page appears before the pooling ends);
        True if so. A table that failed is computed in the foreground, so its view shows why."""
        if not self.defer or state == self._synchronous or self.model.has_findings(state):
            return False
        self.status.value = f"<div {STATUS_ATTRS}>Pooling the trials of this selection…</div>"
        self.current.waiting()
        self._show_link()  # the link follows the filters at once
        if self._pending != state:
            self._pending = state
            threading.Thread(target=self._pooled, args=(state,), name="explorer-findings", daemon=True).start()
        return True

    def _pooled(self, state: FilterState) -> None:
        try:
            self.model.findings(state)
        except Exception:  # the foreground computes it again and the view says what went wrong
            log.debug("findings failed in the background", exc_info=True)
            self._synchronous = state
        finally:
            self._pending = None
        if self.state == state and self.current.name == "findings":
            self.update()

    def _drawn(self) -> None:
        self._label_figure()
        self._show_link()

    def _label_figure(self) -> None:
        """Give the visible plot its slide title and footer (what is shown, the selection, sources)."""
        view = self.current
        if view.plot is not None:
            view.plot.export_note = self._export_note(self.state)

    def _export_note(self, state: FilterState) -> dict:
        """Title, footer and the whole slide layout that make an exported figure stand alone on a
        slide: the view's own title once (the figure's own title kept under it: a forest plot's
        comparison and pool), the whole selection in words, and the studies the figure draws."""
        view = self.current
        esc = html.escape  # plotly renders some HTML in text: what comes from the data is escaped
        title = self._slide_title(view, state)
        names = view.drawn if view.drawn is not None else self._findings_studies(state)
        listed = self._sources(names)
        lines = [
            *wrap(f"Selection: {selection_words(self.model, state)}."),
            *listed,
            *wrap(f"Injection therapies for back pain: evidence explorer (link: ?{urlstate.to_query(state, view.name)})"),
        ]
        lines = [esc(x) for x in lines]
        drawn = getattr(view, "_drawn", None)
        return {
            "title": esc(title),
            "footer": "<br>".join(lines),
            "layout": slide_layout(drawn["layout"], esc(title), lines) if drawn else {},
        }

    def _sources(self, names: list[str]) -> list[str]:
        """The studies drawn, in at most :data:`SLIDE_SOURCE_LINES` wrapped lines; those that do
        not fit are counted (every one is in the citation downloads)."""
        version, n = self.model.ev.version, len(names)
        head = f"Dataset {version}; {n} {'study' if n == 1 else 'studies'} drawn"
        for shown in range(n, -1, -1):
            more = f", and {n - shown} more (in the citation downloads)" if shown < n else ""
            listed = wrap(f"{head}: {', '.join(names[:shown])}{more}." if n else f"{head}.")
            if len(listed) <= SLIDE_SOURCE_LINES:
                return listed
        return wrap(f"{head}.")

    def _slide_title(self, view: View, state: FilterState) -> str:
        """What the figure shows, said once ("Safety", never "Safety: Safety")."""
        if view.name == "time":
            return f"{view.title}: {self.model.y_title(state)}"
        if view.name == "findings":
            return "Findings: direction of effect, trial by trial"
        if view.name == "forest" and getattr(view, "group", None) is not None and view.group.value:
            label = dict((v, k) for k, v in view.group.options).get(view.group.value, "")
            return f"{view.title}: {label}" if label else view.title
        return view.title

    def _findings_studies(self, state: FilterState) -> list[str]:
        """The trials the effect-direction plot draws (its rows' trials)."""
        f = self.model.findings(state)
        names: set[str] = set()
        for col in ("studies", "direction_studies"):
            if col in f.columns:
                for text in f[col].dropna():
                    names |= {re.sub(r" \(.*\)$", "", x).strip() for x in str(text).split(";") if x.strip()}
        return sorted(names)

    def _fill_exports(self) -> None:
        if self.export_box.value:
            self.exports.value = exports_html(self.model, self.state, self.model.ev.version)
        elif self.exports.value:
            self.exports.value = ""

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
        return self.model.therapy_codes()


def _page_query() -> str:
    """The page's query string. A preheated Voila kernel runs the notebook before the request
    exists, so it waits for it here (after the imports and the data are ready)."""
    return preheat.page_query()


def _prepared_model(data_dir: str | None) -> Model | None:
    """The model a served kernel prepared while the browser was loading (see
    :mod:`explorer.dashboard.kernel`), taken once; None anywhere else. It is kept on the kernel
    object, not in a module global: the state belongs to the kernel's start-up."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    start = getattr(kernel, "explorer_start", None)
    if start is None or start.data_dir != data_dir:
        return None
    kernel.explorer_start = None  # taken once: a later app() reads the data again
    model = start.model()
    if model is not None and model.ev.stale():
        log.info("the data changed after this kernel was prepared: reading them again")
        return None  # app() reads the current data
    return model


def app(data_dir: str | None = None, query: str | None = None) -> w.Widget:
    """Build the dashboard on the evidence (``EXPLORER_DATA`` or bundled data by default).

    ``query`` (default: the page's query string, which Voila passes as ``QUERY_STRING``) picks the
    initial selection, e.g. ``therapy=prp&indication=discogenic&window=short``.
    """
    try:
        model = _prepared_model(data_dir) or Model(load(data_dir))
        if query is None:
            query = _page_query()
        state, ignored = urlstate.parse(query, model.known(), model.year_range())
        view, present = urlstate.parse_view(query)
        served = os.environ.get("VOILA_BASE_URL") is not None  # Voila: show the page, then pool
        return Dashboard(model, state, ignored, view, present, urlstate.parse_extras(query), defer=served).widget
    except Exception as exc:  # the page must say what is wrong, never go blank
        return error_panel(exc)
