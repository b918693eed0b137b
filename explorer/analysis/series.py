"""Arm-level time courses on a common scale: what the "efficacy over time" plot draws."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.analysis.harmonise import OUTCOMES, Z95, harmonise, keep_one_pain_domain
from explorer.analysis.windows import DEFAULT_WINDOWS, Window, assign_windows, to_weeks
from explorer.data.load import Evidence

STUDY_COLUMNS = [
    "label",
    "title",
    "year",
    "doi",
    "pmid",
    "design",
    "indication",
    "risk_of_bias",
    "parent_id",
    "study_n",
]
RESPONDERS = "responders"
ARM_COLUMNS = [
    "arm_label",
    "therapy",
    "approach",
    "agent_class",
    "guidance",
    "role",
    "comparator_kind",
    "placebo_is_active",
]


def arm_series(
    ev: Evidence,
    outcome: str = "pain",
    measure: str = "final",
    windows: tuple[Window, ...] = DEFAULT_WINDOWS,
) -> pd.DataFrame:
    """One row per arm and follow-up time, on the outcome's common scale (lower is better).

    ``measure='final'`` gives values at each time (baseline at week 0 included);
    ``measure='change'`` gives changes from baseline as reported (``improvement`` rows flipped).
    For the ``pain`` outcome each study keeps one pain domain (leg pain for radicular conditions,
    back pain otherwise) so that a study draws one line per arm.
    """
    if outcome == RESPONDERS:
        return responder_series(ev, windows)
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose from {', '.join([*OUTCOMES, RESPONDERS])}")
    if measure not in ("final", "change"):
        raise ValueError("measure must be 'final' or 'change'")
    _, domains, top = OUTCOMES[outcome]
    o = ev.outcomes
    wanted = ("final",) if measure == "final" else ("change", "improvement")
    rows = o[o["domain"].isin(domains) & o["measure"].isin(wanted) & o["scale_max"].notna()]
    rows = rows.merge(_studies(ev), on="study_id", how="left")
    rows = rows.merge(
        ev.arms[["study_id", "arm_id", "n_randomised", *ARM_COLUMNS]],
        on=["study_id", "arm_id"],
        how="left",
        suffixes=("", "_arm"),
    )
    if rows.empty:
        return _empty(rows)
    if len(domains) > 1:
        rows = keep_one_pain_domain(rows)
    rows = rows.reset_index(drop=True)
    h = harmonise(rows, top, n_fallback=rows["n_randomised"])
    out = rows.drop(columns=["mean", "sd", "se", "ci_lb", "ci_ub", "n"]).join(h)
    out["time_weeks"] = to_weeks(out["time_value"], out["time_unit"])
    out["window"] = assign_windows(out["time_weeks"], windows)
    out["series_id"] = out["study_id"] + ":" + out["arm_id"] + ":" + out["domain"] + ":" + out["instrument"]
    out["outcome"] = outcome
    return out.sort_values(["therapy", "study_id", "arm_id", "time_weeks"], kind="stable").reset_index(
        drop=True
    )


def _studies(ev: Evidence) -> pd.DataFrame:
    return ev.studies.rename(columns={"n_randomised": "study_n"})[["study_id", *STUDY_COLUMNS]]


def wilson(events: np.ndarray, total: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion (better than the Wald interval near 0 and 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = events / total
        denom = 1 + z**2 / total
        centre = (p + z**2 / (2 * total)) / denom
        half = z * np.sqrt(p * (1 - p) / total + z**2 / (4 * total**2)) / denom
    return centre - half, centre + half


def responder_series(ev: Evidence, windows: tuple[Window, ...] = DEFAULT_WINDOWS) -> pd.DataFrame:
    """Percentage of responders per arm and time, each with the paper's own definition.

    From counts: value = events/total with a Wilson 95% CI; from a reported percentage only: the
    percentage, with the paper's CI when it gives one. Higher is better here (unlike the other
    outcomes); responder definitions differ between papers and are shown, never merged.
    """
    o = ev.outcomes
    rows = o[(o["domain"] == RESPONDERS) & (o["measure"] == "responders") & (o["time_value"] > 0)]
    rows = rows.merge(_studies(ev), on="study_id", how="left")
    rows = rows.merge(
        ev.arms[["study_id", "arm_id", "n_randomised", *ARM_COLUMNS]], on=["study_id", "arm_id"], how="left"
    )
    if rows.empty:
        return _empty(rows)
    rows = rows.reset_index(drop=True)
    ev_ = rows["events"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    tot = rows["total"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    counted = ~np.isnan(ev_) & ~np.isnan(tot) & (tot > 0)
    lo, hi = wilson(ev_, tot)
    pct = rows["percent"].to_numpy(dtype=float)
    value = np.where(counted, 100 * ev_ / tot, pct)
    out = rows.drop(columns=["mean", "sd", "se", "ci_lb", "ci_ub", "n"]).assign(
        value=value,
        ci_lb=np.where(counted, 100 * lo, rows["ci_lb"].to_numpy(dtype=float)),
        ci_ub=np.where(counted, 100 * hi, rows["ci_ub"].to_numpy(dtype=float)),
        se=np.nan,
        sd=np.nan,
        n=np.where(
            counted, tot, rows["n_randomised"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        ),
        approximate=False,
        derivation=np.where(
            counted,
            "% responders = events/total; Wilson 95% CI; definition: "
            + rows["responder_definition"].fillna(""),
            "% responders as reported (no counts); definition: " + rows["responder_definition"].fillna(""),
        ),
    )
    out["time_weeks"] = to_weeks(out["time_value"], out["time_unit"])
    out["window"] = assign_windows(out["time_weeks"], windows)
    out["series_id"] = (
        out["study_id"]
        + ":"
        + out["arm_id"]
        + ":"
        + out["instrument"]
        + ":"
        + out["responder_definition"].fillna("").str.slice(0, 40)
    )
    out["outcome"] = RESPONDERS
    out = out[np.isfinite(out["value"].to_numpy(dtype=float))]
    return out.sort_values(["therapy", "study_id", "arm_id", "time_weeks"], kind="stable").reset_index(
        drop=True
    )


def _empty(rows: pd.DataFrame) -> pd.DataFrame:
    cols = [
        *rows.columns,
        "value",
        "approximate",
        "derivation",
        "time_weeks",
        "window",
        "series_id",
        "outcome",
    ]
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "time_weeks") else object) for c in cols})


def contrast_series(ev: Evidence, outcome: str = "pain", comparators: str = "cochrane") -> pd.DataFrame:
    """Between-group differences (intervention minus comparator, MD on the common scale) shaped
    like :func:`arm_series`, so the same figure draws them: one line per study contrast."""
    from explorer.analysis.effects import effects

    eff = effects(ev, outcome=outcome, measure="MD", comparators=comparators)
    # contrasts with an interval only: a row kept without a variance (its SD not imputed, rule
    # 'imputed-sd') is for explain(), not for a line with error bars
    eff = eff[(eff["effect_kind"] == "contrast") & np.isfinite(eff["vi"].to_numpy(dtype=float))].reset_index(drop=True)
    se = np.sqrt(eff["vi"].to_numpy(dtype=float))
    out = eff.assign(
        value=eff["yi"].astype(float),
        ci_lb=eff["yi"].astype(float) - Z95 * se,
        ci_ub=eff["yi"].astype(float) + Z95 * se,
        se=se,
        n=eff["n1"].astype(float) + eff["n2"].astype(float),
        arm_label=eff["arm_label"].astype(str) + " vs " + eff["comparator_label"].astype(str),
        derivation=eff["source"] + "; intervention minus comparator; 95% CI from the SE",
        series_id=eff["study_id"] + ":" + eff["arm_id"] + ":" + eff["comparator_arm_id"].astype(str),
        title=eff["study_id"].map(ev.studies.set_index("study_id")["title"]),
        study_n=eff["study_id"].map(ev.studies.set_index("study_id")["n_randomised"]),
        doi=eff["study_id"].map(ev.studies.set_index("study_id")["doi"]),
        pmid=eff["study_id"].map(ev.studies.set_index("study_id")["pmid"]),
    )
    return out.sort_values(["therapy", "study_id", "arm_id", "time_weeks"], kind="stable").reset_index(
        drop=True
    )


def changes_from_finals(final: pd.DataFrame) -> pd.DataFrame:
    """Within-arm change (follow-up value minus the same arm's baseline value) from final-value
    series, for summaries only: the point change is exact, but no CI can be derived without the
    baseline-follow-up correlation, so none is given."""
    if final.empty:
        return final.assign(change=pd.Series(dtype=float))
    base = final[final["time_weeks"] == 0].drop_duplicates("series_id").set_index("series_id")["value"]
    later = final[final["time_weeks"] > 0]
    return later.assign(
        change=later["value"].to_numpy(dtype=float) - later["series_id"].map(base).to_numpy(dtype=float)
    ).dropna(subset=["change"])
