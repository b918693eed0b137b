"""Plain-language summaries of the current selection, written from the numbers.

Meant for patients and a room: short sentences, pain on a 0-10 scale, what the numbers can and
cannot say. A therapy's paragraph (:func:`therapy_summary`) is written from the summary-of-findings
frame (:func:`explorer.analysis.findings.findings`): between-group estimates with their CIs,
trials that report only a direction or a p-value, published review estimates, and the notes of
trials that give no number, so that "reported without numbers" never reads as "no evidence".
"How sure" (:func:`explorer.analysis.certainty.how_sure`, re-exported here) is a rough guide
computed from the pool itself (its number of trials, participants, risk of bias, inconsistency
and imprecision); it is not a GRADE rating, and the page says so. Every function returns HTML-escaped text.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

from explorer.analysis.certainty import HOW_SURE_NOTE as HOW_SURE_NOTE  # re-exported: moved
from explorer.analysis.certainty import OPTIMAL_INFORMATION_SIZE as OPTIMAL_INFORMATION_SIZE
from explorer.analysis.certainty import how_sure as how_sure
from explorer.analysis.harmonise import MIC, MIC_SOURCE
from explorer.analysis.harms import wilson

WINDOW_WORDS = {
    "immediate": "in the first 2 weeks",
    "short": "up to 3 months",
    "intermediate": "at 3 to 12 months",
    "long": "at 12 months or later",
}
KIND_WORDS = {
    "placebo_sham": "placebo or sham",
    "active": "an active comparator",
    "conservative": "conservative care",
}


def _n(x: float) -> str:
    return f"{x:.1f}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def describe_pool(row: pd.Series | dict, unit: str = "points on 0-10") -> str:
    """One sentence for one pooled comparison; a one-trial result is described as one trial.
    ``row`` is a pool's row, as a Series or a dict (the findings table passes its records as they
    are, without building a Series for each)."""
    k = int(row["k"])
    kind = KIND_WORDS.get(str(row["comparator_kind"]), str(row["comparator_kind"]))
    when = WINDOW_WORDS.get(str(row.get("window", "")), "")
    what = "one trial" if k == 1 else f"a pool of {k} trials"
    ratio = str(row.get("measure", "")) in ("RR", "OR")
    if ratio:
        name = "risk ratio" if row["measure"] == "RR" else "odds ratio"
        est = f"{name} {row['exp_estimate']:.2f} (95% CI {row['exp_ci_lb']:.2f} to {row['exp_ci_ub']:.2f})"
    else:
        est = f"{_n(row['estimate'])} {unit} (95% CI {_n(row['ci_lb'])} to {_n(row['ci_ub'])})"
    return f"Compared with {kind} {when}, {what}: {est}.{two_trials_sentence(row, unit)}"


def two_trials_sentence(row: pd.Series | dict, unit: str = "points on 0-10") -> str:
    """Rule 'two-trials' in words (with a leading space), or '' for any other pool: why the
    interval is wide, and what the two trials say if they estimate one common effect."""
    if not bool(row.get("few_studies", False)) or int(row.get("k", 0) or 0) != 2:
        return ""
    ratio = str(row.get("measure", "")) in ("RR", "OR")
    pre = "exp_" if ratio else ""
    fe = [_float(row.get(f"{pre}fe_{c}")) for c in ("estimate", "ci_lb", "ci_ub")]
    wide = (
        "wider than either trial's own, so pooling adds no precision"
        if bool(row.get("wider_than_trials", False))
        else "wide"
    )
    out = (
        f" Two trials only: the random-effects interval allows for their true effects differing, "
        f"which two trials cannot estimate, and is {wide}"
    )
    if not any(np.isnan(fe)):
        digits = 2 if ratio else 1
        shown = " ".join(_num(x, digits) for x in fe[:1]) + ("" if ratio else f" {unit}")
        out += (
            f"; if both estimate one common effect, it is {shown} (95% CI {_num(fe[1], digits)} to "
            f"{_num(fe[2], digits)})"
        )
    return out + "."


#: Comparator classes in the order of the findings table; outcomes in the order a paragraph reads
#: them (the primary outcome pain, then function; a responder or surgery row only as
#: :func:`pick_rows` says).
KIND_ORDER = ("placebo_sham", "conservative", "active")
PRIMARY_OUTCOMES = ("pain", "function")
FALLBACK_OUTCOMES = ("responders", "surgery")
OUTCOME_WORDS = {"pain": "pain", "function": "function", "responders": "responders", "surgery": "surgery"}
UNIT_WORDS = {"pain": "points on a 0-10 scale", "function": "points on a 0-100 scale"}
EVENT_WORDS = {
    "any": "any adverse event",
    "serious_any": "any serious adverse event",
    "pain_flare": "pain flare",
    "nerve_injury": "nerve injury",
    "dural_puncture": "dural puncture",
    "vasovagal": "vasovagal reaction",
    "bleeding": "bleeding",
    "other": "other events",
}
RESPONDER_WORDS = {
    "pain_relief_50": "at least 50% pain relief",
    "pain_relief_30": "at least 30% pain relief",
    "pain_relief_75": "at least 75% pain relief",
    "complete_relief": "complete pain relief",
    "function_improvement_30": "at least 30% improvement in disability",
    "function_mic": "disability improved by at least its minimal important change",
    "composite_success": "at least 50% pain relief and 50% functional improvement",
    "global_rating": "a global rating of success",
    "other": "another definition",
}
WINDOW_RANK = {w: i for i, w in enumerate(WINDOW_WORDS)}
#: Readability limits of one paragraph (see :func:`therapy_summary`).
WINDOWS_PER_OUTCOME = 2
ROWS_PER_CLASS = 3
NAMES_SHOWN = 6
NOTES_SHOWN = 5
NOTE_CHARS = 200
#: Sentences of a study's notes that speak of its results (preferred when a note is shortened).
_RESULT_WORDS = re.compile(
    r"\bp\s*[=<>≤]|\bp[- ]?values?\b|significan|\bno (?:numbers?|values?|data)\b|without (?:numbers|values|data)"
    r"|differ|favou?r|improv|better|worse|benefit|effective|\bno effect|reduc|relief|superior|inferior|equivalent",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\sa-z])")


def _num(x: float, digits: int = 1) -> str:
    """A number as printed, never '-0.0'."""
    s = f"{float(x):.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def _pct(p: float) -> str:
    """A proportion as a percentage: two decimals below 1% (0.02% is not 0.0%), one above."""
    x = 100 * float(p)
    return "0" if x == 0 else (f"{x:.2f}" if x < 1 else f"{x:.1f}")


def _text(x: object) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA else str(x).strip()


def _float(x: object) -> float:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _int(x: object) -> int:
    v = _float(x)
    return 0 if np.isnan(v) else int(v)


def _labels(text: object) -> list[str]:
    """The study labels of a findings cell ('A 2010; B 2012'), each once, in order."""
    return list(dict.fromkeys(p.strip() for p in _text(text).split(";") if p.strip()))


def _names(text: object) -> str:
    labels = _labels(text)
    if len(labels) > NAMES_SHOWN:
        return ", ".join(labels[:NAMES_SHOWN]) + f" and {len(labels) - NAMES_SHOWN} more"
    return ", ".join(labels)


def _participants(n: object) -> str:
    v = _float(n)
    return "participant numbers not reported" if np.isnan(v) or v <= 0 else plural(round(v), "participant")


def _people(study_n: pd.Series) -> str:
    """Participants of a set of studies, saying where numbers are missing (never '0 participants')."""
    n = pd.to_numeric(study_n, errors="coerce")
    n = n.where(n > 0)
    if n.notna().sum() == 0:
        return "participant numbers not reported"
    total = plural(round(n.sum()), "participant")
    if n.notna().all():
        return total
    return f"{total}, reported by {int(n.notna().sum())} of {plural(len(n), 'study', 'studies')}"


def _when(window: object) -> str:
    w = _text(window)
    return WINDOW_WORDS.get(w, f"at follow-up '{w}'" if w else "at an unstated time")


def _what(row: pd.Series) -> str:
    """The outcome of a row in words: 'pain', 'responders (pain relief 50)'."""
    outcome = _text(row.get("outcome"))
    words = OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))
    rc = _text(row.get("responder_class"))
    return f"{words} ({RESPONDER_WORDS.get(rc, rc.replace('_', ' '))})" if rc else words


def _estimate(row: pd.Series) -> tuple[str, bool]:
    """The estimate with its 95% CI on its natural scale and what the interval says; and whether
    it is a difference (so the paragraph explains the sign once)."""
    outcome = _text(row.get("outcome"))
    measure = _text(row.get("measure")).upper()
    est, lb, ub = _float(row.get("estimate")), _float(row.get("ci_lb")), _float(row.get("ci_ub"))
    ratio = measure in ("RR", "OR")
    if ratio:
        name = "a risk ratio" if measure == "RR" else "an odds ratio"
        value = f"{name} of {_num(est, 2)}"
        null, digits = 1.0, 2
        more = "operations" if outcome == "surgery" else "responders"
        up, down = f"more {more} with the injection", f"fewer {more} with the injection"
    else:
        name = "a standardised mean difference" if measure == "SMD" else "a difference"
        unit = "standard deviations" if measure == "SMD" else UNIT_WORDS.get(outcome, "on the outcome's scale")
        value = f"{name} of {_num(est)} {unit}"
        null, digits = 0.0, 1
        up, down = "favouring the comparator", "favouring the injection"  # lower is better
    if np.isnan(lb) or np.isnan(ub):
        return f"{value} (95% CI not available)", not ratio
    ci = f"(95% CI {_num(lb, digits)} to {_num(ub, digits)})"
    if lb > null:
        says = up
    elif ub < null:
        says = down
    else:
        says = "an interval that includes no difference"
    return f"{value} {ci}, {says}", not ratio


def _directions(a: int, b: int, c: int, names: str, more: bool = False) -> str:
    """'N trials report only a direction: a favour the injection, b show no clear difference, c
    favour the comparator (names)'; one trial is one trial."""
    n = a + b + c
    named = f" ({names})" if names else ""
    if n == 1:
        how = "favouring the injection" if a else ("showing no clear difference" if b else "favouring the comparator")
        return f"{'one more trial' if more else 'one trial'} reports only a direction, {how}{named}"
    verb = {True: ("favours", "shows"), False: ("favour", "show")}
    return (
        f"{n}{' more' if more else ''} trials report only a direction: "
        f"{a} {verb[a == 1][0]} the injection, {b} {verb[b == 1][1]} no clear difference, "
        f"{c} {verb[c == 1][0]} the comparator{named}"
    )


