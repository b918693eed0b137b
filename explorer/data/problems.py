"""Typed validation problems: every one names a file, a row and a column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the data.

    ``row`` counts like a spreadsheet: the header is row 1, the first record row 2; 0 means the
    problem concerns the whole file (unreadable, bad header). ``column`` is empty for whole-row or
    whole-file problems.
    """

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


class DataError(Exception):
    """Raised by :func:`explorer.load` when the data package does not validate."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        head = "\n".join(str(p) for p in self.problems[:20])
        more = len(self.problems) - 20
        tail = f"\n... and {more} more" if more > 0 else ""
        super().__init__(f"{len(self.problems)} problem(s) in the data:\n{head}{tail}")
