"""From the evidence tables to effect sizes (``yi``, ``vi``) and pooled estimates per group.

One vocabulary through every layer, as in metafor: :func:`effects` is our ``escalc`` over the
data package, :func:`pool` our ``rma`` per group.

Which numbers become an effect (for each study, arm pair, time and outcome), best first:

1. a between-group mean difference the paper reports (model-adjusted, then of changes, then of
   final values), with its SE or 95% CI;
2. a difference computed from the two arms' reported changes from baseline;
3. a difference computed from the two arms' values at follow-up.

Contrasts are oriented intervention minus comparator; a contrast between two comparator arms is
not an effect of any therapy and is left out. Single-arm studies give within-arm changes
(``effect_kind='within_arm'``), which are never pooled with controlled contrasts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from explorer.analysis import effect_sizes as es
from explorer.analysis.harmonise import OUTCOMES, harmonise, keep_one_pain_domain
from explorer.analysis.pooling import pool_frame
from explorer.analysis.windows import DEFAULT_WINDOWS, Window, assign_windows, to_weeks
from explorer.data.load import Evidence

CONTINUOUS_MEASURES = ("MD", "SMD")
BINARY_MEASURES = ("RR", "OR", "RD")
BINARY_OUTCOMES = {"responders": ("responders",), "surgery": ("surgery",)}
#: Columns that make two effects "alike": pool() always groups by them.
ALIKE = ("outcome", "measure", "effect_kind", "comparator_kind")
SOURCE_RANK = {
    "reported MD (adjusted)": 0,
    "reported MD (of changes)": 1,
    "reported MD (of final values)": 2,
    "arms' changes": 3,
    "arms' final values": 4,
    "arms' counts": 0,
    "within-arm change": 0,
}
EFFECT_COLUMNS = [
    "study_id",
    "label",
    "cohort",
    "year",
    "design",
    "indication",
    "risk_of_bias",
    "arm_id",
    "comparator_arm_id",
    "arm_label",
    "comparator_label",
    "therapy",
    "approach",
    "guidance",
    "comparator_therapy",
    "comparator_kind",
    "placebo_is_active",
    "outcome",
    "domain",
    "instrument",
    "time_weeks",
    "window",
    "effect_kind",
    "measure",
    "source",
    "yi",
    "vi",
    "n1",
    "n2",
    "approximate",
    "locator",
]


def _context(ev: Evidence, rows: pd.DataFrame) -> pd.DataFrame:
    studies = ev.studies[["study_id", "label", "year", "design", "indication", "risk_of_bias", "parent_id"]]
    rows = rows.merge(studies, on="study_id", how="left")
    rows["cohort"] = rows["parent_id"].fillna(rows["study_id"])
    arms = ev.arms[
        [
            "study_id",
            "arm_id",
            "arm_label",
            "therapy",
            "approach",
            "guidance",
            "role",
            "comparator_kind",
            "placebo_is_active",
            "n_randomised",
        ]
    ]
    rows = rows.merge(arms, on=["study_id", "arm_id"], how="left")
    comp = arms.rename(columns={c: f"c_{c}" for c in arms.columns if c not in ("study_id",)})
    comp = comp.rename(columns={"c_arm_id": "comparator_arm_id"})
    return rows.merge(comp, on=["study_id", "comparator_arm_id"], how="left")


def _continuous_rows(ev: Evidence, outcome: str) -> pd.DataFrame:
    _, domains, top = OUTCOMES[outcome]
    o = ev.outcomes
    o = o[
        o["domain"].isin(domains)
        & o["scale_max"].notna()
        & o["measure"].isin(["final", "change", "improvement", "mean_difference"])
    ]
    o = o[o["time_value"] > 0].copy()
    if o.empty:
        return o
    o = o.merge(ev.studies[["study_id", "indication"]], on="study_id", how="left")
    if len(domains) > 1:  # one pain domain per study, as in the arm series
        o = keep_one_pain_domain(o)
    o = o.drop(columns=["indication"]).reset_index(drop=True)
    h = harmonise(o, top)
    o = o.drop(columns=["mean", "sd", "se", "ci_lb", "ci_ub", "n"]).join(h)
    o["time_weeks"] = to_weeks(o["time_value"], o["time_unit"])
    return o


def _reported_contrasts(o: pd.DataFrame) -> pd.DataFrame:
    md = o[o["measure"] == "mean_difference"].copy()
    if md.empty:
        return md
    md["yi"] = md["value"]
    md["vi"] = md["se"] ** 2
    md["source"] = (
        "reported MD ("
        + md["contrast_basis"].map(
            {"adjusted": "adjusted", "change": "of changes", "final": "of final values"}
        )
        + ")"
    )
    md["n1"] = np.nan
    md["n2"] = np.nan
    return md


def _arm_pairs(o: pd.DataFrame, kinds: Sequence[str], arms: pd.DataFrame) -> pd.DataFrame:
    """All (arm, other arm) pairs of one study at the same time, outcome row kind and instrument."""
    a = o[o["measure"].isin(kinds)].merge(arms[["study_id", "arm_id", "role"]], on=["study_id", "arm_id"])
    keys = ["study_id", "domain", "instrument", "time_value", "time_unit"]
    pairs = a.merge(a, on=keys, suffixes=("", "_c"))
    pairs = pairs[
        (pairs["arm_id"] != pairs["arm_id_c"])
        & (pairs["role"] == "intervention")
        & (pairs["role_c"] == "comparator")
    ]
    return pairs


def _computed_contrasts(o: pd.DataFrame, arms: pd.DataFrame, measure: str) -> pd.DataFrame:
    out = []
    for kinds, source in ((("change", "improvement"), "arms' changes"), (("final",), "arms' final values")):
        p = _arm_pairs(o, kinds, arms)
        if p.empty:
            continue
        p = p.copy()
        p["comparator_arm_id"] = p["arm_id_c"]
        if measure == "MD":
            p["yi"] = p["value"] - p["value_c"]
            p["vi"] = p["se"] ** 2 + p["se_c"] ** 2
        else:  # SMD needs each arm's SD (harmonised scale; the SMD is scale free)
            sd1 = p["sd"].where(p["sd"].notna(), p["se"] * np.sqrt(p["n"]))
            sd2 = p["sd_c"].where(p["sd_c"].notna(), p["se_c"] * np.sqrt(p["n_c"]))
            ok = sd1.notna() & sd2.notna() & p["n"].gt(1) & p["n_c"].gt(1)
            p = p[ok]
            yi, vi = es.standardized_mean_difference(
                p["value"], sd1[ok], p["n"], p["value_c"], sd2[ok], p["n_c"]
            )
            p["yi"], p["vi"] = yi, vi
        p["n1"], p["n2"] = p["n"], p["n_c"]
        p["approximate"] = p["approximate"] | p["approximate_c"]
        p["source"] = source
        extra = ["comparator_arm_id", "yi", "vi", "n1", "n2", "source"]
        out.append(p[[c for c in o.columns if c in p.columns and c not in extra] + extra])
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _within_arm(o: pd.DataFrame, arms: pd.DataFrame) -> pd.DataFrame:
    single = arms.loc[arms["role"] == "single", ["study_id", "arm_id"]]
    ch = o[o["measure"].isin(["change", "improvement"])].merge(single, on=["study_id", "arm_id"])
    if ch.empty:
        return ch
    ch = ch.copy()
    ch["yi"], ch["vi"] = ch["value"], ch["se"] ** 2
    ch["n1"], ch["n2"] = ch["n"], np.nan
    ch["source"] = "within-arm change"
    ch["comparator_arm_id"] = pd.NA
    return ch


def _binary(ev: Evidence, outcome: str, measure: str) -> pd.DataFrame:
    o = ev.outcomes
    o = o[
        o["domain"].isin(BINARY_OUTCOMES[outcome])
        & o["events"].notna()
        & o["total"].notna()
        & (o["time_value"] > 0)
    ].copy()
    if o.empty:
        return o
    o["time_weeks"] = to_weeks(o["time_value"], o["time_unit"])
    o["approximate"] = False
    o["responder_definition"] = o["responder_definition"].fillna("")
    p = o.merge(ev.arms[["study_id", "arm_id", "role"]], on=["study_id", "arm_id"])
    keys = ["study_id", "domain", "instrument", "responder_definition", "time_value", "time_unit"]
    p = p.merge(p, on=keys, suffixes=("", "_c"))
    p = p[(p["role"] == "intervention") & (p["role_c"] == "comparator")].copy()
    if p.empty:
        return p
    fn = {"RR": es.log_risk_ratio, "OR": es.log_odds_ratio, "RD": es.risk_difference}[measure]
    p["yi"], p["vi"] = fn(p["events"], p["total"], p["events_c"], p["total_c"])
    p["n1"], p["n2"] = p["total"], p["total_c"]
    p["comparator_arm_id"] = p["arm_id_c"]
    p["source"] = "arms' counts"
    return p


def effects(
    ev: Evidence,
    outcome: str = "pain",
    measure: str = "MD",
    windows: tuple[Window, ...] = DEFAULT_WINDOWS,
) -> pd.DataFrame:
    """Tidy effect sizes: one row per study contrast (or single-arm change) and follow-up time.

    ``measure`` is ``MD`` (on the outcome's common scale: points on 0-10 for pain, % of the
    scale for function; negative favours the intervention) or ``SMD`` (Hedges' g) for continuous
    outcomes, ``RR``/``OR`` (log scale) or ``RD`` for ``outcome='responders'`` or ``'surgery'``.
    """
    measure = measure.upper()
    if measure in BINARY_MEASURES:
        if outcome not in BINARY_OUTCOMES:
            raise ValueError(f"{measure} needs outcome 'responders' or 'surgery', not {outcome!r}")
        rows = _binary(ev, outcome, measure)
        rows = rows.assign(effect_kind="contrast") if not rows.empty else rows
    elif measure in CONTINUOUS_MEASURES:
        if outcome not in OUTCOMES:
            raise ValueError(
                f"unknown outcome {outcome!r}; choose from {', '.join([*OUTCOMES, *BINARY_OUTCOMES])}"
            )
        o = _continuous_rows(ev, outcome)
        parts = []
        if not o.empty:
            if measure == "MD":
                parts.append(_reported_contrasts(o).assign(effect_kind="contrast"))
            parts.append(_computed_contrasts(o, ev.arms, measure).assign(effect_kind="contrast"))
            if measure == "MD":
                parts.append(_within_arm(o, ev.arms).assign(effect_kind="within_arm"))
        parts = [p for p in parts if not p.empty]
        rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    else:
        raise ValueError(f"unknown measure {measure!r}; choose from MD, SMD, RR, OR, RD")
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in EFFECT_COLUMNS})
    rows = rows[[c for c in rows.columns if not c.endswith("_c")]]
    rows = _orient(rows, ev)
    rows = _context(
        ev,
        rows[
            [
                "study_id",
                "arm_id",
                "comparator_arm_id",
                "domain",
                "instrument",
                "time_weeks",
                "yi",
                "vi",
                "n1",
                "n2",
                "source",
                "approximate",
                "locator",
                "effect_kind",
            ]
        ],
    )
    rows = rows[(rows["role"] == "intervention") | (rows["effect_kind"] == "within_arm")]
    rows = rows[np.isfinite(rows["yi"].to_numpy(dtype=float)) & np.isfinite(rows["vi"].to_numpy(dtype=float))]
    rows = rows.assign(
        outcome=outcome,
        measure=measure,
        window=assign_windows(rows["time_weeks"], windows),
        comparator_therapy=rows["c_therapy"],
        comparator_kind=rows["c_comparator_kind"].where(rows["effect_kind"] == "contrast", "none"),
        comparator_label=rows["c_arm_label"],
        approximate=rows["approximate"].fillna(False).astype(bool),
    )
    rows["comparator_kind"] = rows["comparator_kind"].fillna("none")
    rows["placebo_is_active"] = rows["c_placebo_is_active"]
    return (
        rows[EFFECT_COLUMNS]
        .sort_values(["therapy", "study_id", "time_weeks"], kind="stable")
        .reset_index(drop=True)
    )


def _orient(rows: pd.DataFrame, ev: Evidence) -> pd.DataFrame:
    """Make every reported contrast read intervention minus comparator (swap and negate if needed)."""
    roles = ev.arms.set_index(["study_id", "arm_id"])["role"]

    def role(study, arm):
        return roles.get((study, arm)) if isinstance(arm, str) else None

    swap = np.array(
        [
            role(s, a) != "intervention" and role(s, c) == "intervention"
            for s, a, c in zip(rows["study_id"], rows["arm_id"], rows["comparator_arm_id"], strict=True)
        ],
        dtype=bool,
    )
    if swap.any():
        rows = rows.copy()
        a, c = rows.loc[swap, "arm_id"].copy(), rows.loc[swap, "comparator_arm_id"].copy()
        rows.loc[swap, "arm_id"], rows.loc[swap, "comparator_arm_id"] = c.to_numpy(), a.to_numpy()
        rows.loc[swap, "yi"] = -rows.loc[swap, "yi"].to_numpy(dtype=float)  # RD, log RR, log OR, MD: all odd
    return rows


def select_one_per_cohort(eff: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Keep one effect per cohort and pooling group.

    Rule, in order: the best source (reported adjusted MD first, see :data:`SOURCE_RANK`); the
    latest follow-up in the group (durability is the question); a truly inert comparator before an
    active "placebo"; not approximate; the larger total n; then study and arm ids (stable).
    Papers of one cohort (``parent_id``) share a ``cohort``, so they are never counted twice.
    """
    keys = [*dict.fromkeys([*by, *ALIKE])]
    ranked = eff.assign(
        _src=eff["source"].map(SOURCE_RANK).fillna(9),
        _active=eff["placebo_is_active"].fillna(False).astype(bool),
        _n=(eff["n1"].astype(float).fillna(0) + eff["n2"].astype(float).fillna(0)),
    )
    ranked = ranked.sort_values(
        [*keys, "cohort", "_src", "time_weeks", "_active", "approximate", "_n", "study_id", "arm_id"],
        ascending=[*([True] * len(keys)), True, True, False, True, True, False, True, True],
        kind="stable",
    )
    chosen = ranked.drop_duplicates([*keys, "cohort"], keep="first")
    return chosen.drop(columns=["_src", "_active", "_n"])


def pool(
    eff: pd.DataFrame,
    by: Sequence[str] = ("therapy", "window"),
    method: str = "REML",
    knha: bool = False,
    level: float = 95,
    include_approximate: bool = False,
) -> pd.DataFrame:
    """Random-effects pooling per group (default: therapy x follow-up window).

    Effects are pooled only when alike: the groups always include outcome, measure, effect kind
    and comparator kind. Each cohort contributes once per group (:func:`select_one_per_cohort`);
    approximate effects (medians in place of means) are left out unless asked for. Baseline-only
    rows (window '') never pool.
    """
    by = list(by)
    unknown = [c for c in by if c not in eff.columns]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; choose from {', '.join(EFFECT_COLUMNS)}")
    data = eff if include_approximate else eff[~eff["approximate"].astype(bool)]
    if "window" in data.columns:
        data = data[data["window"] != ""]
    chosen = select_one_per_cohort(data, by)
    keys = [*dict.fromkeys([*by, *ALIKE])]
    if chosen.empty:
        return pd.DataFrame(
            columns=[
                *keys,
                "k",
                "estimate",
                "se",
                "ci_lb",
                "ci_ub",
                "tau2",
                "I2",
                "Q",
                "Q_p",
                "pi_lb",
                "pi_ub",
                "studies",
            ]
        )
    result = pool_frame(chosen, by=keys, method=method, knha=knha, level=level)
    grouped = chosen.groupby(keys, sort=True, observed=True)
    result["studies"] = grouped["label"].agg(lambda s: "; ".join(sorted(s))).to_numpy()
    result["mean_weeks"] = grouped["time_weeks"].mean().to_numpy()
    result["method"] = method.upper() + ("+KNHA" if knha else "")
    return result


def _one_group(eff: pd.DataFrame, by: Sequence[str], include_approximate: bool) -> pd.DataFrame:
    data = eff if include_approximate else eff[~eff["approximate"].astype(bool)]
    if "window" in data.columns:
        data = data[data["window"] != ""]
    chosen = select_one_per_cohort(data, by)
    keys = [*dict.fromkeys([*by, *ALIKE])]
    if chosen.groupby(keys, observed=True).ngroups > 1:
        raise ValueError(
            f"the effects form {chosen.groupby(keys, observed=True).ngroups} pooling groups; "
            f"filter them to one group (by {', '.join(keys)}) first"
        )
    return chosen.reset_index(drop=True)


def sensitivity(
    eff: pd.DataFrame,
    by: Sequence[str] = ("therapy", "window"),
    method: str = "REML",
    knha: bool = False,
    include_approximate: bool = False,
) -> pd.DataFrame:
    """Leave-one-out for one pooling group: the pool without each study in turn (metafor's
    ``leave1out``). ``eff`` must hold a single group once the pooling rules are applied."""
    from explorer.analysis.pooling import leave_one_out

    chosen = _one_group(eff, list(by), include_approximate)
    res = pd.DataFrame(
        leave_one_out(chosen["yi"].to_numpy(float), chosen["vi"].to_numpy(float), method, knha)
    )
    return pd.concat(
        [chosen[["study_id", "label", "yi", "vi"]].rename(columns={"label": "omitted"}), res], axis=1
    )


def funnel(
    eff: pd.DataFrame,
    by: Sequence[str] = ("therapy", "window"),
    method: str = "REML",
    knha: bool = False,
    include_approximate: bool = False,
) -> tuple[pd.DataFrame, dict[str, float] | None]:
    """Funnel-plot data (yi against its standard error) and Egger's regression test.

    The test is returned only where k >= 10: with fewer studies it has too little power to mean
    anything (Cochrane Handbook, section 13.3.5.4).
    """
    from explorer.analysis.pooling import egger_test

    chosen = _one_group(eff, list(by), include_approximate)
    points = chosen[["study_id", "label", "yi", "vi"]].assign(sei=np.sqrt(chosen["vi"].to_numpy(float)))
    test = None
    if len(chosen) >= 10:
        test = egger_test(chosen["yi"].to_numpy(float), chosen["vi"].to_numpy(float), method, knha)
    return points, test


def subgroups(
    eff: pd.DataFrame,
    subgroup: str,
    by: Sequence[str] = ("therapy", "window"),
    method: str = "REML",
    knha: bool = False,
    include_approximate: bool = False,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Pools per level of ``subgroup`` (approach, guidance, indication, ...) within one pooling
    group, and the test for subgroup differences (separate tau² per subgroup, as RevMan)."""
    from explorer.analysis.pooling import subgroup_test

    chosen = _one_group(eff, list(by), include_approximate)
    if subgroup not in chosen.columns:
        raise ValueError(f"unknown subgroup column {subgroup!r}")
    chosen = chosen.assign(**{subgroup: chosen[subgroup].fillna("not reported")})
    table = pool_frame(chosen, by=[subgroup], method=method, knha=knha)
    test = subgroup_test(
        chosen["yi"].to_numpy(float),
        chosen["vi"].to_numpy(float),
        chosen[subgroup].to_numpy(),
        method=method,
        knha=knha,
    )
    return table, test
