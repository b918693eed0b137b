"""The data dictionary (docs/data.md), generated from datapackage.json so it cannot drift."""

from __future__ import annotations

from explorer.data.schema import Field, Package, read_package


def _constraints(f: Field) -> str:
    parts = []
    if f.required:
        parts.append("required")
    if f.pattern:
        parts.append(f"pattern `{f.pattern}`")
    if f.minimum is not None:
        parts.append(f"≥ {f.minimum:g}")
    if f.maximum is not None:
        parts.append(f"≤ {f.maximum:g}")
    if f.enum:
        parts.append("one of: " + ", ".join(f"`{t}`" for t in f.enum))
    return "; ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(pkg: Package | None = None) -> str:
    pkg = pkg or read_package()
    out = [
        f"# Data dictionary: {pkg.title}",
        "",
        "<!-- Generated from data/datapackage.json by `explorer dictionary`; do not edit by hand. -->",
        "",
        f"Dataset version {pkg.version}. {pkg.raw.get('description', '')}",
        "",
        "Files are UTF-8 CSV with a header row. Empty cell = not reported (the row's `notes` say why).",
        "Booleans are `true`/`false`. Row numbers in validator messages count the header as row 1.",
        "",
    ]
    for res in pkg.resources:
        out += [f"## `{res.path}`: {res.title}", "", res.description, ""]
        if res.primary_key:
            out.append(f"Primary key: {', '.join(f'`{k}`' for k in res.primary_key)}.")
        for fk in res.foreign_keys:
            target = fk.resource or res.name
            when = " where all of its fields have a value" if fk.optional else ""
            out.append(
                f"Foreign key: {', '.join(f'`{k}`' for k in fk.fields)} → `{target}`"
                f" ({', '.join(f'`{k}`' for k in fk.reference_fields)}){when}."
            )
        out += ["", "| Field | Type | Description | Constraints |", "|---|---|---|---|"]
        for f in res.fields:
            out.append(f"| `{f.name}` | {f.type} | {_cell(f.description)} | {_cell(_constraints(f))} |")
        out.append("")
        vocab = [f for f in res.fields if f.enum and f.enum_labels]
        if vocab:
            out += ["### Vocabularies", ""]
            for f in vocab:
                out.append(
                    f"**`{f.name}`**: " + "; ".join(f"`{t}` {_cell(f.label(t))}" for t in f.enum or ())
                )
                out.append("")
    return "\n".join(out).rstrip() + "\n"
