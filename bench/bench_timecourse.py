"""Time ``timecourse`` per therapy at the bundled data's size and with 100 times its rows.

Run:  .venv/bin/python bench/bench_timecourse.py  [--repeats N]

The bundled effects table holds too few contrasts for any curve, so the data are synthetic at the
bundled data's shape: for every therapy, the studies and follow-up times that ``outcomes.csv``
records for its arms (18 studies at 1-3 times for epidural steroids, the largest), with
yi/vi drawn around a known curve. "100x" repeats every study 100 times with fresh noise.

Targets: < 50 ms per therapy at the bundled size, < 0.5 s with 100x rows. Reference timings
measured in the same run, on the same rows, so the figures read without knowing the machine:

* ``pool by window``: ``pool_frame`` REML per therapy x Cochrane window, what the curve replaces
  (one vectorised call over all groups);
* ``one likelihood``: a single evaluation of the restricted likelihood and its gradient, the
  unit the optimiser repeats (about 20-30 times per fit).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from explorer.analysis import timecourse as tc
from explorer.analysis.pooling import pool_frame
from explorer.analysis.windows import assign_windows, to_weeks
from explorer.data import load


def bundled_shape() -> pd.DataFrame:
    """(therapy, study_id, time_weeks) of every arm's follow-up in the bundled data."""
    ev = load()
    o = ev.outcomes.assign(time_weeks=to_weeks(ev.outcomes.time_value, ev.outcomes.time_unit))
    o = o[o.time_weeks > 0].merge(ev.arms[["study_id", "arm_id", "therapy"]], on=["study_id", "arm_id"])
    return o[["therapy", "study_id", "time_weeks"]].drop_duplicates().reset_index(drop=True)


def synthetic(shape: pd.DataFrame, copies: int, seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = pd.concat(
        [shape.assign(study_id=shape.study_id + f"#{c}") for c in range(copies)], ignore_index=True
    )
    study_codes = pd.factorize(rows.study_id)[0]
    u = rng.normal(0, np.sqrt(0.1), study_codes.max() + 1)[study_codes]
    vi = rng.uniform(0.05, 0.4, len(rows))
    mean = tc.design_matrix(rows.time_weeks, "spline") @ np.array([-2.0, 0.45, -0.25])
    yi = mean + u + rng.normal(0, np.sqrt(0.05), len(rows)) + rng.normal(0, np.sqrt(vi))
    return rows.assign(yi=yi, vi=vi, window=assign_windows(rows.time_weeks))


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def one_likelihood(d: pd.DataFrame, basis: str) -> Callable[[], object]:
    study = pd.factorize(d.study_id)[0]
    time_id = pd.factorize(pd.MultiIndex.from_arrays([study, d.time_weeks.round(6)]))[0]
    blocks = tc._Blocks.build(
        d.yi.to_numpy(), d.vi.to_numpy(), tc.design_matrix(d.time_weeks, basis), study, time_id, 0.5
    )
    s2 = np.array([0.1, 0.05])
    return lambda: tc._evaluate(blocks, s2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    shape = bundled_shape()
    print(f"timecourse per therapy, {args.repeats} runs each (ms); target < 50 ms (1x), < 500 ms (100x)")
    print(f"{'therapy':<22}{'rows':>7}{'studies':>8}{'basis':>10}{'fit':>10}{'pool by window':>16}"
          f"{'one likelihood':>16}")  # fmt: skip

    def ms(times: list[float]) -> str:
        return f"{statistics.median(times) * 1e3:.2f}"

    for copies in (1, 100):
        data = synthetic(shape, copies)
        print(f"-- {copies}x: {len(data):,} rows")
        worst = 0.0
        for therapy, d in data.groupby("therapy", sort=True):
            res = tc.timecourse(d, by="therapy")
            if res.variance.empty:
                print(f"{therapy:<22}{len(d):>7}{d.study_id.nunique():>8}{'skipped':>10}")
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fit = timed(lambda d=d: tc.timecourse(d, by="therapy"), args.repeats)
                pool = timed(lambda d=d: pool_frame(d, ["therapy", "window"], "REML"), args.repeats)
            basis = res.variance.basis.iloc[0]
            unit = timed(one_likelihood(d, basis), args.repeats)
            worst = max(worst, statistics.median(fit))
            print(f"{therapy:<22}{len(d):>7}{d.study_id.nunique():>8}{basis:>10}{ms(fit):>10}{ms(pool):>16}"
                  f"{ms(unit):>16}")  # fmt: skip
        target = 0.05 if copies == 1 else 0.5
        verdict = "within" if worst < target else "OVER"
        print(f"slowest therapy {worst * 1e3:.1f} ms: {verdict} the {target * 1e3:.0f} ms target")


if __name__ == "__main__":
    main()
