"""What each contrast compares: the finer *comparison* beside the coarse comparator class.

Rule 'comparison' of :data:`explorer.analysis.comparability.RULES` in code. A contrast (an
intervention arm against a comparator arm) is compared with placebo/sham, conservative care, a
systemic drug, another therapy, or the same therapy in another form named by what differs
(approach, agent, dose, guidance, number of injections): the vocabulary of
``review_estimates.comparison_class``, so that our pools and the published ones line up.
Everything is read from the two arms' rows (data/arms.csv); nothing is guessed where they are
silent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from explorer.analysis.comparability import (
    COMPARISON_ORDER,
    SYSTEMIC_APPROACHES,
    UNCLASSIFIED_COMPARISON,
    comparator_class,
)

#: Output columns of :func:`comparisons` (besides the two arm ids and study_id).
COMPARISON_COLUMNS = ("comparison", "comparison_label", "differs")
#: Approaches that name no route (an arm coded so says nothing about the approach).
_UNSPECIFIED_APPROACH = frozenset({"not_reported", "not_applicable", "epidural_unspecified", ""})
#: Guidance values that name a guidance (the others say nothing about it).
_GUIDANCE = frozenset({"fluoroscopy", "ultrasound", "ct", "landmark"})
_APPROACH_WORDS = {
    "transforaminal": "transforaminal",
    "interlaminar": "interlaminar",
    "caudal": "caudal",
    "periradicular": "periradicular",
    "intraarticular": "intra-articular",
    "periarticular": "periarticular",
    "medial_branch": "medial branch",
    "intradiscal": "intradiscal",
}
_GUIDANCE_WORDS = {
    "fluoroscopy": "fluoroscopy",
    "ultrasound": "ultrasound",
    "ct": "CT",
    "landmark": "landmark",
}
_THERAPY_WORDS = {
    "epidural_steroid": "epidural steroid",
    "nerve_root_block": "nerve root block",
    "facet_intraarticular": "facet joint injection",
    "medial_branch_block": "medial branch block",
    "sacroiliac": "sacroiliac joint injection",
    "prp": "PRP",
    "msc": "MSC",
    "bmc": "BMC",
    "local_anaesthetic": "local anaesthetic",
    "saline": "saline",
    "sham": "sham",
    "intramuscular_steroid": "intramuscular steroid",
    "conservative": "conservative care",
}
_AGENT_WORDS = {
    "corticosteroid": "steroid",
    "local_anaesthetic": "local anaesthetic",
    "saline": "saline",
    "contrast": "contrast",
    "prp": "PRP",
    "msc": "MSC",
    "bmc": "BMC",
    "hyaluronic_acid": "hyaluronic acid",
    "oral_drug": "oral drug",
}
#: Approach variants a label or agent text may name where the coded approach is the same (or
#: not coded): word pattern -> the word used in the comparison's label.
APPROACH_VARIANTS = {
    r"parasagittal|paramedian": "parasagittal",
    r"midline": "midline",
    r"kambin": "Kambin triangle",
    r"supraneural|safe triangle": "supraneural",
    r"infraneural": "infraneural",
    r"preganglionic": "preganglionic",
    r"(?<!pre)ganglionic": "ganglionic",
    r"posteroanterior": "posteroanterior",
    r"oblique": "oblique",
    r"endoscop\w*|epiduroscop\w*": "endoscopic",
    r"caudal": "caudal",
    r"transforaminal": "transforaminal",
    r"interlaminar": "interlaminar",
}
#: Named corticosteroids (rule 'comparison': agent and dose are read only from named drugs).
STEROIDS = (
    "dexamethasone",
    "betamethasone",
    "triamcinolone",
    "methylprednisolone",
    "hydrocortisone",
    "prednisolone",
)
#: Other agents a label or agent text may name (pattern -> name): added to an injection, or in
#: place of it.
NAMED_AGENTS = {
    r"ketamine": "ketamine",
    r"dexmedetomidine": "dexmedetomidine",
    r"magnesium": "magnesium",
    r"hyaluronidase": "hyaluronidase",
    r"clonidine": "clonidine",
    r"ozone|o2-o3": "ozone",
    r"etanercept": "etanercept",
    r"midazolam": "midazolam",
    r"dextrose|prolotherapy": "dextrose prolotherapy",
    r"methylene blue": "methylene blue",
    r"pulsed radiofrequency": "pulsed radiofrequency",
    r"(?<!pulsed )radiofrequency|\brf\b": "radiofrequency",
    r"laser": "laser",
    r"neuroplasty|adhesiolysis": "epidural neuroplasty",
    r"discectomy|surgery|surgical": "surgery",
    r"gabapentin": "gabapentin",
    r"nsaid|diclofenac": "NSAID",
    r"platelet-rich fibrin|\bprf\b": "platelet-rich fibrin",
}
_PARTICULATE = (r"non-?particulate", r"(?<!non)(?<!non-)particulate")


def _text(arm: Mapping) -> str:
    return " ".join(str(arm.get(c) or "") for c in ("arm_label", "agent_detail")).lower()


def _s(x: object) -> str:
    return "" if x is None or (isinstance(x, float) and x != x) or x is pd.NA else str(x).strip()


def _found(patterns, text: str) -> list[str]:
    return list(dict.fromkeys(name for pat, name in patterns.items() if re.search(pat, text)))


def _steroids(text: str) -> list[str]:
    return [s for s in STEROIDS if re.search(rf"(?<!methyl){s}", text)]


def _doses(text: str) -> dict[str, str]:
    """Printed doses of named steroids: 'triamcinolone 40 mg' -> {'triamcinolone': '40 mg'}."""
    out = {}
    for s in STEROIDS:
        m = re.search(rf"(?<!methyl){s}(?: \w+)? (\d+(?:\.\d+)?) ?mg\b(?!/)", text)
        if m:
            out[s] = f"{m.group(1)} mg"
    return out


def _word(arm: Mapping, prefer_agent: bool) -> str:
    """A short name of what an arm gives (the label's words)."""
    agent, therapy = _s(arm.get("agent_class")), _s(arm.get("therapy"))
    named = _found(NAMED_AGENTS, _text(arm))
    by_agent = _AGENT_WORDS.get(agent)
    by_therapy = _THERAPY_WORDS.get(therapy)
    if prefer_agent and by_agent:
        return by_agent
    if by_therapy and not (therapy == "conservative" and named):
        return by_therapy
    if named:
        return " + ".join(named[:2])
    return by_agent or _s(arm.get("arm_label")) or "another therapy"


def _placebo_word(arm: Mapping) -> str:
    therapy = _s(arm.get("therapy"))
    return {"local_anaesthetic": "local anaesthetic", "saline": "saline", "sham": "sham"}.get(
        therapy, "placebo"
    )


def _other_label(arm: Mapping, comp: Mapping) -> str:
    """'PRP vs steroid': agent words where both arms' agents have one, else therapy words where
    both therapies have one, else each arm's own best word."""
    ga, gc = _s(arm.get("agent_class")), _s(comp.get("agent_class"))
    if ga in _AGENT_WORDS and gc in _AGENT_WORDS and _AGENT_WORDS[ga] != _AGENT_WORDS[gc]:
        return f"{_AGENT_WORDS[ga]} vs {_AGENT_WORDS[gc]}"
    ta, tc = _s(arm.get("therapy")), _s(comp.get("therapy"))
    if ta in _THERAPY_WORDS and tc in _THERAPY_WORDS:
        return f"{_THERAPY_WORDS[ta]} vs {_THERAPY_WORDS[tc]}"
    return f"{_word(arm, True)} vs {_word(comp, True)}"


def _differences(arm: Mapping, comp: Mapping) -> dict[str, str]:
    """Every way two arms of the same therapy differ, in :data:`COMPARISON_ORDER`, each with its
    label ('transforaminal vs interlaminar'). Only what both rows record counts."""
    out: dict[str, str] = {}
    ta, tc = _text(arm), _text(comp)
    # approach: coded approaches, else the variants their texts name
    a, c = _s(arm.get("approach")), _s(comp.get("approach"))
    if a not in _UNSPECIFIED_APPROACH and c not in _UNSPECIFIED_APPROACH and a != c:
        out["approach"] = f"{_APPROACH_WORDS.get(a, a)} vs {_APPROACH_WORDS.get(c, c)}"
    else:
        va, vc = _found(APPROACH_VARIANTS, ta), _found(APPROACH_VARIANTS, tc)
        only_a, only_c = [v for v in va if v not in vc], [v for v in vc if v not in va]
        if only_a and only_c:
            out["approach"] = f"{' '.join(only_a)} vs {' '.join(only_c)}"
    # agent: the agent class, else named steroids, else an agent named on one side only
    ga, gc = _s(arm.get("agent_class")), _s(comp.get("agent_class"))
    sa, sc = _steroids(ta), _steroids(tc)
    na, nc = _found(NAMED_AGENTS, ta), _found(NAMED_AGENTS, tc)
    if ga != gc and ga not in ("", "other", "none") and gc not in ("", "other", "none"):
        out["agent"] = f"{_AGENT_WORDS.get(ga, ga)} vs {_AGENT_WORDS.get(gc, gc)}"
    elif sa and sc and set(sa) != set(sc):
        label = f"{' + '.join(sa)} vs {' + '.join(sc)}"
        pa = [p for p in _PARTICULATE if re.search(p, ta)]
        pc = [p for p in _PARTICULATE if re.search(p, tc)]
        if len(pa) == 1 and len(pc) == 1 and pa != pc:
            label += (
                " (non-particulate vs particulate)"
                if pa[0] == _PARTICULATE[0]
                else " (particulate vs non-particulate)"
            )
        out["agent"] = label
    elif set(na) != set(nc):
        only_a, only_c = [x for x in na if x not in nc], [x for x in nc if x not in na]
        if only_a and only_c:
            out["agent"] = f"{' + '.join(only_a)} vs {' + '.join(only_c)}"
        else:
            extra = " + ".join(only_a or only_c)
            out["agent"] = f"with {extra} vs without" if only_a else f"without {extra} vs with"
    # dose: the same named steroid at two printed doses
    if "agent" not in out and sa and set(sa) == set(sc):
        da, dc = _doses(ta), _doses(tc)
        diff = [s for s in sa if s in da and s in dc and da[s] != dc[s]]
        if diff:
            out["dose"] = "; ".join(f"{s} {da[s]} vs {dc[s]}" for s in diff)
    # guidance: both named
    a, c = _s(arm.get("guidance")), _s(comp.get("guidance"))
    if a in _GUIDANCE and c in _GUIDANCE and a != c:
        out["guidance"] = f"{_GUIDANCE_WORDS[a]} vs {_GUIDANCE_WORDS[c]}"
    # injections: both printed and different
    a, c = _s(arm.get("n_injections")), _s(comp.get("n_injections"))
    if a and c and a != c:
        out["injections"] = f"injections: {a} vs {c}"
    return out


def comparison_of(
    arm: Mapping, comparator: Mapping, comparator_kind: str | None = None
) -> tuple[str, str, str]:
    """(comparison, comparison_label, differs) of the contrast ``arm`` vs ``comparator`` (two
    rows of data/arms.csv, as mappings), by rule 'comparison'.

    ``comparator_kind`` is the comparator's class under the definition in use (default: the
    row's own ``comparator_kind``). ``differs`` lists, '; '-separated in
    :data:`~explorer.analysis.comparability.COMPARISON_ORDER`, every way the two arms differ
    where the comparator is an active injection ('therapy' first where the therapies differ);
    the comparison is the first of them.
    """
    kind = _s(comparator_kind if comparator_kind is not None else comparator.get("comparator_kind"))
    me = _word(arm, prefer_agent=False)
    if kind == "placebo_sham":
        return "placebo_sham", f"{_word(arm, True)} vs {_placebo_word(comparator)}", ""
    if kind == "conservative":
        return "conservative", f"{me} vs conservative care", ""
    if kind != "active":
        return "", "", ""
    t_a, t_c = _s(arm.get("therapy")), _s(comparator.get("therapy"))
    if (
        _s(comparator.get("approach")) in SYSTEMIC_APPROACHES
        or t_c == "intramuscular_steroid"
        or _s(comparator.get("agent_class")) == "oral_drug"
    ):
        return "systemic_drug", f"{me} vs {_word(comparator, False)}", ""
    diffs = _differences(arm, comparator)
    moved = _s(comparator.get("comparator_kind")) == "placebo_sham"  # strict: a placebo made active
    if moved:
        if _s(comparator.get("agent_class")) == "local_anaesthetic":
            what = "local anaesthetic alone"
        elif str(comparator.get("local_anaesthetic_added")).lower() == "true":
            what = f"{_placebo_word(comparator)} with local anaesthetic"
        else:
            what = f"{_placebo_word(comparator)} (not known to be inert)"
        diffs = {"agent": f"{_word(arm, True)} vs {what}", **{k: v for k, v in diffs.items() if k != "agent"}}
        order = [k for k in COMPARISON_ORDER if k in diffs]
        return "agent", diffs["agent"], "; ".join(order)
    if t_a != t_c or t_a == "other":
        order = ["therapy", *[k for k in COMPARISON_ORDER if k in diffs and k != "agent"]]
        return "other_therapy", _other_label(arm, comparator), "; ".join(order)
    order = [k for k in COMPARISON_ORDER if k in diffs]
    if not order:
        return UNCLASSIFIED_COMPARISON, f"{me}: two forms (what differs is not recorded in the arms)", ""
    return order[0], diffs[order[0]], "; ".join(order)


def comparisons(arms: pd.DataFrame, definition: str = "cochrane") -> pd.DataFrame:
    """The comparison of every ordered pair of arms of a study whose second arm is a comparator
    (under ``definition``, as :func:`~explorer.analysis.comparability.comparator_class`):
    study_id, arm_id, comparator_arm_id and :data:`COMPARISON_COLUMNS`."""
    cols = ["study_id", "arm_id", "comparator_arm_id", *COMPARISON_COLUMNS]
    if arms.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    a = arms.assign(_class=comparator_class(arms, definition))
    recs = a.to_dict("records")
    by_study: dict[str, list[dict]] = {}
    for r in recs:
        by_study.setdefault(r["study_id"], []).append(r)
    rows = []
    for sid, group in by_study.items():
        for c in group:
            if not _s(c["_class"]):
                continue
            for i in group:
                if i["arm_id"] == c["arm_id"]:
                    continue
                rows.append((sid, i["arm_id"], c["arm_id"], *comparison_of(i, c, c["_class"])))
    return pd.DataFrame(rows, columns=cols)