def _row_text(row: pd.Series) -> tuple[str, bool]:
    """What one findings row shows, without its lead (comparison, outcome, window)."""
    k = _int(row.get("k"))
    a, b, c = (_int(row.get(f"direction_{d}")) for d in ("arm", "neither", "comparator"))
    names = _names(row.get("direction_studies"))
    if not k:
        return _directions(a, b, c, names), False
    who = "one trial" if k == 1 else f"{k} trials pooled"
    trials = _names(row.get("studies"))
    est, is_difference = _estimate(row)
    people = _participants(row.get("n_participants"))
    if np.isnan(_float(row.get("n_participants"))) and not np.isnan(_float(row.get("n_randomised"))):
        people = f"{plural(round(_float(row.get('n_randomised'))), 'participant')} randomised; analysed numbers not reported"
    text = f"{who} ({trials + '; ' if trials else ''}{people}) gives {est}"
    if a + b + c:
        text += "; " + _directions(a, b, c, names, more=True)
    return text, is_difference


def _one_per_window(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per window (the most trials, then participants, then direction reports), earliest first."""
    def col(name: str) -> pd.Series:
        return pd.to_numeric(rows[name], errors="coerce").fillna(0) if name in rows else pd.Series(0, index=rows.index)

    d = rows.assign(
        _w=rows["window"].map(WINDOW_RANK).fillna(len(WINDOW_RANK)),
        _k=col("k"),
        _n=col("n_participants"),
        _d=col("direction_arm") + col("direction_neither") + col("direction_comparator"),
    )
    d = d.sort_values(["_w", "_k", "_n", "_d"], ascending=[True, False, False, False], kind="stable")
    return d.drop_duplicates("window").drop(columns=["_w", "_k", "_n", "_d"])


def pick_rows(rows: pd.DataFrame) -> list[pd.Series]:
    """The rows of one therapy and comparator class a paragraph describes (the rule of
    :func:`therapy_summary`), in reading order."""
    picked: list[pd.Series] = []
    for outcome in PRIMARY_OUTCOMES:
        part = _one_per_window(rows[rows["outcome"] == outcome])
        numbered = part[pd.to_numeric(part["k"], errors="coerce").fillna(0) > 0]
        directions = part.drop(numbered.index)
        chosen: list[pd.Series] = []
        for pool in (numbered, directions):
            for cand in [pool.iloc[-1], pool.iloc[0]] if len(pool) else []:  # the longest, then the earliest
                if len(chosen) < WINDOWS_PER_OUTCOME and cand["window"] not in {r["window"] for r in chosen}:
                    chosen.append(cand)
        picked += sorted(chosen[: ROWS_PER_CLASS - len(picked)], key=_window_rank)
    if not any(_int(r.get("k")) for r in picked):
        # no pain or function estimate: the longest responder (else surgery) estimate takes the last place
        for outcome in FALLBACK_OUTCOMES:
            part = _one_per_window(rows[rows["outcome"] == outcome])
            part = part[pd.to_numeric(part["k"], errors="coerce").fillna(0) > 0]
            if len(part):
                picked = [*picked[: ROWS_PER_CLASS - 1], part.iloc[-1]]
                break
    if not picked:  # responders or surgery reported only as a direction
        for outcome in FALLBACK_OUTCOMES:
            part = _one_per_window(rows[rows["outcome"] == outcome])
            if len(part):
                picked = [part.iloc[-1]]
                break
    return picked


def _window_rank(row: pd.Series) -> int:
    return WINDOW_RANK.get(str(row["window"]), len(WINDOW_RANK))


def _note_excerpt(note: str) -> tuple[str, bool]:
    """A note shortened for the paragraph: its sentences about results when it has some (else its
    first sentence), cut at a word boundary near :data:`NOTE_CHARS`; and whether it speaks of results."""
    sentences = [s.strip() for s in _SENTENCE_END.split(" ".join(note.split())) if s.strip()]
    results = [s for s in sentences if _RESULT_WORDS.search(s)]
    text = " ".join(results or sentences[:1])
    if len(text) > NOTE_CHARS:
        cut = text[:NOTE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:(")
        text = cut + "…"
    return text.rstrip(" .;"), bool(results)


def _notes_text(ids: list[str], labels: dict[str, str], numbered: set[str], notes: pd.DataFrame | None) -> str:
    if notes is None or notes.empty or not ids:
        return ""
    nt = notes[notes["study_id"].isin(ids)].drop_duplicates("study_id")
    entries = []
    for r in nt.itertuples(index=False):
        label = _text(getattr(r, "label", "")) or labels.get(r.study_id, "") or str(r.study_id)
        note = _text(r.notes)
        if label in numbered or not note:
            continue
        text, about_results = _note_excerpt(note)
        entries.append((not about_results, label, text))
    if not entries:
        return ""
    entries.sort()
    shown = "; ".join(f"{label} — {text}" for _, label, text in entries[:NOTES_SHOWN])
    rest = len(entries) - NOTES_SHOWN
    more = f" Notes on {plural(rest, 'more trial')} without numbers are in the Studies tab." if rest > 0 else ""
    end = "" if shown.endswith("…") else "."
    return f"Reported without numbers: {shown}{end}{more}"


def _harms_text(hm: pd.DataFrame) -> str:
    if hm is None or hm.empty:
        return "No harms were counted per group in these studies' reports."
    bits = []
    for r in hm.to_dict("records"):
        events, total = _float(r.get("events")), _float(r.get("total"))
        if np.isnan(total) or total <= 0:
            continue
        lb, ub = _float(r.get("ci_lb")), _float(r.get("ci_ub"))
        if np.isnan(lb) or np.isnan(ub):
            lbs, ubs = wilson(np.array([events]), np.array([total]))
            lb, ub = float(lbs[0]), float(ubs[0])
        kind = _text(r.get("event_type"))
        unit = _text(r.get("unit")) or "participants"
        unit = unit[:-1] if round(total) == 1 and unit.endswith("s") else unit
        k = _int(r.get("reporting_studies"))
        where = f", {plural(k, 'study', 'studies')}" if k else ""
        upper = " (sub-types added: an upper bound)" if bool(r.get("overlap", False)) is True else ""
        bits.append(
            f"{EVENT_WORDS.get(kind, kind.replace('_', ' '))} {int(events)} of {round(total)} {unit} "
            f"({_pct(events / total)}%; 95% CI {_pct(lb)}-{_pct(ub)}%{where}){upper}"
        )
    if not bits:
        return "No harms were counted per group in these studies' reports."
    return "Harms counted per group: " + "; ".join(bits) + "."


def _changes_text(ch: pd.DataFrame) -> list[str]:
    """The within-group pain changes, phrased as before: they include natural recovery."""
    if ch.empty:
        return ["No pain scores on a common scale are available for its treated groups in this selection."]
    parts = []
    bits = []
    for window, words in WINDOW_WORDS.items():
        w = ch[ch["window"] == window]
        if len(w):
            g = w["series_id"].nunique()
            centre = f"{_n(-np.median(w['change']))} points" if g > 1 else f"{_n(-w['change'].iloc[0])} points"
            bits.append(f"{centre} {words} ({'median of ' + plural(g, 'group') if g > 1 else 'one group'})")
    if bits:
        parts.append(
            "In the treated groups, pain on a 0-10 scale fell by "
            + "; ".join(bits)
            + ". These are changes over time, which include natural recovery and placebo effects."
        )
    mic = MIC["pain"]
    lasting = [wd for wd in WINDOW_WORDS if len(ch[(ch["window"] == wd) & (ch["change"] <= -mic)])]
    if lasting:
        last = WINDOW_WORDS[lasting[-1]].replace("up to ", "").replace("in the first ", "the first ")
        parts.append(
            f"Falls of at least {mic:g} points (the minimal important change for a person, "
            f"{MIC_SOURCE}) were reported up to {last}."
        )
    return parts


#: where a paragraph may break into lines (see ``breaks`` of :func:`therapy_summary`)
BREAK = "\n"


def therapy_summary(
    therapy: str,
    label: str,
    studies: pd.DataFrame,
    findings: pd.DataFrame,
    harms: pd.DataFrame,
    notes: pd.DataFrame | None = None,
    changes: pd.DataFrame | None = None,
    breaks: bool = False,
) -> str:
    """One paragraph (HTML-escaped text) for one therapy in the current selection, written from
    the summary-of-findings frame so that it never sounds surer than its numbers.

    ``studies``: one row per study and therapy (columns study_id, therapy, design, study_n;
    label optional). ``findings``: :func:`explorer.analysis.findings.findings` filtered to the
    selection. ``harms``: :func:`explorer.analysis.harms.totals` rows (therapy, event_type, unit,
    events, total, ci_lb, ci_ub, reporting_studies, overlap). ``notes``: study_id, label, notes of
    the studies in the selection (optional). ``changes``: within-group pain changes (therapy,
    window, series_id, change); the old sentences about them are written only when given.

    The paragraph says, in order: the studies and participants; how many trials give
    between-group numbers and how many only a direction; per comparator class (placebo or sham,
    conservative care, an active comparator) what the comparisons show; the published review
    estimates of the class, each quoted once as given; how sure (:func:`how_sure`, for the
    described estimate of pain first, then function, responders, surgery, with the most trials);
    the notes of trials that give no number; the harms (events of total, the denominator counted
    once per study, with the Wilson 95% CI). With ``breaks``, a newline separates those parts (a
    reader's eye finds each comparator class; the dashboard shows one per line).

    Which rows a comparator class shows (so the paragraph stays readable):

    * outcomes: pain (the primary outcome), then function; at most :data:`WINDOWS_PER_OUTCOME`
      follow-up windows per outcome and :data:`ROWS_PER_CLASS` rows per class, so function gets
      what pain leaves;
    * windows of an outcome, in this order: the longest with an estimate, the earliest with an
      estimate, then the longest and the earliest with direction reports only; shown earliest
      first;
    * when no chosen row has an estimate, the longest responder (else surgery) estimate of the
      class takes the last place; a class with neither pain nor function rows shows its longest
      responder (else surgery) row.

    A row with an estimate gives it with its 95% CI on its natural scale (pain in points on 0-10,
    function in points on 0-100, ratios as ratios) and what the interval says, the trials ("one
    trial", never a pool of one) and the participants (or that they are not reported); its
    direction-only trials, and a row without an estimate, are counted by direction and named.
    Notes: of the therapy's studies that appear in no row with an estimate, up to
    :data:`NOTES_SHOWN` notes, those about results first, each cut to its sentences about results
    (else its first sentence) near :data:`NOTE_CHARS` characters; the rest are counted.
    """
    st = studies[studies["therapy"] == therapy].drop_duplicates("study_id")
    if st.empty:
        return ""
    rcts = int((st["design"] == "rct").sum()) if "design" in st else 0
    if len(st) == 1:
        randomised = "randomised" if rcts else "not randomised"
    else:
        randomised = "all randomised" if rcts == len(st) else ("none randomised" if not rcts else f"{rcts} randomised")
    people = _people(st["study_n"]) if "study_n" in st else "participant numbers not reported"
    parts = [f"{label}: {plural(len(st), 'study', 'studies')} ({randomised}), {people}."]
    if changes is not None:
        parts += _changes_text(changes[changes["therapy"] == therapy] if len(changes) else changes)

    f = findings if findings is not None else pd.DataFrame(columns=["therapy"])
    f = f[f["therapy"] == therapy] if len(f) else f
    k = pd.to_numeric(f["k"], errors="coerce").fillna(0) if len(f) else pd.Series(dtype=float)
    numbered = {s for cell in (f.loc[k > 0, "studies"] if len(f) else []) for s in _labels(cell)}
    voted = {s for cell in (f["direction_studies"] if len(f) else []) for s in _labels(cell)} - numbered
    if f.empty:
        parts.append(
            "No trial in this selection reports a comparison with a control group on pain, function, "
            "responders or surgery, with numbers or a direction."
        )
    else:
        only = f"{'reports' if len(voted) == 1 else 'report'} only a direction or a p-value"
        if numbered and voted:
            parts.append(
                f"Between-group numbers come from {plural(len(numbered), 'trial')}; "
                f"{plural(len(voted), 'more trial')} {only}."
            )
        elif numbered:
            parts.append(f"Between-group numbers come from {plural(len(numbered), 'trial')}.")
        else:
            parts.append(f"No trial gives between-group numbers; {plural(len(voted), 'trial')} {only}.")
    explained = False
    described: list[pd.Series] = []
    kinds = [c for c in KIND_ORDER if c in set(f.get("comparator_kind", []))]
    kinds += sorted({str(c) for c in f.get("comparator_kind", [])} - set(kinds))
    for kind in kinds:
        rows = f[f["comparator_kind"] == kind]
        picked = pick_rows(rows)
        for i, row in enumerate(picked):
            what = f"for {_what(row)} {_when(row['window'])}"
            lead = f"Versus {KIND_WORDS.get(kind, kind.replace('_', ' '))}, {what}" if i == 0 else "F" + what[1:]
            if i == 0:
                parts.append(BREAK)
            text, is_difference = _row_text(row)
            parts.append(f"{lead}, {text}.")
            if is_difference and not explained:
                parts.append("Differences are injection minus comparator: below 0 favours the injection.")
                explained = True
            described.append(row)
        reviews = rows[rows["outcome"].isin(PRIMARY_OUTCOMES)] if rows["outcome"].isin(PRIMARY_OUTCOMES).any() else rows
        quoted = list(dict.fromkeys(_text(r) for r in reviews.get("review", []) if _text(r)))
        for q in quoted:
            parts.append(
                f"Published pools, versus {KIND_WORDS.get(kind, kind)} (in the same convention: below 0 favours "
                f"the injection): {q.rstrip('.')}."
            )

    with_numbers = [r for r in described if _int(r.get("k"))]
    if not with_numbers and len(f):
        with_numbers = [r for _, r in f[k > 0].iterrows()]
    if with_numbers:
        order = {o: i for i, o in enumerate(PRIMARY_OUTCOMES + FALLBACK_OUTCOMES)}
        best = sorted(
            with_numbers,
            key=lambda r: (order.get(str(r["outcome"]), 9), -_int(r.get("k")), -np.nan_to_num(_float(r.get("n_participants")))),
        )[0]
        text = _text(best.get("how_sure_text")) or str(how_sure(best)["text"])
        about = f"{_what(best)} {_when(best['window'])} versus {KIND_WORDS.get(str(best['comparator_kind']), str(best['comparator_kind']))}"
        parts += [BREAK, f"How sure we are about {about}: {text}"]
    else:
        parts.append(BREAK)
        parts.append("How sure we are: no trial here gives a between-group estimate, so there is nothing to rate.")

    labels = dict(zip(st["study_id"], st["label"], strict=False)) if "label" in st else {}
    notes_text = _notes_text(list(st["study_id"]), labels, numbered, notes)
    if notes_text:
        parts += [BREAK, notes_text]
    hm = harms[harms["therapy"] == therapy] if harms is not None and len(harms) else None
    parts += [BREAK, _harms_text(hm)]
    text = " ".join(p for p in parts if breaks or p != BREAK)
    return html.escape(text.replace(f" {BREAK} ", "\n"))


def overall_summary(studies: pd.DataFrame, n_rows: int) -> str:
    """One sentence on the whole selection (HTML-escaped): studies, randomised trials,
    participants (or that they are not reported) and data points."""
    if studies.empty:
        return "No study matches this selection."
    uniq = studies.drop_duplicates("study_id")
    rcts = int((uniq["design"] == "rct").sum())
    people = _people(uniq["study_n"]) if "study_n" in uniq else "participant numbers not reported"
    return html.escape(
        f"This selection holds {plural(len(uniq), 'study', 'studies')} "
        f"({plural(rcts, 'randomised trial')}; {people}) and {plural(n_rows, 'data point')}."
    )
