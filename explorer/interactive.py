"""``explorer add --interactive``: ask for an entry field by field, with the vocabularies' choices.

Each answer is checked at once with the validator's own cell rules, so a typo is caught where it
is typed ("guidance 'fluroscopy': did you mean 'fluoroscopy'?"). End of input cancels cleanly.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

from explorer.data.entry import SECTIONS
from explorer.data.schema import Field, Package, read_package
from explorer.data.validate import parse_cell

AUTO = {"study_id", "outcome_id", "ae_id"}


class Cancelled(Exception):
    pass


def _ask_field(f: Field, ask: Callable[[str], str], out: TextIO) -> str:
    while True:
        if f.enum:
            out.write("  " + "  ".join(f"{i}) {t}" for i, t in enumerate(f.enum, 1)) + "\n")
        req = "" if f.required else " (Enter to skip)"
        answer = ask(f"{f.name}{req}: ").strip()
        if f.enum and answer.isdigit() and 1 <= int(answer) <= len(f.enum):
            answer = f.enum[int(answer) - 1]
        _, problem = parse_cell(f, answer)
        if problem is None:
            return answer
        out.write(f"  {f.name} {problem}\n")


def _ask_record(
    pkg: Package, table: str, ask: Callable[[str], str], out: TextIO, skip: set[str]
) -> dict[str, str]:
    record = {}
    for f in pkg.resource(table).fields:
        if f.name in skip:
            continue
        value = _ask_field(f, ask, out)
        if value:
            record[f.name] = value
    return record


def interview(ask: Callable[[str], str] | None = None, out: TextIO = sys.stdout) -> dict[str, Any]:
    """Build an entry from answers; ``ask`` defaults to ``input`` (EOF cancels)."""
    pkg = read_package()

    def _ask(prompt: str) -> str:
        try:
            return (ask or input)(prompt)
        except EOFError:
            raise Cancelled from None

    out.write("Adding one publication. Copy numbers exactly as printed; Enter skips an optional field.\n")
    study = _ask_record(pkg, "studies", _ask, out, set())
    entry: dict[str, Any] = {"study": study, "arms": [], "outcomes": [], "adverse_events": []}
    for section in ("arms", "outcomes", "adverse_events"):
        while _ask(
            f"Add {'an' if section[0] in 'aeiou' else 'a'} {section[:-1].replace('_', ' ')}? [y/N] "
        ).strip().lower() in ("y", "yes"):
            entry[section].append(_ask_record(pkg, SECTIONS[section], _ask, out, AUTO))
    return entry
