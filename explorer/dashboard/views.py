"""The dashboard's views. Each view builds its widgets on first show and redraws from the model
on ``update(state)``; a failure inside one view is shown in that view, never as a traceback."""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar

import ipywidgets as w
import pandas as pd

from explorer.analysis.harmonise import outcome_unit
from explorer.analysis.harms import describe_rate
from explorer.analysis.series import RESPONDERS
from explorer.analysis.summary import overall_summary, therapy_summary
from explorer.dashboard.plot import Plot, as_spec
from explorer.dashboard.state import OUTCOME_CHOICES, FilterState, Model
from explorer.data.cite import bibtex, ris
from explorer.data.export import safe_csv
from explorer.figures.direction import direction_spec
from explorer.figures.efficacy import efficacy_spec
from explorer.figures.evidence_map import evidence_cells, evidence_map
from explorer.figures.findings import comparison_words, findings_html, findings_page
from explorer.figures.forest import forest_plot
from explorer.figures.palette import sized_for
from explorer.figures.safety import safety_plot, safety_table
from explorer.figures.study_card import study_card_html

if TYPE_CHECKING:
    import plotly.graph_objects as go

log = logging.getLogger(__name__)
#: comparator classes as the findings table and its export name them
COMPARATOR_WORDS = {"placebo_sham": "placebo/sham", "active": "active", "conservative": "conservative care"}
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def _plot(fig: go.Figure | dict, name: str) -> Plot:
    """The light plot widget for ``fig``, with image export named after the view."""
    options = {**PLOT_CONFIG["toImageButtonOptions"], "filename": name}
    return Plot(fig, config={**PLOT_CONFIG, "toImageButtonOptions": options})


def problem_html(view: str, exc: Exception) -> str:
    log.exception("view %s failed", view)
    return (
        f"<div class='explorer-error' role='alert'>This view could not be drawn for the current selection "
        f"({html.escape(type(exc).__name__)}). The other views still work; press Reset to start again.</div>"
    )


class View:
    """One tab. ``update(state)`` builds it on first show and redraws it after; a view with a plot
    draws through :meth:`show` only (one update path: the whole new figure, sized for the screen
    or the room; the plot widget sends what changed)."""

    name = "view"
    title = "View"

    def __init__(self, model: Model):
        self.model = model
        self.box = w.VBox()
        self.built = False
        self.message = w.HTML()
        self.plot: Plot | None = None
        self.present = False
        #: called after each drawing (the dashboard labels the figure for a slide)
        self.on_drawn: Callable[[], None] | None = None
        #: the studies (labels) the figure draws, for a slide's sources (None: not said)
        self.drawn: list[str] | None = None

    def build(self, state: FilterState) -> None:
        raise NotImplementedError

    def redraw(self, state: FilterState) -> None:
        raise NotImplementedError

    def show(self, fig: go.Figure | dict) -> Plot:
        """Draw ``fig`` in this view's plot (created on first use, named after the view)."""
        spec = as_spec(fig)
        self._drawn = spec  # as the figure function made it: presentation mode re-sizes this
        spec = {**spec, "layout": sized_for(spec["layout"], self.present)}
        if self.plot is None:
            self.plot = _plot(spec, self.export_name)
        else:
            self.plot.show(spec, ready=True)
        if self.on_drawn is not None:
            self.on_drawn()
        return self.plot

    @property
    def export_name(self) -> str:
        return self.title.lower().replace(" ", "-")

    def link_extras(self) -> dict[str, str]:
        """What the link to this view carries besides the filters (nothing, for most views)."""
        return {}

    def waiting(self) -> None:
        """Say that this view's numbers are being computed (before it is built, in its place)."""
        note = "<p class='explorer-muted explorer-waiting'>Pooling the trials of this selection…</p>"
        if not self.built:
            self.message.value = note
            self.box.children = [self.message]
        else:
            self.message.value = note

    def set_present(self, present: bool) -> None:
        """Size the plot's text for a room (or back for a screen)."""
        self.present = present
        if self.plot is not None:
            self.show(self._drawn)

    def update(self, state: FilterState) -> None:
        """Build on first show, redraw after. ``build`` draws the current state itself, so a plot
        is complete when it is first displayed, and is not followed by a redraw."""
        try:
            if not self.built:
                self.build(state)
                self.built = True
            else:
                self.redraw(state)
            self.message.value = ""
            self._hide_content(False)
        except Exception as exc:  # one view failing must not take the dashboard down
            self.message.value = problem_html(self.name, exc)
            self._hide_content(True)  # never leave another selection's content under the message

    def _hide_content(self, hide: bool) -> None:
        if hide and self.message not in self.box.children:
            self.box.children = [self.message, *self.box.children]
        for child in self.box.children:
            if child is not self.message:
                child.layout.display = "none" if hide else None


