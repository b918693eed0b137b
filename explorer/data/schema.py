"""The schema, as data: a Frictionless-style ``datapackage.json``.

Everything the validator, the loader, the docs' data dictionary and the dashboard's filter labels
need to know about fields and vocabularies is read from that one file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILE = "datapackage.json"
#: custom schema property: foreign keys checked only where all their fields have values
OPTIONAL_FOREIGN_KEYS = "optionalForeignKeys"
BUNDLED_SCHEMA = Path(__file__).resolve().parent.parent.parent / "data" / SCHEMA_FILE


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] | None = None
    enum_labels: dict[str, str] = field(default_factory=dict)
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    def label(self, value: str) -> str:
        """Human label of a vocabulary term (the term itself when it has none)."""
        return self.enum_labels.get(value, value)


@dataclass(frozen=True)
class ForeignKey:
    """A reference to rows of a resource.

    As Table Schema reads ``foreignKeys`` (and Frictionless checks them), a key is checked
    wherever any of its fields has a value. An *optional* key (our ``optionalForeignKeys``, a
    custom property other tools ignore) is checked only where every field has one: the
    composite (``study_id``, ``comparator_arm_id``) of a row without a comparator refers to
    nothing, where Table Schema would look up (``study_id``, null) and fail.
    """

    fields: tuple[str, ...]
    resource: str  # "" refers to the same resource, as in Frictionless
    reference_fields: tuple[str, ...]
    optional: bool = False


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    title: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class Package:
    name: str
    title: str
    version: str
    resources: tuple[Resource, ...]
    raw: dict[str, Any]

    def resource(self, name: str) -> Resource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)

    def vocabulary(self, resource: str, field_name: str) -> dict[str, str]:
        """Ordered ``{term: label}`` of a controlled field."""
        f = self.resource(resource).field(field_name)
        return {t: f.label(t) for t in (f.enum or ())}


def _as_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value or ())


def parse_package(raw: dict[str, Any]) -> Package:
    resources = []
    for res in raw["resources"]:
        schema = res.get("schema", {})
        fields = []
        for f in schema.get("fields", []):
            c = f.get("constraints", {})
            fields.append(
                Field(
                    name=f["name"],
                    type=f.get("type", "string"),
                    description=f.get("description", ""),
                    required=bool(c.get("required", False)),
                    enum=tuple(c["enum"]) if "enum" in c else None,
                    enum_labels=dict(f.get("enumLabels", {})),
                    pattern=c.get("pattern"),
                    minimum=c.get("minimum"),
                    maximum=c.get("maximum"),
                )
            )
        fks = tuple(
            ForeignKey(
                fields=_as_tuple(fk["fields"]),
                resource=fk["reference"].get("resource", ""),
                reference_fields=_as_tuple(fk["reference"]["fields"]),
                optional=optional,
            )
            for key, optional in (("foreignKeys", False), (OPTIONAL_FOREIGN_KEYS, True))
            for fk in schema.get(key, [])
        )
        resources.append(
            Resource(
                name=res["name"],
                path=res["path"],
                title=res.get("title", res["name"]),
                description=res.get("description", ""),
                fields=tuple(fields),
                primary_key=_as_tuple(schema.get("primaryKey")),
                foreign_keys=fks,
            )
        )
    return Package(
        name=raw.get("name", ""),
        title=raw.get("title", ""),
        version=str(raw.get("version", "")),
        resources=tuple(resources),
        raw=raw,
    )


@cache
def _read_cached(path: str, mtime_ns: int) -> Package:
    with open(path, encoding="utf-8") as fh:
        return parse_package(json.load(fh))


def read_package(path: str | Path = BUNDLED_SCHEMA) -> Package:
    """Read and parse a ``datapackage.json`` (cached per file and modification time)."""
    p = Path(path)
    return _read_cached(str(p.resolve()), p.stat().st_mtime_ns)
