"""Citations of studies as BibTeX or RIS, from the studies table.

Authors are parsed into ``Last, First`` names whatever the style of the ``authors`` column
(Vancouver "Surname Initials", full "Given Surname", "Last, First" separated by semicolons,
APA "Surname, I. I., Surname, I.", "et al.", group authors); ``volume_pages`` is parsed into
volume, issue and pages, and whatever does not parse is kept as a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# --------------------------------------------------------------------------- authors

#: Generational suffixes (BibTeX's "Jr" part).
_WORD_SUFFIXES = frozenset({"Jr", "Jr.", "Sr", "Sr."})
SUFFIXES = _WORD_SUFFIXES | {"II", "III", "IV"}
#: Surname particles: lower case anywhere before the last word of a full name ("Jan van der Berg");
#: capitalised only these ("Giuseppina Di Giacomo", "Salvatore La Rosa", "Myriame Bou Antoun"), since
#: "Du", "Le", "Da" ... are also given names.
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "dalla", "di", "da", "dos", "das", "du", "la", "le"}
    | {"ter", "ten", "el", "al", "bin", "ben", "bou", "abu", "st.", "st"}
)
_CAPITAL_PARTICLES = frozenset(
    {"Van", "Von", "De", "Del", "Della", "Dalla", "Di", "La", "Dos", "El", "Al", "Bou", "Abu"}
)
_CORPORATE = re.compile(
    r"\b(group|consortium|collaborat\w*|investigators|committee|network|society|association|team|trialists)\b",
    re.IGNORECASE,
)
_ET_AL = re.compile(r"(?:^|[\s,]+)et\.?\s+al\.?\s*$", re.IGNORECASE)
_PAREN = re.compile(r"\s*\([^()]*\)")


@dataclass(frozen=True)
class Name:
    """One author: a person (``last``, ``first``, ``suffix``), a group (``corporate``) or "et al." (``others``)."""

    last: str = ""
    first: str = ""
    suffix: str = ""
    kind: str = "person"  # person | corporate | others

    def bibtex(self) -> str:
        if self.kind == "others":
            return "others"
        if self.kind == "corporate":
            return "{" + _bib(self.last) + "}"
        if self.suffix:  # "von Last, Jr, First"
            return f"{_bib(self.last)}, {_bib(self.suffix)}, {_bib(self.first)}".rstrip()
        return f"{_bib(self.last)}, {_bib(self.first)}" if self.first else _bib(self.last)

    def ris(self) -> str:
        if self.kind != "person":
            return self.last
        return ", ".join(p for p in (self.last, self.first, self.suffix) if p)


def _letters(token: str) -> str:
    return token.replace(".", "").replace("-", "")


def _is_initials(token: str, most: int = 4) -> bool:
    """An all-capital token of 1-``most`` letters ("WE", "W.E.", "J-H", "Ş"), dots and hyphens allowed."""
    letters = _letters(token)
    return 1 <= len(letters) <= most and letters.isalpha() and letters.isupper()


def _is_single_initial(token: str) -> bool:
    return _is_initials(token, most=1)


def _dotted(initials: str) -> str:
    """'WE' -> 'W. E.', 'W.E.' -> 'W. E.', 'J-H' -> 'J.-H.'."""
    chunks = []
    for chunk in initials.split():
        groups = [" ".join(f"{c}." for c in _letters(g)) for g in chunk.split("-")]
        chunks.append("-".join(g for g in groups if g))
    return " ".join(chunks)


def _given(text: str) -> str:
    """Given names with single-letter initials dotted: 'Mark C' -> 'Mark C.', 'N K' -> 'N. K.'."""
    return " ".join(f"{t}." if len(t) == 1 and t.isalpha() and t.isupper() else t for t in text.split())


def _is_particle(token: str) -> bool:
    return token in _PARTICLES or token in _CAPITAL_PARTICLES


def parse_name(text: str) -> Name:
    """One author as written, in any of the styles of the studies table, as a :class:`Name`."""
    s = re.sub(r"\s+", " ", _PAREN.sub("", text)).strip(" ,;")
    if not s:
        return Name()
    if re.fullmatch(r"et\.?\s+al\.?", s, re.IGNORECASE):
        return Name(kind="others")
    if _CORPORATE.search(s):
        return Name(last=s, kind="corporate")
    if "," in s:  # already "Last, First" (or "Last, First, Suffix" / "Last, Suffix, First")
        last, *rest = (p.strip() for p in s.split(","))
        suffix = next((p for p in rest if p in SUFFIXES), "")
        first = " ".join(p for p in rest if p and p != suffix)
        if first and all(_is_initials(t) for t in first.split()):
            first = _dotted(first)
        return Name(last=last, first=_given(first), suffix=suffix)
    tokens = s.split(" ")
    if len(tokens) == 1:
        return Name(last=s)
    # A suffix closes the name: "Charlie H Brown IV", "Brown CH Jr" (a roman numeral only after
    # two words, since "Brown IV" is Vancouver for initials I. V.).
    suffix = ""
    if tokens[-1] in SUFFIXES and (len(tokens) >= 3 or tokens[-1] in _WORD_SUFFIXES):
        tokens, suffix = tokens[:-1], tokens[-1]
    # Vancouver: "Surname [Surname...] INITIALS"; the surname part holds no lone initial.
    if len(tokens) >= 2 and _is_initials(tokens[-1]) and not any(_is_single_initial(t) for t in tokens[:-1]):
        return Name(last=" ".join(tokens[:-1]), first=_dotted(tokens[-1]), suffix=suffix)
    # Full name: "Given [Given...] [particles] Surname".
    start = len(tokens) - 1
    while start > 1 and _is_particle(tokens[start - 1]):
        start -= 1
    return Name(last=" ".join(tokens[start:]), first=_given(" ".join(tokens[:start])), suffix=suffix)


def _initials_only(item: str) -> bool:
    tokens = item.split()
    return bool(tokens) and all(_is_initials(t, most=3) for t in tokens) and "." in item


def _comma_list(segment: str) -> list[str]:
    """Authors of a comma-separated list; APA pairs "Kennedy, D. J." are put back together."""
    items = [i.strip() for i in segment.split(",") if i.strip()]
    out: list[str] = []
    for item in items:
        if out and _initials_only(item) and "," not in out[-1]:
            prev = parse_name(out[-1])
            if prev.kind == "person" and not prev.first:
                out[-1] = f"{out[-1]}, {item}"
                continue
        out.append(item)
    return out


def split_authors(authors: object) -> list[str]:
    """Authors as written, one string per author ("et al." kept as its own item, notes in brackets dropped).

    Semicolons separate authors when there are any; a semicolon part with one comma whose first
    half is a bare surname is one "Last, First" author ("Cash, Kimberly A."), otherwise commas
    separate authors.
    """
    text = str(authors) if _present(authors) else ""
    text = re.sub(r"\s+", " ", _PAREN.sub("", text)).strip()
    segments = [p.strip() for p in text.split(";")] if ";" in text else [text]
    out: list[str] = []
    for seg in segments:
        if not seg:
            continue
        et_al = bool(_ET_AL.search(seg))
        seg = _ET_AL.sub("", seg).strip(" ,")
        if ";" in text and seg.count(",") == 1:
            left, right = (p.strip() for p in seg.split(","))
            left_name = parse_name(left)
            if left_name.kind == "person" and not left_name.first and right:
                out.append(seg)
                if et_al:
                    out.append("et al.")
                continue
        out += _comma_list(seg)
        if et_al:
            out.append("et al.")
    return out


def parse_authors(authors: object) -> list[Name]:
    """The authors as :class:`Name` objects; "et al." becomes one trailing ``others``."""
    names = [parse_name(a) for a in split_authors(authors)]
    names = [n for n in names if n.kind == "others" or n.last]
    people = [n for n in names if n.kind != "others"]
    return [*people, Name(kind="others")] if len(people) < len(names) else people


def _authors_bibtex(authors: object) -> str:
    return " and ".join(n.bibtex() for n in parse_authors(authors))


# --------------------------------------------------------------------------- volume, issue, pages

_PAGE = r"[A-Za-z]{0,4}\d+[A-Za-z0-9]*"
_VOLUME_PAGES = re.compile(
    rf"""
    (?:(?P<year>\d{{4}})\s*;\s*)?                         # "2022;25:29-34"
    (?:
        (?P<volume>\d{{1,4}})?\s*                         # volume (a year may be one: "2025(2)")
        (?:\(\s*(?P<number>[^()]+?)\s*\))?                # (issue)
        (?:\s*:\s*(?P<first>{_PAGE})(?:\s*[-–—]\s*(?P<last>{_PAGE}))?)?   # :pages or :article
      | No\.?\s*(?P<no>\d+)\s*,\s*(?P<nofirst>{_PAGE})(?:\s*[-–—]\s*(?P<nolast>{_PAGE}))?  # "No. 1, 100011"
      | (?P<pfirst>{_PAGE})\s*[-–—]\s*(?P<plast>{_PAGE})  # pages alone: "4132-4136"
    )
    (?:\s*[;,.]\s*(?P<rest>\S.*))?                        # "; discussion 2206" stays a note
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class VolumePages:
    """``volume_pages`` split up; ``note`` holds whatever did not parse (possibly the whole text)."""

    volume: str = ""
    number: str = ""
    first_page: str = ""
    last_page: str = ""
    note: str = ""
    year: str = ""

    @property
    def pages(self) -> str:
        """BibTeX pages, an en-dash ``--`` between first and last page."""
        return f"{self.first_page}--{self.last_page}" if self.last_page else self.first_page