class TimeView(View):
    name, title = "time", "Efficacy over time"

    def __init__(self, model: Model, on_study: Callable[[str], None] | None = None):
        super().__init__(model)
        self.on_study = on_study

    def _clicked(self, event: dict) -> None:
        """A click on a study's point opens its card (the arm traces carry the study id last)."""
        custom = event.get("customdata")
        if self.on_study is not None and isinstance(custom, list) and len(custom) == 6:
            self.on_study(str(custom[5]))

    def build(self, state: FilterState) -> None:
        self.legend_note = w.HTML(
            "<div class='explorer-muted'>Faint lines: each study arm (or contrast) over time, with 95% CIs; "
            "a filtered therapy keeps its trials' control arms in view. "
            "Difference view: bold markers are pooled estimates per therapy and follow-up window "
            "(◆ vs placebo/sham, ■ vs an active comparator, ▲ vs conservative care) with 95% CIs, the wide pale "
            "bar the prediction interval (from 3 trials); a thick line with a shaded band is the time course "
            "fitted over all follow-up times (multilevel meta-regression, 95% CI), drawn only where enough "
            "trials support it. Dotted bars with open diamonds: pooled estimates published by systematic reviews, "
            "across the review's own window, with their 95% CI (the same sign convention; pain on 0-10). "
            "Dashed line (change view): minimal important change within a person.</div>"
        )
        self.windows_toggle = w.Checkbox(value=True, description="Show the window pools", indent=False)
        self.windows_toggle.observe(lambda _c: self.redraw(self.state), names="value")
        self.curve_note = w.HTML()
        self.redraw(state)
        self.plot.on_click(self._clicked)
        self.box.children = [self.message, self.windows_toggle, self.plot, self.curve_note, self.legend_note]

    @property
    def export_name(self) -> str:
        return "efficacy-over-time"

    def redraw(self, state: FilterState) -> None:
        self.state = state
        self.show(self.spec(state))

    def spec(self, state: FilterState) -> dict:
        """The whole figure for ``state``: arms or contrasts, window pools, time-course curves,
        the threshold line where it applies, the axis on the full scale for values."""
        m = self.model
        rows = m.filtered(state)
        fit = m.curves(state, rows)
        empty_curve = pd.DataFrame(columns=["therapy", "comparator_kind", "weeks", "k_studies"])
        spec = efficacy_spec(
            rows,
            therapies=m.therapy_codes(),
            labels=m.labels("arms", "therapy"),
            y_title=m.y_title(state),
            pooled=m.pooled(state, rows),
            mcid=m.mcid(state),
            curve=fit.curve if fit is not None else empty_curve,
            instruments=m.labels("outcomes", "instrument"),
            published=m.published(state),
        )
        faint = 0.45 if state.measure == "difference" else 1.0
        pools = self.windows_toggle.value
        for trace in spec["data"]:
            meta = str(trace.get("meta", ""))
            if ":" not in meta:
                trace["opacity"] = faint
            elif meta.endswith((":pi", ":pooled")) and not pools:
                trace["visible"] = False
        self.curve_note.value = _curve_note(fit, m.labels("arms", "therapy"))
        published = m.published(state)
        self.drawn = _labels(rows["label"]) + (
            _labels(published["review"]) if published is not None and pools and len(published) else []
        )
        layout = spec["layout"]
        if rows.empty:
            layout["annotations"].append(
                {"text": "No data for this selection", "showarrow": False, "xref": "paper", "yref": "paper",
                 "x": 0.5, "y": 0.5, "font": {"size": 16, "color": "#777"}}
            )  # fmt: skip
        full = m.full_scale(state)  # values are drawn on the whole scale: a 3.3-3.7 axis overstates
        if full is not None:
            layout["yaxis"].update(range=list(full), autorange=False)
        else:
            layout["yaxis"]["autorange"] = True
        # only what is drawn travels: a hidden trace still costs plotly.js a pass on every redraw,
        # and a therapy without data leaves the legend
        spec["data"] = [t for t in spec["data"] if t.get("visible", True) is not False]
        return spec


def _labels(values: pd.Series) -> list[str]:
    """Study labels, each once, sorted."""
    return sorted({str(x) for x in values.dropna()})


