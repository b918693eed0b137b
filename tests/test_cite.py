"""Citations (issue 14): authors as BibTeX/RIS "Last, First" names, volume_pages as volume/number/pages."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from explorer.data import load
from explorer.data.cite import (
    SUFFIXES,
    bibtex,
    parse_authors,
    parse_name,
    parse_volume_pages,
    ris,
    split_authors,
)

from .conftest import DATA


def study(**fields: object) -> pd.DataFrame:
    row = {
        "study_id": "x2020",
        "title": "A trial",
        "authors": "Ackerman WE",
        "journal": "Pain",
        "year": 2020,
        "volume_pages": "",
        "doi": "",
        "pmid": "",
    }
    return pd.DataFrame([{**row, **fields}])


def bib_field(entry: str, name: str) -> str | None:
    m = re.search(rf"^  {name} = \{{(.*)\}},?$", entry, re.MULTILINE)
    return m.group(1) if m else None


def ris_tags(record: str, tag: str) -> list[str]:
    return [line[6:] for line in record.splitlines() if line.startswith(f"{tag}  - ")]


# --------------------------------------------------------------------------- one name


@pytest.mark.parametrize(
    ("written", "bib", "ris_au"),
    [
        # Vancouver "Surname Initials"
        ("Ackerman WE", "Ackerman, W. E.", "Ackerman, W. E."),
        ("Amin WAEN", "Amin, W. A. E. N.", "Amin, W. A. E. N."),
        ("Özçakır Ş", "Özçakır, Ş.", "Özçakır, Ş."),
        ("Tuakli-Wosornu YA", "Tuakli-Wosornu, Y. A.", "Tuakli-Wosornu, Y. A."),
        ("Alizadeh Ojoor A", "Alizadeh Ojoor, A.", "Alizadeh Ojoor, A."),
        ("El Boghdady E", "El Boghdady, E.", "El Boghdady, E."),
        ("van Santbrink H", "van Santbrink, H.", "van Santbrink, H."),
        ("van der Berg J", "van der Berg, J.", "van der Berg, J."),
        ("Den Oudsten BL", "Den Oudsten, B. L.", "Den Oudsten, B. L."),
        ("Du L", "Du, L.", "Du, L."),
        ("Lee J-H", "Lee, J.-H.", "Lee, J.-H."),
        ("Brown CH Jr", "Brown, Jr, C. H.", "Brown, C. H., Jr"),
        # full names "Given Surname"
        ("Koji Akeda", "Akeda, Koji", "Akeda, Koji"),
        ("Steven P. Cohen", "Cohen, Steven P.", "Cohen, Steven P."),
        ("Mark C Bicket", "Bicket, Mark C.", "Bicket, Mark C."),
        ("N K Arden", "Arden, N. K.", "Arden, N. K."),
        ("K. Daniel Riew", "Riew, K. Daniel", "Riew, K. Daniel"),
        ("Frank J E Falco", "Falco, Frank J. E.", "Falco, Frank J. E."),
        ("André St.-Pierre", "St.-Pierre, André", "St.-Pierre, André"),
        ("Giuseppina Di Giacomo", "Di Giacomo, Giuseppina", "Di Giacomo, Giuseppina"),
        ("Salvatore La Rosa", "La Rosa, Salvatore", "La Rosa, Salvatore"),
        ("Jan van der Berg", "van der Berg, Jan", "van der Berg, Jan"),
        ("Alaa Adel El Maadawy", "El Maadawy, Alaa Adel", "El Maadawy, Alaa Adel"),
        ("Øystein Nygaard", "Nygaard, Øystein", "Nygaard, Øystein"),
        ("Gevher Rabia Genç Perdecioğlu", "Perdecioğlu, Gevher Rabia Genç", "Perdecioğlu, Gevher Rabia Genç"),
        ("Charlie H Brown IV", "Brown, IV, Charlie H.", "Brown, Charlie H., IV"),
        # already "Last, First"
        ("Cash, Kimberly A.", "Cash, Kimberly A.", "Cash, Kimberly A."),
        ("Maadawy, Alaa-Eldin Adel El", "Maadawy, Alaa-Eldin Adel El", "Maadawy, Alaa-Eldin Adel El"),
        ("Kennedy, D. J.", "Kennedy, D. J.", "Kennedy, D. J."),
        ("Ackerman, WE", "Ackerman, W. E.", "Ackerman, W. E."),
        # a surname alone, a group
        ("Kim", "Kim", "Kim"),
        ("WEST Study Group", "{WEST Study Group}", "WEST Study Group"),
        ("RESPINE consortium", "{RESPINE consortium}", "RESPINE consortium"),
    ],
)
def test_one_name(written: str, bib: str, ris_au: str) -> None:
    name = parse_name(written)
    assert name.bibtex() == bib
    assert name.ris() == ris_au


def test_name_special_characters_escaped() -> None:
    assert parse_name("O_Brien & Co Group").bibtex() == r"{O\_Brien \& Co Group}"
    assert parse_name("Smith{x} J").bibtex() == r"Smith\{x\}, J."


# --------------------------------------------------------------------------- author lists


@pytest.mark.parametrize(
    ("written", "bib"),
    [
        ("Ackerman WE, Ahmad M", "Ackerman, W. E. and Ahmad, M."),
        ("Koji Akeda, Kohshi Ohishi", "Akeda, Koji and Ohishi, Kohshi"),
        ("Bates D, Vivian D, et al.", "Bates, D. and Vivian, D. and others"),
        ("Manchikanti L et al.", "Manchikanti, L. and others"),
        ("Bhatia et al.", "Bhatia and others"),
        (
            "Anuj Gupta, Harvinder Singh Chhabra, et al.",
            "Gupta, Anuj and Chhabra, Harvinder Singh and others",
        ),
        (
            "Fukusaki et al. (author list not printed on the stored page; first author per project brief)",
            "Fukusaki and others",
        ),
        ("Mayer (first-author surname from the project brief; author list not shown)", "Mayer"),
        (
            "Manchikanti, Laxmaiah; Singh, Vijay; Cash, Kimberly A.",
            "Manchikanti, Laxmaiah and Singh, Vijay and Cash, Kimberly A.",
        ),
        (
            "Pers YM, Soler-Rich R, Jorgensen C; RESPINE consortium",
            "Pers, Y. M. and Soler-Rich, R. and Jorgensen, C. and {RESPINE consortium}",
        ),
        (
            "N K Arden, C Price, WEST Study Group",
            "Arden, N. K. and Price, C. and {WEST Study Group}",
        ),
        (
            "Kennedy, D. J., Plastaras, C., Visco, C. J.",
            "Kennedy, D. J. and Plastaras, C. and Visco, C. J.",
        ),
        ("Kim, Lee, Lee, Kim, An", "Kim and Lee and Lee and Kim and An"),
        ("", ""),
    ],
)
def test_author_lists(written: str, bib: str) -> None:
    assert " and ".join(n.bibtex() for n in parse_authors(written)) == bib


def test_et_al_is_others_once_and_last() -> None:
    names = parse_authors("Smith J, et al.; Jones K et al.")
    assert [n.kind for n in names] == ["person", "person", "others"]


def test_split_authors_keeps_written_forms() -> None:
    assert split_authors("Cash, Kimberly A.; Pampati, Vidyasagar") == [
        "Cash, Kimberly A.",
        "Pampati, Vidyasagar",
    ]
    assert split_authors("Bush K, Hillier S") == ["Bush K", "Hillier S"]
    assert split_authors(None) == []


# --------------------------------------------------------------------------- bundled studies


def _top_level_commas(name: str) -> list[str]:
    depth, parts, cur = 0, [], ""
    for c in name:
        depth += c == "{"
        depth -= c == "}"
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    return [*parts, cur]


def _ends_in_initials(text: str) -> bool:
    words = text.split()
    return bool(words) and bool(re.fullmatch(r"[^\W\d_a-z]{1,4}", words[-1])) and words[-1].isupper()


def test_every_bundled_bibtex_author_is_last_comma_first() -> None:
    studies = load(DATA).studies
    out = bibtex(studies)
    entries = out.split("\n\n")
    assert len(entries) == len(studies)
    checked = 0
    for entry, written in zip(entries, studies["authors"], strict=True):
        field = bib_field(entry, "author")
        assert field, entry
        names = field.split(" and ")
        assert "others" not in names[:-1], entry
        items = split_authors(written)
        for name in names:
            checked += 1
            if name == "others" or (name.startswith("{") and name.endswith("}")):
                continue
            parts = [p.strip() for p in _top_level_commas(name)]
            if len(parts) == 1:
                # a surname alone: only when the source gives no given names or initials for it
                assert " " not in name and name in [i.strip() for i in items], (name, written)
                continue
            if len(parts) == 3:  # "Last, Jr, First"
                assert parts[1] in SUFFIXES, (name, written)
                parts = [parts[0], parts[2]]
            assert len(parts) == 2, (name, written)
            last, first = parts
            assert last and first, (name, written)
            assert not _ends_in_initials(last), (name, written)  # "Ackerman WE" left unparsed
            assert not re.search(r"\bet\.? al\b", name), (name, written)
            # initials are separated: "W. E.", never "WE"
            assert not any(len(w) > 1 and w.isupper() and w.isalpha() for w in first.split()), (name, written)
    assert checked > 900


def test_every_bundled_ris_author_is_last_comma_first() -> None:
    studies = load(DATA).studies
    for record in ris(studies).split("\n\n"):
        for au in ris_tags(record, "AU"):
            parts = [p.strip() for p in au.split(",")]
            assert "et al" not in au, record
            if len(parts) == 1:
                continue  # a surname alone or a group
            if len(parts) == 3:
                assert parts[2] in SUFFIXES, au
            assert parts[0] and parts[1] and not _ends_in_initials(parts[0]), au


def test_bundled_volume_pages_lose_nothing() -> None:
    """Every word of volume_pages comes out as volume, number, a page or the note."""
    for text in load(DATA).studies["volume_pages"].dropna():
        vp = parse_volume_pages(text)
        out = " ".join([vp.volume, vp.number, vp.first_page, vp.last_page, vp.note])
        for word in re.findall(r"[A-Za-z0-9]+", str(text)):
            assert word == "No" or word in out, (text, vp)
        if vp.note and not (vp.volume or vp.first_page or vp.number):
            assert vp.note == str(text).strip()


# --------------------------------------------------------------------------- volume and pages


@pytest.mark.parametrize(
    ("text", "volume", "number", "pages", "note"),
    [
        ("62(7):639-643", "62", "7", "639--643", ""),
        ("104:1217", "104", "", "1217", ""),
        ("11(2):304", "11", "2", "304", ""),
        ("13(4):E279-E292", "13", "4", "E279--E292", ""),
        ("343:d5278", "343", "", "d5278", ""),
        ("2022;25:29-34", "25", "", "29--34", ""),
        ("44(11):1399-406", "44", "11", "1399--1406", ""),
        ("27(1):11-6", "27", "1", "11--16", ""),
        ("17(1):E61-74", "17", "1", "E61--E74", ""),
        ("14(12):YC01-YC05", "14", "12", "YC01--YC05", ""),
        ("8(5):FSO794", "8", "5", "FSO794", ""),
        ("13:1759720X211028001", "13", "", "1759720X211028001", ""),
        ("2025(2):183-187", "2025", "2", "183--187", ""),
        ("15(2)", "15", "2", "", ""),
        ("8", "8", "", "", ""),
        ("(4):945-953", "", "4", "945--953", ""),
        ("(10):e33112", "", "10", "e33112", ""),
        ("4132-4136", "", "", "4132--4136", ""),
        ("No. 1, 100011", "", "1", "100011", ""),
        ("29(20):2199-205; discussion 2206", "29", "20", "2199--2205", "discussion 2206"),
        ("CD013577", "", "", "", "CD013577"),
        ("1155357", "", "", "", "1155357"),
        ("12(3):", "", "", "", "12(3):"),
        ("Suppl 2:S1-S5", "", "", "", "Suppl 2:S1-S5"),
        ("in press", "", "", "", "in press"),
    ],
)
def test_volume_pages_variants(text: str, volume: str, number: str, pages: str, note: str) -> None:
    vp = parse_volume_pages(text)
    assert (vp.volume, vp.number, vp.pages, vp.note) == (volume, number, pages, note)
    entry = bibtex(study(volume_pages=text, year=2022))
    assert bib_field(entry, "volume") == (volume or None)
    assert bib_field(entry, "number") == (number or None)
    assert bib_field(entry, "pages") == (pages or None)
    assert bib_field(entry, "note") == (note or None)
    record = ris(study(volume_pages=text, year=2022))
    first, _, last = pages.partition("--")
    assert ris_tags(record, "VL") == ([volume] if volume else [])
    assert ris_tags(record, "IS") == ([number] if number else [])
    assert ris_tags(record, "SP") == ([first] if first else [])
    assert ris_tags(record, "EP") == ([last] if last else [])
    assert ris_tags(record, "N1") == ([note] if note else [])


def test_year_prefix_other_than_the_studys_year_is_kept() -> None:
    entry = bibtex(study(volume_pages="2019;25:29-34", year=2020))
    assert bib_field(entry, "volume") == "25" and bib_field(entry, "note") == "2019"


def test_unparsed_note_escaped_and_empty_volume_pages_omitted() -> None:
    entry = bibtex(study(volume_pages="50% of {x}"))
    assert bib_field(entry, "note") == r"50\% of \{x\}"
    for empty in ("", None, float("nan")):
        entry = bibtex(study(volume_pages=empty))
        assert not any(bib_field(entry, f) for f in ("volume", "number", "pages", "note"))


def test_identifiers_unchanged() -> None:
    entry = bibtex(study(doi="10.1136/bmj.d5278", pmid="21990243", volume_pages="343:d5278"))
    assert bib_field(entry, "doi") == "10.1136/bmj.d5278" and bib_field(entry, "pmid") == "21990243"
    record = ris(study(doi="10.1136/bmj.d5278", pmid="21990243"))
    assert ris_tags(record, "DO") == ["10.1136/bmj.d5278"]
    assert ris_tags(record, "AN") == ["PMID:21990243"]
    assert ris_tags(record, "AU") == ["Ackerman, W. E."]
