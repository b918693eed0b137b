"""Reading CSV files into rows of strings, with problems instead of exceptions.

The validator works on raw strings so that it can say exactly which cell is wrong; typing happens
only after validation (see :mod:`explorer.data.load`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from explorer.data.problems import Problem

MAX_FILE_BYTES = 50 * 1024 * 1024
#: what to do about a file a spreadsheet saved in a local encoding or with semicolons
SAVE_AS = "save it from the spreadsheet as CSV UTF-8, comma-separated"


@dataclass
class RawTable:
    """A CSV file as strings: the header and the records, with their spreadsheet row numbers."""

    file: str
    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]


def record_number(text: str) -> int:
    """Spreadsheet row of the record in which ``text`` (a file's beginning) ends.

    Counts CSV records, not physical lines, so a quoted cell spanning lines does not shift the
    numbering; the header is row 1.
    """
    if not text:
        return 1
    count = 0
    try:
        for _ in csv.reader(io.StringIO(text, newline="")):
            count += 1
    except csv.Error:
        return max(count, 1)
    # a record still open at the end of ``text`` is the one the offset falls in
    return max(count, 1)


def read_csv(path: Path, problems: list[Problem], required: bool = True) -> RawTable | None:
    """Read ``path``; append problems and return ``None`` when it cannot be read at all."""
    name = path.name
    if not path.exists():
        if required:
            problems.append(
                Problem(name, 0, "", f"file not found in {path.parent} (datapackage.json lists it)", "file-missing")
            )
        return None
    if not path.is_file():
        problems.append(Problem(name, 0, "", "is not a regular file", "source-error"))
        return None
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(
                Problem(name, 0, "", f"file is too large ({size} bytes; limit {MAX_FILE_BYTES})", "source-error")
            )
            return None
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(name, 0, "", f"cannot be read ({exc.strerror or exc})", "source-error"))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = record_number(data[: exc.start].decode("utf-8", errors="replace") + "x")
        byte = data[exc.start : exc.start + 1].hex()
        problems.append(
            Problem(
                name,
                line,
                "",
                f"not UTF-8 text (byte 0x{byte} at offset {exc.start}; a spreadsheet's local encoding, "
                f"such as Windows-1252?): {SAVE_AS}",
                "encoding-error",
            )
        )
        return None
    if "\x00" in text:
        line = record_number(text[: text.index("\x00")] + "x")
        problems.append(Problem(name, line, "", "contains a NUL byte: not a text CSV file", "source-error"))
        return None
    if not text.strip():
        problems.append(Problem(name, 1, "", "file is empty (expected a header row)", "source-error"))
        return None
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    for sep, what in ((";", "semicolons"), ("\t", "tabs")):
        if first_line.count(sep) > first_line.count(","):
            problems.append(
                Problem(name, 1, "", f"the columns are separated by {what}, not commas: {SAVE_AS}", "delimiter-error")
            )
            return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    numbers: list[int] = []
    header: list[str] | None = None
    row_no = 1  # spreadsheet numbering: the header is row 1
    # one string object per distinct cell text: the tables repeat the same ids, vocabulary terms
    # and units thousands of times, and the loaded frames keep these strings (40% less memory)
    seen: dict[str, str] = {}
    try:
        for record in reader:
            if header is None:
                header = record
                continue
            row_no += 1
            if not record or all(c == "" for c in record):
                continue  # blank line: harmless, as in spreadsheets
            rows.append([seen.setdefault(c, c) for c in record])
            numbers.append(row_no)
    except csv.Error as exc:
        problems.append(Problem(name, row_no + 1, "", f"malformed CSV ({exc})", "format-error"))
        return None
    return RawTable(file=name, header=header or [], rows=rows, row_numbers=numbers)
