"""Adding one publication (its study, arms, outcomes and adverse events) safely.

An *entry* is a mapping ``{"study": {...}, "arms": [...], "outcomes": [...], "adverse_events":
[...]}`` whose values are the CSV cells as text (YAML read with every scalar as a string, so
"2.50" stays "2.50": numbers are copied, never reformatted). :func:`check_entry` validates it
against the schema *and* the existing data and looks for duplicates; :func:`add_entry` then writes
it with :mod:`explorer.data.store` (locked, atomic, canonical order).
"""

from __future__ import annotations

import csv
import difflib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from explorer.data import store
from explorer.data.problems import Problem
from explorer.data.read import read_csv
from explorer.data.schema import Package, read_package
from explorer.data.validate import collect

SECTIONS = {"study": "studies", "arms": "arms", "outcomes": "outcomes", "adverse_events": "adverse_events"}
TITLE_SIMILARITY = 0.9


class EntryError(Exception):
    """The entry cannot be read (not YAML, wrong shape)."""


@dataclass
class EntryCheck:
    """What :func:`check_entry` found: problems (blocking) and the rows it would add."""

    problems: list[str] = field(default_factory=list)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_entry(path: str | Path) -> dict[str, Any]:
    """Read an entry file (YAML or JSON) with every scalar kept as the text typed."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EntryError(f"{path}: not UTF-8 text") from exc
    except OSError as exc:
        raise EntryError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        data = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise EntryError(f"{path}: not valid YAML{where}") from exc
    return normalise(data, str(path))


def normalise(data: Any, source: str = "entry") -> dict[str, Any]:
    """Check the entry's shape and turn every value into CSV text."""
    if not isinstance(data, dict):
        raise EntryError(
            f"{source}: expected a mapping with 'study', 'arms', 'outcomes' (and 'adverse_events')"
        )
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise EntryError(
            f"{source}: unknown section(s) {', '.join(sorted(map(str, unknown)))}; "
            f"expected {', '.join(SECTIONS)}"
        )
    if not isinstance(data.get("study"), dict):
        raise EntryError(f"{source}: 'study' must be a mapping of study fields")
    out: dict[str, Any] = {"study": {str(k): _text(v) for k, v in data["study"].items()}}
    for section in ("arms", "outcomes", "adverse_events"):
        items = data.get(section) or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise EntryError(f"{source}: '{section}' must be a list of mappings")
        out[section] = [{str(k): _text(v) for k, v in i.items()} for i in items]
    return out


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _entry_rows(entry: dict[str, Any], pkg: Package) -> tuple[dict[str, list[dict[str, str]]], list[str]]:
    """Rows per table, with study_id filled in and outcome/AE ids numbered after existing ones."""
    problems: list[str] = []
    study = dict(entry["study"])
    sid = study.get("study_id", "")
    rows: dict[str, list[dict[str, str]]] = {"studies": [study]}
    for section in ("arms", "outcomes", "adverse_events"):
        table = SECTIONS[section]
        names = set(pkg.resource(table).field_names)
        rows[table] = []
        for i, item in enumerate(entry[section]):
            for key in item:
                if key not in names:
                    hint = difflib.get_close_matches(key, names, n=1)
                    problems.append(
                        f"{section}[{i}].{key}: unknown field"
                        + (f"; did you mean {hint[0]!r}?" if hint else "")
                    )
            if item.get("study_id") and item["study_id"] != sid:
                problems.append(
                    f"{section}[{i}].study_id: {item['study_id']!r} differs from study.study_id {sid!r}"
                )
            rows[table].append({**item, "study_id": sid})
    for key in study:
        if key not in set(pkg.resource("studies").field_names):
            hint = difflib.get_close_matches(key, pkg.resource("studies").field_names, n=1)
            problems.append(f"study.{key}: unknown field" + (f"; did you mean {hint[0]!r}?" if hint else ""))
    return rows, problems


def _number_ids(
    rows: dict[str, list[dict[str, str]]], existing: dict[str, list[dict[str, str]]], sid: str
) -> None:
    for table, key, fmt in (
        ("outcomes", "outcome_id", "{sid}_{n:03d}"),
        ("adverse_events", "ae_id", "{sid}_ae{n:02d}"),
    ):
        pattern = re.compile(re.escape(sid) + (r"_(\d{3})$" if table == "outcomes" else r"_ae(\d{2})$"))
        used = {
            int(m.group(1))
            for r in existing.get(table, []) + rows[table]
            if (m := pattern.match(r.get(key, "")))
        }
        n = max(used, default=0)
        for r in rows[table]:
            if not r.get(key):
                n += 1
                r[key] = fmt.format(sid=sid, n=n)