def _curve_note(fit, labels: dict[str, str]) -> str:
    """Where a time course was and was not drawn, and why (the model's own rule)."""
    if fit is None:
        return ""
    drawn = sorted({labels.get(t, t) for t in fit.curve["therapy"]}) if len(fit.curve) else []
    parts = []
    if drawn:
        parts.append("Time course drawn for: " + ", ".join(drawn) + ".")
        # what each drawn curve's interval rests on (rule 'few-studies-curve'), once per sentence
        if "se_note" in fit.variance:
            v = fit.variance.loc[:, ~fit.variance.columns.duplicated()]
            for note, rows in v.groupby("se_note", sort=False):
                who = ", ".join(sorted({labels.get(t, t) for t in rows["therapy"]})) if "therapy" in rows else ""
                parts.append(f"{who}: {note}" if who else str(note))
    if len(fit.skipped):
        skipped = "; ".join(
            f"{labels.get(r.therapy, r.therapy)} vs {str(r.comparator_kind).replace('_', '/')}: {r.reason}"
            for r in fit.skipped.itertuples(index=False)
        )
        parts.append("No time course for " + skipped + ".")
    return "<div class='explorer-muted'>" + html.escape(" ".join(parts)) + "</div>" if parts else ""


class ForestView(View):
    name, title = "forest", "Forest plot"

    def build(self, state: FilterState) -> None:
        self.group = w.Dropdown(
            description="Comparison", layout=w.Layout(width="100%"), style={"description_width": "90px"}
        )
        self.leave_out = w.SelectMultiple(
            description="Leave out", rows=5, layout=w.Layout(width="60%"), style={"description_width": "90px"}
        )
        self._busy = False
        self.group.observe(lambda _c: None if self._busy else self._draw(), names="value")
        self.leave_out.observe(
            lambda _c: None if self._busy else self._draw(keep_choices=True), names="value"
        )
        self.caption = w.HTML()
        self.wanted_omit = tuple(getattr(self, "wanted_omit", ()))
        self.redraw(state)  # sets the choices; with no figure yet, _draw builds it complete
        self.box.children = [self.message, self.group, self.leave_out, self.caption, self.plot]

    def redraw(self, state: FilterState) -> None:
        self.state = state
        groups = self.model.forest_groups(state)
        labels = self.model.labels("arms", "therapy")
        opts = [
            (
                f"{labels.get(t, t)} · {win} term · vs {c.replace('_', '/')}"
                + (f" · {rc.replace('_', ' ')}" if rc else "")
                + f" ({k} {'trial' if k == 1 else 'trials'})",
                f"{t}|{win}|{c}|{rc}",
            )
            for t, win, c, rc, k in groups
        ]
        current = getattr(self, "wanted", None) or self.group.value
        self.wanted = None
        self._busy = True
        try:
            self.group.options = opts
            values = [v for _, v in opts]
            self.group.value = current if current in values else (values[0] if values else None)
        finally:
            self._busy = False
        self._draw()

    @property
    def export_name(self) -> str:
        return "forest-plot"

    def link_extras(self) -> dict[str, str]:
        """The comparison shown and the studies left out, for the link to this view."""
        if not self.built or not self.group.value:
            return {}
        extras = {"comparison": self.group.value}
        if self.leave_out.value:
            extras["omit"] = ",".join(self.leave_out.value)
        return extras

    def _draw(self, keep_choices: bool = False) -> None:
        state = getattr(self, "state", FilterState())
        if not self.group.value:
            self.caption.value = (
                "<p>No between-group comparison that the pooling rules accept matches this selection "
                "(widen the filters, or allow inferred scales in the panel).</p>"
            )
            fig = forest_plot(pd.DataFrame(columns=["yi", "vi", "time_weeks", "label"]), None, "other")
            fig.update_layout(title_text="No pool for this selection")
            self.drawn = []
            self.show(fig)
            return
        therapy, window, comparator, rclass = self.group.value.split("|")
        if not keep_choices:  # a new comparison: its studies to leave out (from a link, at first)
            chosen, _ = self.model.forest(state, therapy, window, comparator, (), responder_class=rclass)
            self._busy = True
            try:
                self.leave_out.value = ()
                self.leave_out.options = [(str(r.label), r.study_id) for r in chosen.itertuples()]
                ids = set(chosen["study_id"])
                self.leave_out.value = tuple(s for s in self.wanted_omit if s in ids)
                self.wanted_omit = ()
            finally:
                self._busy = False
        chosen, pooled = self.model.forest(
            state, therapy, window, comparator, tuple(self.leave_out.value), responder_class=rclass
        )
        kept = chosen[~chosen["study_id"].isin(self.leave_out.value)]
        ratio = state.outcome == RESPONDERS
        unit = "risk ratio" if ratio else ("points on 0-10" if outcome_unit(state.outcome).startswith("points") else "% of scale")
        self.drawn = _labels(kept["label"])
        self.show(forest_plot(kept, pooled, therapy, unit, ratio))
        self._caption(kept)

    def _caption(self, kept: pd.DataFrame) -> None:
        names = {value: label for label, value in self.leave_out.options}
        left = ", ".join(html.escape(str(names.get(s, s))) for s in self.leave_out.value)
        self.caption.value = (
            f"<p class='explorer-muted'>Random-effects (REML) pool of {len(kept)} "
            f"{'study' if len(kept) == 1 else 'studies'}"
            + (f"; left out: {left}" if left else "")
            + ". Each cohort counts once; pick studies under <i>Leave out</i> to see how the pool "
            "changes without them.</p>"
        )


