"""A JupyterLab form for adding one publication, validating as the analyst types.

The form is generated from the schema (one widget per field; vocabularies as drop-downs) and uses
the same :func:`explorer.data.entry.check_entry` / :func:`add_entry` as ``explorer add``, so the
rules and the safe write are the same everywhere.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as w

from explorer.data.entry import SECTIONS, add_entry, check_entry
from explorer.data.schema import Field, read_package
from explorer.paths import data_dir as resolve

LONG_TEXT = {"title", "notes", "agent_detail", "funding", "responder_definition", "description", "authors"}
AUTO = {"study_id", "outcome_id", "ae_id"}


def _widget(f: Field) -> w.Widget:
    label = f.name + (" *" if f.required else "")
    style = {"description_width": "170px"}
    layout = w.Layout(width="95%")
    if f.enum:
        options = [("", "")] + [(f"{t} ({f.label(t)})" if f.label(t) != t else t, t) for t in f.enum]
        return w.Dropdown(
            options=options, value="", description=label, style=style, layout=layout, tooltip=f.description
        )
    if f.type == "boolean":
        return w.Dropdown(
            options=["", "true", "false"], value="", description=label, style=style, layout=layout
        )
    cls = w.Textarea if f.name in LONG_TEXT else w.Text
    return cls(
        value="",
        description=label,
        placeholder=f.description[:80],
        style=style,
        layout=layout,
        continuous_update=False,
    )


class RecordForm:
    """Widgets for one record of a table."""

    def __init__(self, table: str, skip: set[str], on_change):
        pkg = read_package()
        self.fields = {f.name: _widget(f) for f in pkg.resource(table).fields if f.name not in skip}
        for widget in self.fields.values():
            widget.observe(lambda _c: on_change(), names="value")
        self.box = w.VBox(
            list(self.fields.values()),
            layout=w.Layout(border="1px solid #ddd", padding="6px", margin="4px 0"),
        )

    def values(self) -> dict[str, str]:
        return {k: str(v.value).strip() for k, v in self.fields.items() if str(v.value).strip()}


class EntryForm:
    """Study, arms, outcomes and adverse events; live problems; an Add button."""

    def __init__(self, data_dir: str | Path | None = None):
        self.data_dir = resolve(data_dir)
        self.study = RecordForm("studies", set(), self.revalidate)
        self.sections: dict[str, list[RecordForm]] = {s: [] for s in ("arms", "outcomes", "adverse_events")}
        self.section_boxes = {s: w.VBox() for s in self.sections}
        self.problems = w.HTML()
        self.result = w.HTML()
        self.add_button = w.Button(
            description="Add to the data", button_style="primary", icon="plus", disabled=True
        )
        self.add_button.on_click(self._add)
        parts: list[w.Widget] = [
            w.HTML(
                f"<h3>Add a publication</h3><p>Data directory: <code>{html.escape(str(self.data_dir))}</code>. "
                "Copy numbers exactly as printed; fields marked * are required.</p>"
            ),
            w.HTML("<h4>Study</h4>"),
            self.study.box,
        ]
        for section in self.sections:
            button = w.Button(description=f"Add {section.replace('_', ' ')[:-1]}", icon="plus")
            button.on_click(lambda _b, s=section: self.add_record(s))
            parts += [
                w.HTML(f"<h4>{section.replace('_', ' ').capitalize()}</h4>"),
                self.section_boxes[section],
                button,
            ]
        parts += [self.problems, self.add_button, self.result]
        self.widget = w.VBox(parts)
        self.add_record("arms")
        self.revalidate()

    def add_record(self, section: str) -> RecordForm:
        form = RecordForm(SECTIONS[section], AUTO, self.revalidate)
        self.sections[section].append(form)
        self.section_boxes[section].children = [f.box for f in self.sections[section]]
        self.revalidate()
        return form

    def entry(self) -> dict:
        return {
            "study": self.study.values(),
            **{s: [f.values() for f in forms if f.values()] for s, forms in self.sections.items()},
        }

    def revalidate(self) -> list[str]:
        if not hasattr(self, "add_button"):
            return []
        problems = check_entry(self.entry(), self.data_dir).problems
        self.add_button.disabled = bool(problems)
        if problems:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in problems[:30])
            more = f"<p>… and {len(problems) - 30} more</p>" if len(problems) > 30 else ""
            self.problems.value = f"<div class='explorer-problems' role='status'><b>{len(problems)} to fix:</b><ul>{items}</ul>{more}</div>"
        else:
            self.problems.value = (
                "<div class='explorer-problems' role='status'>Ready to add: no problems found.</div>"
            )
        return problems

    def _add(self, _button=None) -> None:
        result = add_entry(self.entry(), self.data_dir)
        if result.ok:
            counts = ", ".join(f"{len(v)} {k}" for k, v in result.rows.items() if v)
            self.result.value = (
                f"<p>Added {html.escape(self.study.values().get('study_id', ''))}: {counts}.</p>"
            )
            self.add_button.disabled = True
        else:
            self.result.value = (
                "<p>Not added:</p><ul>"
                + "".join(f"<li>{html.escape(p)}</li>" for p in result.problems)
                + "</ul>"
            )


def entry_form(data_dir: str | Path | None = None) -> w.Widget:
    return EntryForm(data_dir).widget
