"""The Voila dashboard: ipywidgets wiring over :mod:`explorer.dashboard.state`.

The figure is built once with one trace per therapy; a filter change swaps the traces' arrays in
one ``batch_update`` (no rebuild, no flicker). Every string from the data that reaches HTML is
escaped.
"""

from __future__ import annotations

import html
import os

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from explorer.analysis.harmonise import OUTCOMES
from explorer.analysis.windows import DEFAULT_WINDOWS
from explorer.dashboard import urlstate
from explorer.dashboard.state import MEASURES, FilterState, Model
from explorer.data import DataError, load
from explorer.figures.efficacy import efficacy_over_time, efficacy_traces, pooled_traces

TITLE = "Injection therapies for back pain: evidence explorer"


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


def studies_table(rows: pd.DataFrame) -> str:
    """An escaped HTML table of the matching studies: the chart's text alternative."""
    if rows.empty:
        return ""
    studies = rows.drop_duplicates("study_id")[["label", "title", "design", "indication", "doi", "pmid"]]
    body = []
    for r in studies.itertuples(index=False):
        link = ""
        if isinstance(r.doi, str) and r.doi:
            link = f"<a href='https://doi.org/{html.escape(r.doi, quote=True)}' target='_blank' rel='noopener'>DOI</a>"
        elif isinstance(r.pmid, str) and r.pmid:
            link = f"PMID {html.escape(r.pmid)}"
        body.append(
            f"<tr><td>{html.escape(r.label)}</td><td>{html.escape(r.title)}</td>"
            f"<td>{html.escape(str(r.design))}</td><td>{html.escape(str(r.indication))}</td><td>{link}</td></tr>"
        )
    return (
        "<table class='explorer-studies'><caption>Studies shown in the plot</caption>"
        "<thead><tr><th>Study</th><th>Title</th><th>Design</th><th>Indication</th><th>Source</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


class Dashboard:
    """Widgets and wiring. ``Dashboard(model).widget`` is what the notebook displays."""

    def __init__(self, model: Model, state: FilterState | None = None, ignored: list[str] | None = None):
        self.model = model
        self.ignored = list(ignored or [])
        self.state = state or FilterState()
        ev = model.ev
        self.outcome = w.Dropdown(
            options=[(v[0], k) for k, v in OUTCOMES.items()],
            value=self.state.outcome,
            description="Outcome",
            layout=w.Layout(width="100%"),
        )
        self.measure = w.ToggleButtons(
            options=[(v, k) for k, v in MEASURES.items()],
            value=self.state.measure,
            description="Show",
            style={"button_width": "auto"},
        )
        self.therapy = w.SelectMultiple(
            options=model.therapy_options(),
            value=self.state.therapies,
            description="Therapy",
            rows=8,
            layout=w.Layout(width="100%"),
        )
        self.indication = w.SelectMultiple(
            options=model.indication_options(),
            value=self.state.indications,
            description="Indication",
            rows=6,
            layout=w.Layout(width="100%"),
        )
        self.window = w.SelectMultiple(
            options=[(win.label, win.name) for win in DEFAULT_WINDOWS],
            value=self.state.windows,
            description="Follow-up",
            rows=4,
            layout=w.Layout(width="100%"),
        )
        self.link = w.HTML()
        self.reset = w.Button(
            description="Reset filters", icon="undo", tooltip="Show all therapies and indications"
        )
        self.status = w.HTML()
        self.table = w.HTML()
        self.therapy_codes = [code for _, code in model.therapy_options()]
        labels = {code: label for label, code in model.therapy_options()}
        rows = model.filtered(self.state)
        fig = efficacy_over_time(
            rows,
            therapies=self.therapy_codes,
            labels=labels,
            y_title=model.y_title(self.state),
            pooled=model.pooled(self.state, rows),
            mcid=1.5,  # placed now, shown or hidden by _set_mcid
        )
        self.figure = go.FigureWidget(fig)
        self._set_mcid()
        self._show(rows)
        for control in (self.outcome, self.measure, self.therapy, self.indication, self.window):
            control.observe(self._changed, names="value")
        self.reset.on_click(self._reset)
        n_studies = len(ev.studies)
        header = w.HTML(
            f"<div class='explorer-title'>{TITLE}</div>"
            f"<div class='explorer-muted'>Dataset version {html.escape(ev.version)} · {n_studies} publications · "
            "every point links to its source (hover). Values are on a common scale where lower is better.</div>"
        )
        help_text = w.HTML(
            "<div class='explorer-muted'>Ctrl/Cmd-click to pick several; none picked means all.</div>"
        )
        filters = w.VBox(
            [
                self.outcome,
                self.measure,
                self.therapy,
                self.indication,
                self.window,
                help_text,
                self.reset,
                self.link,
            ],
            layout=w.Layout(width="340px", min_width="280px"),
        )
        main = w.VBox(
            [self.status, self.figure, self.table], layout=w.Layout(flex="1 1 auto", overflow="hidden")
        )
        self.widget = w.VBox([header, w.HBox([filters, main])])

    def _read_state(self) -> FilterState:
        return FilterState(
            outcome=self.outcome.value,
            measure=self.measure.value,
            therapies=tuple(self.therapy.value),
            indications=tuple(self.indication.value),
            windows=tuple(self.window.value),
        )

    def _changed(self, _change=None) -> None:
        self.state = self._read_state()
        self.update()

    def _reset(self, _button=None) -> None:
        with (
            self.therapy.hold_trait_notifications(),
            self.indication.hold_trait_notifications(),
            self.window.hold_trait_notifications(),
        ):
            self.therapy.value = ()
            self.indication.value = ()
            self.window.value = ()
        self._changed()

    def _show(self, rows: pd.DataFrame) -> None:
        notice = ""
        if self.ignored:
            notice = (
                f"<div class='explorer-notice'>Ignored in the link (not a known filter value): "
                f"{html.escape(', '.join(self.ignored[:10]))}</div>"
            )
        self.status.value = (
            f"<div class='explorer-status' aria-live='polite'>"
            f"{html.escape(self.model.status(self.state, rows))}</div>{notice}"
        )
        self.table.value = studies_table(rows)
        query = urlstate.to_query(self.state)
        href = html.escape("?" + query, quote=True)
        self.link.value = (
            f"<div class='explorer-link'>Link to this view: <a class='explorer-share' href='{href}'>"
            f"{html.escape('?' + query) if query else '(all evidence)'}</a></div>"
        )

    def _set_mcid(self) -> None:
        mcid = self.model.mcid(self.state)
        shape, note = self.figure.layout.shapes[0], self.figure.layout.annotations[0]
        shape.visible = note.visible = mcid is not None
        if mcid is not None:
            shape.y0 = shape.y1 = note.y = -mcid
            note.text = f"MCID (−{mcid:g})"

    def update(self) -> None:
        """Recompute the filtered data and swap it into the existing traces."""
        rows = self.model.filtered(self.state)
        n = len(self.therapy_codes)
        arms = efficacy_traces(rows, self.therapy_codes)
        points, bands = pooled_traces(self.model.pooled(self.state, rows), self.therapy_codes)
        faint = 0.45 if self.state.measure == "difference" else 1.0
        with self.figure.batch_update():
            for trace, d in zip(self.figure.data[:n], arms, strict=True):
                trace.update(
                    x=d["x"],
                    y=d["y"],
                    error_y=d["error_y"],
                    customdata=d["customdata"],
                    visible=d["visible"],
                    opacity=faint,
                )
            rest = self.figure.data[n:]
            for band_trace, pt_trace, band, pt in zip(rest[0::2], rest[1::2], bands, points, strict=True):
                band_trace.update(x=band["x"], y=band["y"], visible=band["visible"])
                pt_trace.update(
                    x=pt["x"],
                    y=pt["y"],
                    customdata=pt["customdata"],
                    visible=pt["visible"],
                    error_y=pt["error_y"],
                    marker=pt["marker"],
                )
            self.figure.layout.yaxis.title.text = self.model.y_title(self.state)
            self._set_mcid()
        self._show(rows)


def app(data_dir: str | None = None, query: str | None = None) -> w.Widget:
    """Build the dashboard on the evidence (``EXPLORER_DATA`` or bundled data by default).

    ``query`` (default: the page's query string, which Voila passes as ``QUERY_STRING``) picks the
    initial selection, e.g. ``therapy=prp&indication=discogenic&window=short``.
    """
    try:
        model = Model(load(data_dir))
        if query is None:
            query = os.environ.get("QUERY_STRING", "")
        therapies = [code for _, code in model.therapy_options()]
        indications = [code for _, code in model.indication_options()]
        state, ignored = urlstate.parse(query, therapies, indications)
        return Dashboard(model, state, ignored).widget
    except Exception as exc:  # the page must say what is wrong, never go blank
        return error_panel(exc)