class MapView(View):
    name, title = "map", "Evidence map"

    def __init__(self, model: Model, on_pick):
        super().__init__(model)
        self.on_pick = on_pick

    def _fig(self, state: FilterState) -> go.Figure:
        studies = self.model.studies(state)
        self.drawn = _labels(studies["label"])
        cells = evidence_cells(studies)
        return evidence_map(
            cells, self.model.labels("arms", "therapy"), self.model.labels("studies", "indication")
        )

    def build(self, state: FilterState) -> None:
        self.show(self._fig(state)).on_click(self._clicked)
        self.box.children = [
            self.message,
            w.HTML(
                "<p class='explorer-muted'>Each bubble: the studies of one therapy for one indication (number inside), "
                "sized by participants, shaded by the share of randomised trials. Click a bubble to filter every view "
                "to it.</p>"
            ),
            self.plot,
        ]

    @property
    def export_name(self) -> str:
        return "evidence-map"

    def redraw(self, state: FilterState) -> None:
        self.show(self._fig(state))

    def _clicked(self, event: dict) -> None:
        custom = event.get("customdata")
        if isinstance(custom, list) and len(custom) >= 2:
            self.on_pick(str(custom[0]), str(custom[1]))


class FindingsView(View):
    """The landing view: a summary of findings per therapy x comparator class x window x outcome."""

    name, title = "findings", "Findings"

    def __init__(self, model: Model, on_open):
        super().__init__(model)
        self.on_open = on_open

    def build(self, state: FilterState) -> None:
        self.intro = w.HTML(
            "<div class='explorer-muted'>The best answer the evidence holds, one row per comparison and "
            "follow-up window: our pool where trials give estimates (random effects, 95% CI); else the pools "
            "systematic reviews published (same sign convention: below 0 favours the injection); else how the "
            "trials point (vote count with its 95% CI). Click ▸ for the trials and reasons; pick a row below "
            "to open its forest plot or its time course.</div>"
        )
        self.table = w.HTML()
        self.row = w.Dropdown(description="Row", layout=w.Layout(width="70%"), style={"description_width": "50px"})
        self.to_forest = w.Button(description="Forest plot", icon="bars", tooltip="Open this row's forest plot")
        self.to_time = w.Button(description="Time course", icon="chart-line", tooltip="Open this row over time")
        self.to_forest.on_click(lambda _b: self._open("forest"))
        self.to_time.on_click(lambda _b: self._open("time"))
        self.form = w.ToggleButtons(
            options=[("Table", "table"), ("Effect-direction plot", "plot")],
            value=getattr(self, "wanted_form", None) or "table",
            tooltip="The same findings as a table, or as an effect-direction plot (Cochrane SWiM guidance)",
            style={"button_width": "auto"},
        )
        self.form.observe(lambda _c: self._switched(), names="value")
        self.row.observe(lambda _c: self._row_picked(), names="value")
        self.row_note = w.HTML()
        self.plot_note = w.HTML(
            "<div class='explorer-muted'>Each cell: the trials of one comparison at one follow-up time, by "
            "direction of effect (▲ favours the injection, ◆ no clear difference, ▼ favours the comparator); "
            "filled markers are trials with an estimate (a pool counts all its trials in its direction), open "
            "markers trials that report only a p-value or a direction. Size and number: trials. Hover for the "
            "trials and the estimates.</div>"
        )
        self.body = w.VBox([self.table])
        self.box.children = [
            self.message, self.intro, self.form, w.HBox([self.row, self.to_forest, self.to_time]), self.row_note, self.body
        ]  # fmt: skip
        self.redraw(state)

    @property
    def export_name(self) -> str:
        return "effect-direction"

    def link_extras(self) -> dict[str, str]:
        """The effect-direction plot is in the link (the table is the default)."""
        return {"form": "plot"} if self.built and self.form.value == "plot" else {}

    def _switched(self) -> None:
        """Table or plot: redraw, and let the page update its link (the form is in it)."""
        self.redraw(self.state)
        if self.form.value == "table" and self.on_drawn is not None:
            self.on_drawn()  # the plot's drawing calls it itself

    def _open(self, view: str) -> None:
        if self.row.value:
            therapy, window, comparator, outcome, responder_class, _k = self.row.value.split("|")
            self.on_open(view, therapy, window, comparator, outcome, responder_class)

    def redraw(self, state: FilterState) -> None:
        self.state = state
        m = self.model
        f = m.findings(state)
        self.frame = f
        therapies = m.labels("arms", "therapy")
        kinds = COMPARATOR_WORDS
        if self.form.value == "plot":  # drawn only when asked for: the table is the landing view
            self.show(direction_spec(f, therapies, kinds))
            self.body.children = [self.plot_note, self.plot]
        else:
            caption = f"{len(f)} comparisons; pooling rules as in the data dictionary"
            self.table.value = findings_html(f, therapies, kinds, caption)
            self.body.children = [self.table]
        # every row with trials opens: its forest plot where it has estimates, its time course
        # (that therapy and comparison only) wherever it has trials
        openable = f[(f["k"] > 0) | (f["vote_trials"] > 0)]
        openable = openable[openable["outcome"].isin(OUTCOME_CHOICES)]
        openable = openable.drop_duplicates(["therapy", "window", "comparator_kind", "comparison", "variant", "outcome", "responder_class"])
        options = []
        for r in openable.to_dict("records"):
            who = f" ({r['responder_class'].replace('_', ' ')})" if r["responder_class"] else ""
            what = f"{r['k']} pooled" if r["k"] else "directions only"
            label = f"{comparison_words(r, therapies, kinds)} · {r['window']} · {r['outcome']}{who} ({what})"
            value = f"{r['therapy']}|{r['window']}|{r['comparator_kind']}|{r['outcome']}|{r['responder_class']}|{int(r['k'])}"
            if value not in {v for _, v in options}:
                options.append((label, value))
        self.row.options = options
        values = [v for _, v in self.row.options]
        if values and self.row.value not in values:
            # the first row with an estimate: its forest plot is one click away
            self.row.value = next((v for v in values if not v.endswith("|0")), values[0])
        self._row_picked()

    def _row_picked(self) -> None:
        """A control that cannot act is disabled, and says why."""
        value = self.row.value or ""
        k = int(value.rsplit("|", 1)[-1]) if value else 0
        self.to_forest.disabled = not k
        self.to_time.disabled = not value
        self.to_forest.tooltip = "Open this row's forest plot" if k else "No trial of this row gives an estimate to plot"
        self.row_note.value = (
            "" if not value else ("" if k else "<span class='explorer-muted'>Forest plot: no estimate in this row (its trials report directions only).</span>")
        )


