"""Figures layer: pure functions; escaping of text from the data."""

from __future__ import annotations

import pandas as pd
import pytest

from explorer.analysis.series import arm_series
from explorer.data import load
from explorer.figures import THERAPY_COLOURS, efficacy_over_time, efficacy_traces

from .conftest import DATA


def test_one_trace_per_therapy_with_gaps_between_arms() -> None:
    s = arm_series(load(DATA), "pain")
    therapies = list(dict.fromkeys(s["therapy"]))
    fig = efficacy_over_time(s)
    assert [t.meta for t in fig.data] == therapies
    for t, therapy in zip(fig.data, therapies, strict=True):
        part = s[s["therapy"] == therapy]
        assert len(t.x) == len(part) + part["series_id"].nunique()  # one gap after each arm
        assert t.line.color == THERAPY_COLOURS[therapy]


def test_empty_selection_gives_invisible_traces() -> None:
    s = arm_series(load(DATA), "pain")
    data = efficacy_traces(s.iloc[0:0], ["prp", "bmc"])
    assert [d["visible"] for d in data] == [False, False]
    assert all(d["x"] == [] for d in data)


def test_hover_text_from_data_is_escaped() -> None:
    s = arm_series(load(DATA), "pain").head(2).copy()
    s["label"] = "<img src=x onerror=alert(1)>"
    data = efficacy_traces(s, list(dict.fromkeys(s["therapy"])))
    shown = [c for d in data for c in d["customdata"] if c]
    assert shown and all("<img" not in c[0] and "&lt;img" in c[0] for c in shown)


def test_figure_is_pure(monkeypatch) -> None:
    s = arm_series(load(DATA), "pain")
    before = s.copy()
    efficacy_over_time(s)
    pd.testing.assert_frame_equal(s, before)


def test_plain_json_spec_matches_the_plotly_figure() -> None:
    """The dashboard draws from ``efficacy_spec`` (no plotly validation); notebooks get the
    plotly figure. Both must hold the same traces and reference line."""
    from explorer.figures.efficacy import efficacy_spec

    s = arm_series(load(DATA), "pain")
    spec = efficacy_spec(s, mcid=1.5)
    fig = efficacy_over_time(s, mcid=1.5)
    assert len(spec["data"]) == len(fig.data) > 0
    for d, t in zip(spec["data"], fig.data, strict=True):
        assert d["meta"] == t.meta and d["name"] == t.name
        assert list(t.x) == d["x"]
        assert [None if v is None else float(v) for v in t.y] == d["y"]
    assert fig.layout.shapes[0].y0 == spec["layout"]["shapes"][0]["y0"] == -1.5
    assert fig.layout.template.layout.to_plotly_json() == {}  # the spec's own theme, no template


