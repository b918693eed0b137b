"""Citations of studies as BibTeX or RIS, from the studies table."""

from __future__ import annotations

import re

import pandas as pd

_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _bib(text: object) -> str:
    s = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    s = re.sub(r"[\r\n]+", " ", s)
    return "".join(_BIBTEX_SPECIAL.get(c, c) for c in s)


def _present(v: object) -> bool:
    return v is not None and not (isinstance(v, float) and pd.isna(v)) and str(v) != "" and v is not pd.NA


def split_authors(authors: object) -> list[str]:
    """Authors as listed: separated by semicolons when any, else by commas ('et al.' kept)."""
    text = str(authors) if _present(authors) else ""
    sep = ";" if ";" in text else ","
    return [a.strip() for a in text.split(sep) if a.strip()]


def _authors_bibtex(authors: object) -> str:
    return " and ".join(_bib(a) for a in split_authors(authors))


def bibtex(studies: pd.DataFrame) -> str:
    entries = []
    for r in studies.itertuples(index=False):
        kind = "article"
        fields = [
            ("title", f"{{{_bib(r.title)}}}"),
            ("author", _authors_bibtex(r.authors)),
            ("journal", _bib(r.journal)),
            ("year", _bib(r.year)),
        ]
        if _present(r.volume_pages):
            fields.append(("note", _bib(r.volume_pages)))
        if _present(r.doi):
            fields.append(("doi", _bib(r.doi)))
        if _present(r.pmid):
            fields.append(("pmid", _bib(r.pmid)))
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
        entries.append(f"@{kind}{{{r.study_id},\n{body}\n}}")
    return "\n\n".join(entries) + ("\n" if entries else "")


def _ris_line(tag: str, value: object) -> str:
    clean = re.sub(r"[\r\n]+", " ", str(value))
    return f"{tag}  - {clean}"


def ris(studies: pd.DataFrame) -> str:
    records = []
    for r in studies.itertuples(index=False):
        kind = "JOUR"
        lines = [_ris_line("TY", kind), _ris_line("ID", r.study_id), _ris_line("TI", r.title)]
        lines += [_ris_line("AU", a) for a in split_authors(r.authors)]
        lines += [_ris_line("JO", r.journal), _ris_line("PY", r.year)]
        if _present(r.volume_pages):
            lines.append(_ris_line("N1", r.volume_pages))
        if _present(r.doi):
            lines.append(_ris_line("DO", r.doi))
        if _present(r.pmid):
            lines.append(_ris_line("AN", f"PMID:{r.pmid}"))
        lines.append("ER  - ")
        records.append("\n".join(lines))
    return "\n\n".join(records) + ("\n" if records else "")