class ReviewsView(View):
    """Published pooled estimates: comparisons and windows down, reviews across, our answer beside
    (the same comparison and window in the findings), overlap and disagreements marked."""

    name, title = "reviews", "Published pools"

    def build(self, state: FilterState) -> None:
        self.table = w.HTML()
        self.intro = w.HTML(
            "<div class='explorer-muted'>What systematic reviews publish, put in one convention (negative "
            "favours the therapy; pain in points on 0-10 where the scale is known). Several reviews of the same "
            "trials are not independent confirmations: CCA says how much they overlap. Filtered by therapy; "
            "single-arm (before/after) poolings are listed last and never read as effects against a comparator."
            "</div>"
        )
        self.box.children = [self.message, self.intro, self.table]
        self.redraw(state)

    def redraw(self, state: FilterState) -> None:
        from explorer.analysis.reviews import overlap, reviews
        from explorer.figures.reviews import reviews_html

        m = self.model
        table = reviews(m.ev)
        if state.therapies:
            table = table[table["therapy"].isin(state.therapies)]
        if state.comparators:
            table = table[table["comparator_kind"].isin(state.comparators) | (table["design_basis"] == "single_arm")]
        table = pd.concat([table[table["design_basis"] == "comparative"], table[table["design_basis"] != "comparative"]])
        f = m.findings(state)
        ours = {(r.therapy, r.comparator_kind, r.outcome, r.window): r.answer for r in f.itertuples(index=False) if r.k}
        self.table.value = reviews_html(table, overlap(m.ev), ours, m.labels("arms", "therapy"))