def test_dashboard_start_builds_no_plotly_figure_and_no_scipy() -> None:
    """A served kernel's start-up must not pay for plotly's validators or for scipy (run in a
    fresh interpreter, so other tests' imports do not count). The landing findings table pools
    with 95% intervals from the quantiles tabulated in explorer.analysis.distributions and shows
    no p-values, so not even scipy.special (about 12 MB and 0.15 s per kernel) is imported."""
    import subprocess
    import sys

    code = (
        "import sys; from explorer.dashboard import app; app();"
        "heavy = [m for m in ('plotly.graph_objs._figure', 'scipy', 'scipy.special', 'scipy.optimize')"
        " if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def _reference_traces(series: pd.DataFrame, therapies: list[str]) -> list[dict]:
    """The plain per-arm loop that ``efficacy_traces`` vectorises (what each trace must hold)."""
    import html

    import numpy as np

    def fmt(v: float) -> str:
        return "–" if np.isnan(v) else f"{v:.2f}"

    out = []
    for therapy in therapies:
        xs, ys, plus, minus, custom = [], [], [], [], []
        part = series[series["therapy"] == therapy]
        for _, arm in part.groupby("series_id", sort=False):
            for r in arm.itertuples(index=False):
                xs.append(float(r.time_weeks))
                ys.append(float(r.value))
                plus.append(0.0 if np.isnan(r.ci_ub) else r.ci_ub - r.value)
                minus.append(0.0 if np.isnan(r.ci_lb) else r.value - r.ci_lb)
                custom.append(
                    [
                        html.escape(f"{r.label} · {r.arm_label}"),
                        html.escape(f"{r.domain.replace('_', ' ')}, {_instrument(r)}; {r.locator}"),
                        "not reported" if np.isnan(r.ci_lb) and np.isnan(r.ci_ub) else f"{fmt(r.ci_lb)} to {fmt(r.ci_ub)}",
                        "–" if pd.isna(r.n) else f"{r.n:g}",
                        html.escape(r.derivation),
                        str(r.study_id),
                    ]
                )
            for seq in (xs, ys, plus, minus, custom):
                seq.append(None)
        out.append({"x": xs, "y": ys, "plus": plus, "minus": minus, "customdata": custom})
    return out


def _instrument(r) -> str:
    own = getattr(r, "responder_definition", None)
    if r.instrument == "responder_definition" and isinstance(own, str) and own:
        return own
    return str(r.instrument)


def test_vectorised_traces_match_the_per_arm_loop() -> None:
    """On every outcome and measure of the bundled data, and on many interleaved arms."""
    from explorer.analysis.series import contrast_series

    ev = load(DATA)
    frames = [
        arm_series(ev, o, measure=m) for o in ("pain", "function", "responders") for m in ("final", "change")
    ]
    frames.append(contrast_series(ev, outcome="pain"))
    base = arm_series(ev, "responders")
    shuffled = pd.concat([base.assign(series_id=base["series_id"] + f"~{k}") for k in range(5)])
    frames.append(shuffled.sample(frac=1.0, random_state=1))  # arms' rows interleaved
    for s in frames:
        therapies = [*dict.fromkeys(s["therapy"]), "absent"]
        got = efficacy_traces(s, therapies)
        want = _reference_traces(s, therapies)
        for g, r in zip(got, want, strict=True):
            assert g["x"] == r["x"] and g["y"] == r["y"] and g["customdata"] == r["customdata"]
            assert g["error_y"]["array"] == r["plus"] and g["error_y"]["arrayminus"] == r["minus"]
            assert g["visible"] == bool(r["x"])


def _reference_pooled(pooled: pd.DataFrame, therapies: list[str]) -> list[tuple]:
    """The plain row loop that ``pooled_traces`` vectorises: per therapy, its points' x, y,
    hover text, symbols, error bars, and the prediction-interval bars."""
    import html

    import numpy as np

    from explorer.figures.efficacy import KIND_SYMBOL

    def fmt(v):
        return "–" if v is None or np.isnan(v) else f"{v:.2f}"

    out = []
    for therapy in therapies:
        part = pooled[pooled["therapy"] == therapy]
        custom, px, py = [], [], []
        for r in part.itertuples(index=False):
            custom.append(
                [
                    html.escape(f"{r.window} window, vs {str(r.comparator_kind).replace('_', '/')}"),
                    html.escape(str(r.method)),
                    f"{fmt(r.ci_lb)} to {fmt(r.ci_ub)}",
                    f"{fmt(r.pi_lb)} to {fmt(r.pi_ub)}",
                    f"{int(r.k)}",
                    fmt(r.tau2),
                    f"{r.I2:.0f}%" if pd.notna(r.I2) else "–",
                    html.escape(str(r.studies)),
                ]
            )
            if pd.notna(r.pi_lb):
                px += [r.mean_weeks, r.mean_weeks, None]
                py += [r.pi_lb, r.pi_ub, None]
        out.append(
            (
                part["mean_weeks"].tolist(),
                part["estimate"].tolist(),
                custom,
                [KIND_SYMBOL.get(k, "circle") for k in part["comparator_kind"]],
                (part["ci_ub"] - part["estimate"]).tolist(),
                (part["estimate"] - part["ci_lb"]).tolist(),
                px,
                py,
            )
        )
    return out


def test_vectorised_pooled_traces_match_the_row_loop() -> None:
    import numpy as np

    from explorer.figures.efficacy import pooled_traces

    rng = np.random.default_rng(7)
    n = 60
    est = rng.normal(-1, 1, n)
    half = rng.uniform(0.1, 1, n)
    pi = np.where(rng.random(n) < 0.3, np.nan, 2 * half)
    pooled = pd.DataFrame(
        {
            "therapy": rng.choice(["prp", "epidural_steroid", "msc"], n),
            "window": rng.choice(["short", "long"], n),
            "comparator_kind": rng.choice(["placebo_sham", "active", "conservative", "other"], n),
            "method": "REML",
            "mean_weeks": rng.uniform(1, 100, n),
            "estimate": est,
            "ci_lb": est - half,
            "ci_ub": est + half,
            "pi_lb": est - pi,
            "pi_ub": est + pi,
            "k": rng.integers(1, 9, n),
            "tau2": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 1, n)),
            "I2": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 100, n)),
            "studies": [f"Study <{i}> & co" for i in range(n)],
        }
    )
    therapies = ["prp", "epidural_steroid", "msc", "bmc"]
    points, bands = pooled_traces(pooled, therapies)
    for pt, band, ref in zip(points, bands, _reference_pooled(pooled, therapies), strict=True):
        x, y, custom, symbols, plus, minus, px, py = ref
        assert pt["x"] == x and pt["y"] == y and pt["customdata"] == custom
        assert pt["marker"]["symbol"] == symbols and pt["visible"] == bool(x)
        assert pt["error_y"]["array"] == plus and pt["error_y"]["arrayminus"] == minus
        assert band["x"] == px and band["y"] == py and band["visible"] == bool(px)
    assert all("&lt;" in c[7] for pt in points for c in pt["customdata"])


