"""A study card: one publication with its arms and every number the data hold for it, each with
its locator, and links to the paper. Pure: the evidence tables in, escaped HTML out."""

from __future__ import annotations

import html

import pandas as pd

NUMBER_COLUMNS = ("n", "mean", "sd", "se", "ci_lb", "ci_ub", "median", "q1", "q3", "events", "total", "percent", "p_value")


def _e(x: object) -> str:
    if x is None or (isinstance(x, float) and pd.isna(x)) or x is pd.NA:
        return ""
    return html.escape(str(x))


def _value(r: pd.Series) -> str:
    parts = []
    for c in NUMBER_COLUMNS:
        v = r.get(c)
        if v is None or pd.isna(v):
            continue
        text = f"{v:g}" if isinstance(v, float) else str(v)
        if c == "p_value":
            text = f"p {r.get('p_operator') or '='} {text}"
        elif c in ("ci_lb", "ci_ub"):
            continue
        else:
            text = f"{c} {text}"
        parts.append(text)
    if pd.notna(r.get("ci_lb")) and pd.notna(r.get("ci_ub")):
        level = r.get("ci_level")
        parts.append(f"{'' if pd.isna(level) else f'{level:g}% '}CI {r['ci_lb']:g} to {r['ci_ub']:g}")
    if isinstance(r.get("favours"), str) and r["favours"]:
        parts.append(f"favours {r['favours']}")
    return "; ".join(parts) or "(no number)"


def study_card_html(study_id: str, studies: pd.DataFrame, arms: pd.DataFrame, outcomes: pd.DataFrame,
                    labels: dict[str, dict[str, str]] | None = None) -> str:  # fmt: skip
    """``labels`` maps a column to {code: label} (therapy, design, risk_of_bias, ...)."""
    labels = labels or {}
    s = studies[studies["study_id"] == study_id]
    if s.empty:
        return "<p>No such study.</p>"
    r = s.iloc[0]

    def lab(col: str, code: object) -> str:
        return _e(labels.get(col, {}).get(code, code))

    links = []
    if isinstance(r["doi"], str) and r["doi"]:
        links.append(f"<a href='https://doi.org/{html.escape(r['doi'], quote=True)}' target='_blank' rel='noopener'>DOI {_e(r['doi'])}</a>")
    if isinstance(r["pmid"], str) and r["pmid"]:
        links.append(f"<a href='https://pubmed.ncbi.nlm.nih.gov/{html.escape(r['pmid'], quote=True)}/' target='_blank' rel='noopener'>PubMed {_e(r['pmid'])}</a>")
    a = arms[arms["study_id"] == study_id]
    arm_rows = "".join(
        f"<tr><td>{_e(x.arm_label)}</td><td>{lab('therapy', x.therapy)}</td><td>{_e(x.role)}</td>"
        f"<td>{_e(x.n_randomised)}</td><td>{_e(x.agent_detail)}</td></tr>"
        for x in a.itertuples(index=False)
    )
    o = outcomes[outcomes["study_id"] == study_id]
    arm_names = dict(zip(a["arm_id"], a["arm_label"], strict=True))
    out_rows = "".join(
        f"<tr><td>{_e(arm_names.get(x['arm_id'], x['arm_id']))}"
        + (f" vs {_e(arm_names.get(x['comparator_arm_id'], x['comparator_arm_id']))}" if isinstance(x["comparator_arm_id"], str) else "")
        + f"</td><td>{_e(x['domain'])} ({_e(x['instrument'])})</td><td>{_e(x['time_value'])} {_e(x['time_unit'])}</td>"
        f"<td>{_e(x['measure'])}</td><td>{_e(_value(x))}</td><td>{_e(x['locator'])}</td><td>{_e(x['notes'])}</td></tr>"
        for _, x in o.iterrows()
    )
    return (
        "<div class='explorer-card'>"
        f"<h3 style='margin:0.2em 0'>{_e(r['label'])}: {_e(r['title'])}</h3>"
        f"<p>{_e(r['authors'])}. <i>{_e(r['journal'])}</i> {_e(r['year'])};{_e(r['volume_pages'])}. {' · '.join(links)}</p>"
        f"<p>{lab('design', r['design'])}, blinding {lab('blinding', r['blinding'])}; {lab('indication', r['indication'])}; "
        f"n = {_e(r['n_randomised'])}; risk of bias: {lab('risk_of_bias', r['risk_of_bias'])}. "
        f"Read at: {_e(r['source_locator'])}.</p>"
        f"<p class='explorer-muted'>{_e(r['notes'])}</p>"
        "<table class='explorer-table'><caption>Arms</caption><thead><tr><th>Arm</th><th>Therapy</th><th>Role</th>"
        f"<th>n</th><th>Agent</th></tr></thead><tbody>{arm_rows}</tbody></table>"
        "<table class='explorer-table'><caption>Every number in the data, with where it was read</caption><thead><tr>"
        "<th>Arm</th><th>Outcome</th><th>Time</th><th>Measure</th><th>Value</th><th>Where</th><th>Notes</th></tr></thead>"
        f"<tbody>{out_rows}</tbody></table></div>"
    )