class SafetyView(View):
    name, title = "safety", "Safety"

    def build(self, state: FilterState) -> None:
        self.table = w.HTML()
        self.redraw(state)
        self.box.children = [self.message, self.plot, self.table]

    def redraw(self, state: FilterState) -> None:
        shown = self.model.harms(state)
        t = safety_table(shown)
        hidden = 0
        if state.designs:  # most complication counts come from large non-randomised series
            hidden = len(self.model.harms(state.with_(designs=()))) - len(shown)
        note = (
            f"<p class='explorer-muted'>{hidden} more adverse-event "
            f"{'count comes' if hidden == 1 else 'counts come'} from study designs not selected "
            "(complication series are mostly single-arm): add them under Design.</p>"
            if hidden > 0
            else ""
        )
        self.drawn = _labels(shown["label"]) if len(t) else []
        fig = safety_plot(
            t, self.model.labels("arms", "therapy"), self.model.labels("adverse_events", "event_type")
        )
        self.show(fig)  # the set of bars changes with the selection: the widget sends the new traces
        if t.empty:
            self.table.value = (
                "<p>No adverse events are counted per group in the studies of this selection.</p>" + note
            )
            return
        therapies = self.model.labels("arms", "therapy")
        types = self.model.labels("adverse_events", "event_type")
        rows = "".join(
            f"<tr><td>{html.escape(therapies.get(r.therapy, str(r.therapy)))}</td>"
            f"<td>{html.escape(types.get(r.event_type, str(r.event_type)))}</td>"
            f"<td>{html.escape(describe_rate(r.events, r.total, r.ci_lb, r.ci_ub, str(r.unit)))}</td>"
            f"<td>{int(r.reporting_studies)}</td><td>{html.escape(str(r.studies))}</td></tr>"
            for r in t.itertuples(index=False)
        )
        self.table.value = (
            "<table class='explorer-table'><caption>Adverse events: events over the denominators of the "
            "studies that report each event (each study's denominator counted once; 95% Wilson CIs; "
            "studies that do not report an event are not counted as zero)</caption><thead><tr>"
            "<th>Therapy</th><th>Event</th><th>Events of n (95% CI)</th><th>Studies reporting</th>"
            f"<th>Which</th></tr></thead><tbody>{rows}</tbody></table>{note}"
        )


def _links(doi: object, pmid: object) -> str:
    out = []
    if isinstance(doi, str) and doi:
        out.append(
            f"<a href='https://doi.org/{html.escape(doi, quote=True)}' target='_blank' rel='noopener'>DOI</a>"
        )
    if isinstance(pmid, str) and pmid:
        out.append(
            f"<a href='https://pubmed.ncbi.nlm.nih.gov/{html.escape(pmid, quote=True)}/' target='_blank' "
            "rel='noopener'>PubMed</a>"
        )
    return " ".join(out)