def _norm_title(t: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", t.lower()).strip()


def find_duplicates(study: dict[str, str], existing: list[dict[str, str]]) -> list[str]:
    """Same DOI or PMID, a near-identical title, or the same trial registration (a paper of an
    existing cohort: link it with parent_id instead of adding it as a new trial)."""
    found = []
    doi = study.get("doi", "").lower()
    pmid = study.get("pmid", "")
    title = _norm_title(study.get("title", ""))
    reg = study.get("registration", "").strip().upper()
    for row_no, r in enumerate(existing, start=2):
        other = r.get("study_id", "")
        if other == study.get("study_id"):
            continue  # a duplicate study_id is reported by the key check
        if doi and doi == r.get("doi", "").lower():
            found.append(f"study.doi: {study['doi']} is already in studies.csv row {row_no} ({other})")
        if pmid and pmid == r.get("pmid", ""):
            found.append(f"study.pmid: {pmid} is already in studies.csv row {row_no} ({other})")
        if (
            title
            and difflib.SequenceMatcher(None, title, _norm_title(r.get("title", ""))).ratio()
            >= TITLE_SIMILARITY
        ):
            found.append(
                f"study.title: nearly identical to studies.csv row {row_no} ({other}): {r.get('title', '')!r}"
            )
        if (
            reg
            and reg == r.get("registration", "").strip().upper()
            and study.get("parent_id") != (r.get("parent_id") or other)
        ):
            cohort = r.get("parent_id") or other
            found.append(
                f"study.registration: {reg} is the trial of {other}; if this paper reports the same participants, "
                f"link it with parent_id: {cohort}"
            )
    return found


def _map_problem(p: Problem, new_rows: dict[str, range], entry: dict[str, Any], pkg: Package) -> str:
    """Say a problem in the entry's own terms (``arms[1].guidance: ...``) when it is about new rows."""
    for section, table in SECTIONS.items():
        if p.file == pkg.resource(table).path and p.row in new_rows.get(table, range(0)):
            i = p.row - new_rows[table].start
            where = "study" if section == "study" else f"{section}[{i}]"
            return f"{where}.{p.column}: {p.message}" if p.column else f"{where}: {p.message}"
    return f"{p} (existing data)"


def check_entry(entry: dict[str, Any], data_dir: Path, pkg: Package | None = None) -> EntryCheck:
    """Validate ``entry`` as if it were added to ``data_dir`` (nothing is written there)."""
    pkg = pkg or read_package()
    unreadable: list[Problem] = []
    for res in pkg.resources:  # a table that cannot be read is said once, by name, and nothing else
        read_csv(data_dir / res.path, unreadable)
    if unreadable:
        return EntryCheck(problems=[str(p) for p in unreadable])
    rows, problems = _entry_rows(entry, pkg)
    if not any(v for v in entry["study"].values()):
        problems.append("study: no field is filled in")
    for section in ("arms", "outcomes", "adverse_events"):
        problems += [
            f"{section}[{i}]: every field is empty"
            for i, item in enumerate(entry[section])
            if not any(v for v in item.values())
        ]
    existing = {t: _read_rows(data_dir / pkg.resource(t).path) for t in SECTIONS.values()}
    sid = entry["study"].get("study_id", "")
    _number_ids(rows, existing, sid)
    if any(r.get("study_id") == sid for r in existing["studies"]) and sid:
        problems.append(f"study.study_id: {sid!r} is already in studies.csv; choose another id (e.g. {sid}b)")
    problems += find_duplicates(entry["study"], existing["studies"])
    new_rows: dict[str, range] = {}
    with tempfile.TemporaryDirectory(prefix="explorer-entry-") as tmp:
        trial = Path(tmp)
        for res in pkg.resources:
            src = data_dir / res.path
            if res.name in rows:
                both = existing[res.name] + rows[res.name]
                start = len(existing[res.name]) + 2
                new_rows[res.name] = range(start, start + len(rows[res.name]))
                header = res.field_names
                with open(trial / res.path, "w", newline="", encoding="utf-8") as fh:
                    w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n", extrasaction="ignore")
                    w.writeheader()
                    w.writerows({k: r.get(k, "") for k in header} for r in both)
            elif src.exists():
                shutil.copy(src, trial / res.path)
        found, _, _ = collect(trial, pkg)
    problems += [_map_problem(p, new_rows, entry, pkg) for p in found]
    return EntryCheck(problems=problems, rows=rows)


def add_entry(entry: dict[str, Any], data_dir: Path, pkg: Package | None = None) -> EntryCheck:
    """Check and, if clean, write the entry (locked; all tables replaced atomically)."""
    pkg = pkg or read_package()
    with store.locked(data_dir):
        result = check_entry(entry, data_dir, pkg)  # re-checked under the lock: others may have added
        if not result.ok:
            return result
        files = {}
        for table in SECTIONS.values():
            if not result.rows.get(table):
                continue
            res = pkg.resource(table)
            current = _read_rows(data_dir / res.path)
            files[res.path] = store.render_csv(res, current + result.rows[table])
        store.commit(data_dir, files)
    return result


def template(pkg: Package | None = None) -> str:
    """A commented YAML template of an entry, generated from the schema."""
    pkg = pkg or read_package()
    lines = [
        "# One publication to add with `explorer add ENTRY.yaml`. Copy numbers exactly as printed in the",
        "# paper; leave a field empty (or delete it) when the paper does not report it, and say why in notes.",
        "# Every number needs a locator: where in the paper it was read (abstract, Table 2, Figure 3 read off).",
        "# outcome_id / ae_id may be left out: they are numbered automatically.",
    ]
    skip = {"study_id"}
    for section, table in SECTIONS.items():
        res = pkg.resource(table)
        lines.append("")
        lines.append(f"{section}:" if section == "study" else f"{section}:\n  -")
        indent = "  " if section == "study" else "    "
        first = True
        for f in res.fields:
            if section != "study" and f.name in skip | {"outcome_id", "ae_id"}:
                continue
            req = "required" if f.required else "optional"
            choices = f" one of: {', '.join(f.enum)}" if f.enum else ""
            comment = f"# {req}: {f.description}{choices}"
            if section != "study" and first:
                lines[-1] = f"{section}:\n  - {f.name}:    {comment}"
                first = False
                continue
            lines.append(f"{indent}{f.name}:    {comment}")
    return "\n".join(lines) + "\n"