def test_forest_prints_each_estimate_its_ci_and_weight_beside_the_plot() -> None:
    """As metafor's forest(): a text column of estimate [95% CI] and weight; the pool's row only
    for a pool (one trial is not one)."""
    import numpy as np
    import pandas as pd

    from explorer.figures.forest import forest_plot

    df = pd.DataFrame({"yi": [-1.0, -0.5], "vi": [0.1, 0.3], "time_weeks": [6, 6], "label": ["A", "B"],
                       "arm_label": ["x", "y"], "comparator_label": ["c", "d"]})  # fmt: skip
    pool = pd.Series({"estimate": -0.8, "ci_lb": -1.2, "ci_ub": -0.4, "pi_lb": np.nan, "pi_ub": np.nan, "k": 2,
                      "tau2": 0.0, "I2": 0.0})  # fmt: skip
    texts = [a.text for a in forest_plot(df, pool, "prp").layout.annotations]
    w = (1 / 0.1) / (1 / 0.1 + 1 / 0.3) * 100
    lo, hi = -1.0 - 1.959964 * 0.1**0.5, -1.0 + 1.959964 * 0.1**0.5
    assert f"-1.00 [{lo:.2f}, {hi:.2f}]" in texts[1] and f"{w:.1f}%" in texts[1]
    assert f"{100 - w:.1f}%" in texts[2] and "-0.80 [-1.20, -0.40]" in texts[3]
    one = [a.text for a in forest_plot(df.iloc[:1], pool, "prp").layout.annotations]
    assert len(one) == 2 and "-1.00" in one[1]  # the header and the trial: one trial, no pooled row