class StudiesView(View):
    name, title = "studies", "Studies"
    SORTS: ClassVar[dict[str, tuple[str, bool]]] = {
        "year": ("year", False),
        "n": ("study_n", False),
        "study": ("label", True),
        "design": ("design", True),
    }

    def build(self, state: FilterState) -> None:
        self.search = w.Text(
            placeholder="Search title, author, journal, study",
            description="Search",
            continuous_update=True,
            layout=w.Layout(width="60%"),
        )
        self.sort = w.Dropdown(
            options=[
                ("Newest first", "year"),
                ("Largest first", "n"),
                ("Study A-Z", "study"),
                ("Design", "design"),
            ],
            value="year",
            description="Sort",
        )
        self.table = w.HTML()
        self.card_pick = w.Dropdown(description="Study card", layout=w.Layout(width="60%"), style={"description_width": "90px"})
        self.card = w.HTML()
        self.card_pick.observe(lambda _c: self._show_card(), names="value")
        for c in (self.search, self.sort):
            c.observe(lambda _c: self.redraw(self.state), names="value")
        self.box.children = [self.message, w.HBox([self.search, self.sort]), self.card_pick, self.card, self.table]
        self.redraw(state)

    def open_card(self, study_id: str) -> None:
        """Show ``study_id``'s card (the study is offered even if the selection hides it)."""
        values = {v for _, v in self.card_pick.options}
        if study_id not in values:
            label = self.model.ev.studies.set_index("study_id")["label"].get(study_id, study_id)
            self.card_pick.options = [*self.card_pick.options, (str(label), study_id)]
        self.card_pick.value = study_id

    def _show_card(self) -> None:
        ev = self.model.ev
        if not self.card_pick.value:
            self.card.value = ""
            return
        labels = {
            "therapy": self.model.labels("arms", "therapy"),
            "design": self.model.labels("studies", "design"),
            "blinding": self.model.labels("studies", "blinding"),
            "indication": self.model.labels("studies", "indication"),
            "risk_of_bias": self.model.labels("studies", "risk_of_bias"),
        }
        self.card.value = study_card_html(self.card_pick.value, ev.studies, ev.arms, ev.outcomes, labels)

    def redraw(self, state: FilterState) -> None:
        self.state = state
        st = self.model.studies(state).drop_duplicates("study_id")
        st = st.merge(
            self.model.ev.studies[["study_id", "authors", "journal", "blinding"]],
            on="study_id",
            how="left",
            suffixes=("", "_s"),
        )
        q = self.search.value.strip().lower()
        if q:
            hay = (
                st["title"].fillna("")
                + " "
                + st["authors"].fillna("")
                + " "
                + st["journal"].fillna("")
                + " "
                + st["label"].fillna("")
            ).str.lower()
            st = st[hay.str.contains(q, regex=False)]
        col, asc = self.SORTS[self.sort.value]
        st = st.sort_values(col, ascending=asc, na_position="last")
        therapy_labels = self.model.labels("arms", "therapy")
        ther = self.model.study_therapy.groupby("study_id")["therapy"].agg(
            lambda s: ", ".join(sorted({therapy_labels.get(t, t) for t in s}))
        )
        design = self.model.labels("studies", "design")
        rob = self.model.labels("studies", "risk_of_bias")
        notes = self.model.ev.studies.set_index("study_id")["notes"]
        body = "".join(
            f"<tr><td>{html.escape(str(r.label))}</td><td>{html.escape(str(r.title))}</td>"
            f"<td>{html.escape(str(ther.get(r.study_id, '')))}</td><td>{html.escape(design.get(r.design, str(r.design)))}</td>"
            f"<td>{'' if pd.isna(r.study_n) else int(r.study_n)}</td><td>{html.escape(rob.get(r.risk_of_bias, str(r.risk_of_bias)))}</td>"
            f"<td>{_links(r.doi, r.pmid)}</td>"
            f"<td class='explorer-muted'>{html.escape(str(notes.get(r.study_id, '') or '')[:400])}</td></tr>"
            for r in st.itertuples(index=False)
        )
        self.table.value = (
            f"<table class='explorer-table explorer-studies'><caption>{len(st)} studies in this selection</caption>"
            "<thead><tr><th>Study</th><th>Title</th><th>Therapies</th><th>Design</th><th>n</th><th>Risk of bias</th>"
            f"<th>Source</th><th>Notes</th></tr></thead><tbody>{body}</tbody></table>"
        )
        current = self.card_pick.value
        self.card_pick.options = [("(pick a study)", "")] + [(str(r.label), r.study_id) for r in st.itertuples(index=False)]
        self.card_pick.value = current if current in {v for _, v in self.card_pick.options} else ""


class SummaryView(View):
    name, title = "summary", "Summary"

    def build(self, state: FilterState) -> None:
        self.text = w.HTML()
        self.box.children = [self.message, self.text]
        self.redraw(state)

    def redraw(self, state: FilterState) -> None:
        """One paragraph per therapy from the findings of the selection (estimates with CIs, trials
        reporting only a direction, review estimates), the notes of trials without numbers, and
        the harms with their denominators."""
        m = self.model
        studies = m.studies(state)
        findings = m.findings(state)
        harms = safety_table(m.harms(state))
        st = m.ev.studies
        notes = st.loc[st["study_id"].isin(set(studies["study_id"])), ["study_id", "label", "notes"]]
        labels = m.labels("arms", "therapy")
        paras = [f"<p><b>{overall_summary(studies, len(m.filtered(state)))}</b></p>"]
        for code, label in labels.items():
            text = therapy_summary(code, label, studies, findings, harms, notes=notes, breaks=True)
            if text:  # escaped text; one comparator class (then how sure, notes, harms) per line
                paras.append(f"<p class='explorer-summary-therapy'>{text.replace(chr(10), '<br>')}</p>")
        paras.append(
            "<p class='explorer-muted'>Written automatically from the numbers in this selection. "
            "It is a guide to the published evidence, not medical advice.</p>"
        )
        self.text.value = "<div class='explorer-summary'>" + "".join(paras) + "</div>"


def data_uri(text: str, mime: str) -> str:
    return f"data:{mime};charset=utf-8;base64,{base64.b64encode(text.encode('utf-8')).decode('ascii')}"