def _full_last_page(first: str, last: str) -> str:
    """An abbreviated last page written out: 1399-406 -> 1406, E61-74 -> E74, 11-6 -> 16."""
    fm = re.fullmatch(r"([A-Za-z]*)(\d+)", first)
    lm = re.fullmatch(r"([A-Za-z]*)(\d+)", last)
    if not fm or not lm or (lm.group(1) and lm.group(1) != fm.group(1)):
        return last
    prefix, fd = fm.groups()
    ld = lm.group(2)
    if len(ld) < len(fd):
        ld = fd[: len(fd) - len(ld)] + ld
        if int(ld) < int(fd):  # not an abbreviation after all: keep as written
            return last
    return prefix + ld


def parse_volume_pages(text: object) -> VolumePages:
    """Volume, issue and pages from "62(7):639-643", "104:1217", "13(4):E279-E292", "2022;25:29-34" ...

    Text that does not have that shape is returned whole as ``note``; text after a parsed
    part ("; discussion 2206") is the note. A bare number is a volume only up to four digits
    ("2022"); longer ones ("1155357", article numbers without a volume) stay a note.
    """
    s = re.sub(r"\s+", " ", str(text)).strip() if _present(text) else ""
    if not s:
        return VolumePages()
    m = _VOLUME_PAGES.fullmatch(s)
    if not m or not any(m.group(g) for g in ("volume", "number", "first", "no", "pfirst")):
        return VolumePages(note=s)
    first = m.group("first") or m.group("nofirst") or m.group("pfirst") or ""
    last = m.group("last") or m.group("nolast") or m.group("plast") or ""
    return VolumePages(
        volume=m.group("volume") or "",
        number=m.group("number") or m.group("no") or "",
        first_page=first,
        last_page=_full_last_page(first, last) if last else "",
        note=m.group("rest") or "",
        year=m.group("year") or "",
    )