def test_pooled_markers_say_how_many_trials_they_hold() -> None:
    import pandas as pd

    from explorer.figures.efficacy import pooled_traces

    pooled = pd.DataFrame({"therapy": ["prp", "prp"], "window": ["short", "long"], "comparator_kind": ["active"] * 2,
                           "mean_weeks": [6.0, 52.0], "estimate": [-1.0, -0.5], "ci_lb": [-2.0, -1.5],
                           "ci_ub": [0.0, 0.5], "pi_lb": [float("nan")] * 2, "pi_ub": [float("nan")] * 2,
                           "method": ["REML"] * 2, "studies": ["A; B", "A; B; C"], "k": [2, 3],
                           "tau2": [0.0, 0.1], "I2": [0.0, 10.0]})  # fmt: skip
    points, _ = pooled_traces(pooled, ["prp", "msc"])
    assert points[0]["text"] == ["k=2", "k=3"] and points[1]["text"] == []


def test_hover_names_the_instrument_in_words() -> None:
    """No raw codes in the hover: a responder row says its own definition, others the label."""
    import html

    s = arm_series(load(DATA), "responders")
    labels = {"responder_definition": "Responder definition", "nrs": "Numeric rating scale"}
    traces = efficacy_traces(s, list(dict.fromkeys(s["therapy"])), labels)
    where = [c[1] for t in traces for c in t["customdata"] if c]
    assert where and not any(", responder_definition;" in w for w in where)
    own = s[(s["instrument"] == "responder_definition") & s["responder_definition"].notna()]
    assert any(html.escape(str(own["responder_definition"].iloc[0])) in w for w in where)


def test_forest_weights_are_metafors_random_effects_weights() -> None:
    """The weight column and the marker sizes are metafor's ``weights()`` of the fitted model
    (tests/fixtures/metafor/weights.csv, tools/metafor_fixtures.R): with tau² > 0 they are
    1/(vi + tau²) normalised, not the fixed-effect 1/vi. tau² comes from our own pool of the same
    studies, as the dashboard's forest plot gets it."""
    import re
    from pathlib import Path

    import numpy as np

    from explorer.analysis.pooling import pool_arrays
    from explorer.figures.forest import forest_plot

    ref = pd.read_csv(Path(__file__).parent / "fixtures" / "metafor" / "weights.csv")
    assert (ref.groupby(["dataset", "method"])["tau2"].first() > 0).sum() == 16  # most fits have tau² > 0
    checked = 0
    for (dataset, method), d in ref.groupby(["dataset", "method"], sort=False):
        res = pool_arrays(d["yi"], d["vi"], method=method, test="z")
        pooled = pd.Series({c: float(res[c][0]) for c in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "I2")})
        pooled["k"] = int(res["k"][0])
        assert pooled["tau2"] == pytest.approx(d["tau2"].iloc[0], rel=1e-6, abs=1e-8), (dataset, method)
        chosen = pd.DataFrame({"yi": d["yi"], "vi": d["vi"], "time_weeks": 6, "label": [f"S{i}" for i in d["study"]],
                               "arm_label": "a", "comparator_label": "c"})  # fmt: skip
        fig = forest_plot(chosen, pooled, "prp")
        studies = next(t for t in fig.data if t.meta == "studies")
        drawn = (np.asarray(studies.marker.size, dtype=float) - 6) * 4  # size = 6 + weight / 4
        np.testing.assert_allclose(drawn, d["weight"], rtol=1e-6, atol=1e-9, err_msg=f"{dataset} {method}")
        printed = [float(c[1].rstrip("%")) for c in studies.customdata]
        assert np.abs(np.array(printed) - d["weight"].to_numpy()).max() <= 0.05 + 1e-9, (dataset, method)
        column = [a.text for a in fig.layout.annotations][1 : 1 + len(d)]
        assert [float(re.search(r"([\d.]+)%$", t).group(1)) for t in column] == printed
        checked += 1
    assert checked == ref.groupby(["dataset", "method"]).ngroups == 7 * 4