def selection_words(model: Model, state: FilterState) -> str:
    """The whole selection in words, every filter of the panel in its order (outcome, what is
    shown, therapy, comparator, indication, design, follow-up, approach, guidance, risk of bias,
    years, size, pooling rules), for exports that must stand alone."""
    from explorer.dashboard import filters

    parts = []
    for f in filters.FILTERS:
        value = getattr(state, f.name)
        if f.kind in ("one", "many"):
            voc = f.vocabulary
            labels = dict(voc) if isinstance(voc, Mapping) else (model.labels(*voc) if voc else {})
            if f.kind == "one":
                parts.append(f"{f.label.lower()}: {labels.get(value, value)}")
            else:
                chosen = ", ".join(labels.get(c, c) for c in value) if value else "all"
                parts.append(f"{f.label.lower()}: {chosen}")
        elif f.kind == "years" and any(v is not None for v in value):
            lo, hi = value
            parts.append(f"published {lo or 'any year'} to {hi or 'now'}")
        elif f.kind == "at_least" and value:
            parts.append(f"at least {value} randomised")
    if state.strict_placebo:
        parts.append("strict placebo definition")
    if state.inferred_scales:
        parts.append("inferred VAS ranges pooled")
    if not state.imputed_sd:
        parts.append("imputed SDs left out")
    return "; ".join(parts)


#: findings columns that are estimates computed here: written with 4 significant digits
ESTIMATE_COLUMNS = ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "vote_proportion", "vote_lb", "vote_ub", "sign_p", "stouffer_p")


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` for a CSV a person reads: computed estimates to 4 significant digits, whole
    numbers as whole numbers, and every other float without binary noise (15 significant digits:
    -0.8000000000000003 is written -0.8; no digit of an input is lost)."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if not pd.api.types.is_float_dtype(values):
            continue
        digits = 4 if col in ESTIMATE_COLUMNS else 15
        finite = values.dropna()
        if len(finite) and (finite == finite.round()).all() and col not in ESTIMATE_COLUMNS:
            out[col] = values.astype("Int64")
        else:
            out[col] = values.map(lambda x, d=digits: x if pd.isna(x) else float(f"{x:.{d}g}"))
    return out


def exports_html(model: Model, state: FilterState, version: str) -> str:
    """Download links for the selection: data as CSV (formula-safe), citations as BibTeX and RIS."""
    rows = model.filtered(state)
    keep = [
        c
        for c in [
            "study_id",
            "label",
            "arm_id",
            "arm_label",
            "therapy",
            "approach",
            "guidance",
            "indication",
            "design",
            "domain",
            "instrument",
            "time_weeks",
            "window",
            "value",
            "ci_lb",
            "ci_ub",
            "n",
            "derivation",
            "locator",
            "doi",
            "pmid",
        ]
        if c in rows.columns
    ]
    data = rows[keep].assign(dataset_version=version)
    ids = (
        set(model.studies(state)["study_id"]) | set(rows["study_id"])
        if len(rows)
        else set(model.studies(state)["study_id"])
    )
    cites = model.ev.studies[model.ev.studies["study_id"].isin(ids)]
    name = f"injection-evidence-{version}"
    links = [
        (data_uri(safe_csv(data), "text/csv"), f"{name}-{state.outcome}-{state.measure}.csv", "Data (CSV)"),
        (data_uri(bibtex(cites), "application/x-bibtex"), f"{name}.bib", "Citations (BibTeX)"),
        (data_uri(ris(cites), "application/x-research-info-systems"), f"{name}.ris", "Citations (RIS)"),
    ]
    sof = model.findings(state)
    if len(sof):
        therapies = model.labels("arms", "therapy")
        kinds = COMPARATOR_WORDS
        labels = cites.set_index("study_id")["label"]
        sources = "; ".join(
            f"{labels.get(s, s)} (doi {d})" if isinstance(d, str) and d else str(labels.get(s, s))
            for s, d in zip(cites["study_id"], cites["doi"], strict=True)
        )
        page = findings_page(
            sof, therapies, kinds,
            title="Injection therapies for back pain: summary of findings",
            selection=f"Selection: {selection_words(model, state)}",
            version=version,
            sources=sources,
        )  # fmt: skip
        links += [
            (data_uri(safe_csv(rounded(sof).assign(dataset_version=version)), "text/csv"), f"{name}-findings.csv", "Findings (CSV)"),
            (data_uri(page, "text/html"), f"{name}-findings.html", "Findings table (HTML, for slides)"),
        ]
    items = " · ".join(
        f"<a class='explorer-export' download='{html.escape(f, quote=True)}' href='{u}'>{html.escape(t)}</a>"
        for u, f, t in links
    )
    return (
        f"<div class='explorer-exports'>Download this selection: {items}. Figures: use the camera button "
        "above each plot (format below).</div>"
    )


__all__ = [
    "FindingsView",
    "ForestView",
    "MapView",
    "SafetyView",
    "StudiesView",
    "SummaryView",
    "TimeView",
    "View",
    "exports_html",
    "selection_words",
]
