"""Arm-level time courses on a common scale: what the "efficacy over time" plot draws."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.analysis.harmonise import OUTCOMES, Z95, harmonise, keep_one_pain_domain
from explorer.analysis.windows import DEFAULT_WINDOWS, Window, assign_windows, to_weeks
from explorer.data.load import Evidence

STUDY_COLUMNS = ["label", "title", "year", "doi", "pmid", "design", "indication", "risk_of_bias", "parent_id"]
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
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose from {', '.join(OUTCOMES)}")
    if measure not in ("final", "change"):
        raise ValueError("measure must be 'final' or 'change'")
    _, domains, top = OUTCOMES[outcome]
    o = ev.outcomes
    wanted = ("final",) if measure == "final" else ("change", "improvement")
    rows = o[o["domain"].isin(domains) & o["measure"].isin(wanted) & o["scale_max"].notna()]
    rows = rows.merge(ev.studies[["study_id", *STUDY_COLUMNS]], on="study_id", how="left")
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


def describe_span(series: pd.DataFrame) -> str:
    """'12 arms from 5 studies' style count used by the dashboard and the notebooks."""
    studies = series["study_id"].nunique() if len(series) else 0
    arms = series.drop_duplicates(["study_id", "arm_id"]).shape[0] if len(series) else 0
    return f"{studies} {'study' if studies == 1 else 'studies'}, {arms} {'arm' if arms == 1 else 'arms'}"


def nan_to_none(values: np.ndarray) -> list:
    return [None if (isinstance(v, float) and np.isnan(v)) else v for v in values]


def contrast_series(ev: Evidence, outcome: str = "pain") -> pd.DataFrame:
    """Between-group differences (intervention minus comparator, MD on the common scale) shaped
    like :func:`arm_series`, so the same figure draws them: one line per study contrast."""
    from explorer.analysis.effects import effects

    eff = effects(ev, outcome=outcome, measure="MD")
    eff = eff[eff["effect_kind"] == "contrast"].reset_index(drop=True)
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
        doi=eff["study_id"].map(ev.studies.set_index("study_id")["doi"]),
        pmid=eff["study_id"].map(ev.studies.set_index("study_id")["pmid"]),
    )
    return out.sort_values(["therapy", "study_id", "arm_id", "time_weeks"], kind="stable").reset_index(
        drop=True
    )
