"""Typed validation problems: every one names a file, a row, a column and a stable code."""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: The stable machine codes of problems (``Problem.code``). Where Frictionless has an error type
#: for the same defect, the code is its name (``type-error``, ``constraint-error``, ...).
CODES = {
    "source-error": "the data directory, or a file in it, cannot be read as a table at all",
    "file-missing": "a resource listed in datapackage.json has no file",
    "encoding-error": "a file is not UTF-8 text",
    "delimiter-error": "a file is separated by semicolons (or tabs), not commas",
    "format-error": "a file is not well-formed CSV",
    "package-error": "the data directory's datapackage.json cannot be read",
    "schema-error": "the data directory's datapackage.json differs from the explorer's schema",
    "duplicate-label": "a column appears twice in the header",
    "extra-label": "the header has a column the schema does not know",
    "missing-label": "the header lacks a column of the schema",
    "extra-cell": "a row has more cells than the header",
    "missing-cell": "a row has fewer cells than the header",
    "type-error": "a cell is not of its field's type (integer, number, boolean)",
    "constraint-error": "a cell breaks its field's constraint (required, vocabulary, pattern, range)",
    "whitespace-error": "a cell has leading or trailing spaces",
    "primary-key": "a row repeats the key of an earlier row",
    "foreign-key": "a row refers to a row that does not exist",
    "row-constraint": "a row breaks a rule across its cells (a CI must contain its estimate, ...)",
}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the data.

    ``row`` counts like a spreadsheet: the header is row 1, the first record row 2; 0 means the
    problem concerns the whole file (unreadable, bad header). ``column`` is empty for whole-row or
    whole-file problems. ``code`` is one of :data:`CODES` (domain rules default to
    ``row-constraint``).
    """

    file: str
    row: int
    column: str
    message: str
    code: str = "row-constraint"

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class DataError(Exception):
    """Raised by :func:`explorer.load` when the data package does not validate."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        head = "\n".join(str(p) for p in self.problems[:20])
        more = len(self.problems) - 20
        tail = f"\n... and {more} more" if more > 0 else ""
        super().__init__(f"{len(self.problems)} problem(s) in the data:\n{head}{tail}")