def _volume_pages(r: object) -> VolumePages:
    vp = parse_volume_pages(getattr(r, "volume_pages", None))
    year = str(getattr(r, "year", "") or "")
    if vp.year and vp.year != year:  # a year in volume_pages other than the study's is kept
        note = f"{vp.year}; {vp.note}" if vp.note else vp.year
        vp = VolumePages(vp.volume, vp.number, vp.first_page, vp.last_page, note)
    return vp


# --------------------------------------------------------------------------- writers


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
        vp = _volume_pages(r)
        fields += [
            (k, _bib(v)) for k, v in (("volume", vp.volume), ("number", vp.number), ("pages", vp.pages)) if v
        ]
        if vp.note:
            fields.append(("note", _bib(vp.note)))
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
    """RIS records; AU as "Last, First[, Suffix]" ("et al." has no RIS form and is left out)."""
    records = []
    for r in studies.itertuples(index=False):
        kind = "JOUR"
        lines = [_ris_line("TY", kind), _ris_line("ID", r.study_id), _ris_line("TI", r.title)]
        lines += [_ris_line("AU", n.ris()) for n in parse_authors(r.authors) if n.kind != "others"]
        lines += [_ris_line("JO", r.journal), _ris_line("PY", r.year)]
        vp = _volume_pages(r)
        for tag, value in (("VL", vp.volume), ("IS", vp.number), ("SP", vp.first_page), ("EP", vp.last_page)):
            if value:
                lines.append(_ris_line(tag, value))
        if vp.note:
            lines.append(_ris_line("N1", vp.note))
        if _present(r.doi):
            lines.append(_ris_line("DO", r.doi))
        if _present(r.pmid):
            lines.append(_ris_line("AN", f"PMID:{r.pmid}"))
        lines.append("ER  - ")
        records.append("\n".join(lines))
    return "\n\n".join(records) + ("\n" if records else "")
