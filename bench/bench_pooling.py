"""Time ``pool_frame`` on 10,000 effect rows in 1,000 groups, for every estimator.

Run:  .venv/bin/python bench/bench_pooling.py  [--repeats N]

Two reference timings are measured in the same run, on the same data, so the numbers can be
read without knowing the machine:

* ``floor``: the least any grouped pooling must do -- ``groupby().ngroup()`` plus one weighted
  ``np.bincount`` pass (a common-effect estimate without its statistics);
* ``naive DL loop``: DerSimonian-Laird written the obvious way, one Python iteration per
  group over ``groupby`` slices -- what the vectorised code is there to avoid.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from explorer.analysis.pooling import pool_frame

N_ROWS = 10_000
N_COMPARISONS = 100
N_WINDOWS = 10  # 100 x 10 = 1,000 groups
BY = ["comparison", "window"]


def synthetic(seed: int = 2024) -> pd.DataFrame:
    """Effect rows spread over comparison x window groups, with heterogeneity varying by group."""
    rng = np.random.default_rng(seed)
    comparison = rng.integers(0, N_COMPARISONS, N_ROWS)
    window = rng.integers(0, N_WINDOWS, N_ROWS)
    group = comparison * N_WINDOWS + window
    mu = rng.normal(0, 1, N_COMPARISONS * N_WINDOWS)
    tau2 = rng.choice([0.0, 0.02, 0.1, 0.5], N_COMPARISONS * N_WINDOWS)
    vi = rng.uniform(0.01, 0.5, N_ROWS)
    yi = rng.normal(mu[group], np.sqrt(vi + tau2[group]))
    return pd.DataFrame(
        {"comparison": [f"c{c:03d}" for c in comparison], "window": window, "yi": yi, "vi": vi}
    )


def floor(df: pd.DataFrame) -> np.ndarray:
    codes = df.groupby(BY, sort=True).ngroup().to_numpy()
    w = 1 / df.vi.to_numpy()
    return np.bincount(codes, weights=w * df.yi.to_numpy()) / np.bincount(codes, weights=w)


def naive_dl(df: pd.DataFrame) -> list[tuple[float, float, float]]:
    out = []
    for _, g in df.groupby(BY, sort=True):
        y, v = g.yi.to_numpy(), g.vi.to_numpy()
        w = 1 / v
        mu = np.sum(w * y) / np.sum(w)
        q = np.sum(w * (y - mu) ** 2)
        k = len(y)
        c = np.sum(w) - np.sum(w**2) / np.sum(w)
        tau2 = max(0.0, (q - (k - 1)) / c) if k > 1 else 0.0
        wr = 1 / (v + tau2)
        out.append((np.sum(wr * y) / np.sum(wr), np.sqrt(1 / np.sum(wr)), tau2))
    return out


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    df = synthetic()
    n_groups = df.groupby(BY).ngroups
    print(f"pool_frame on {len(df):,} rows in {n_groups:,} groups, {args.repeats} runs each (ms)")
    print(f"{'case':<24}{'median':>10}{'min':>10}{'max':>10}")

    def row(label: str, times: list[float]) -> None:
        ms = [t * 1e3 for t in times]
        print(f"{label:<24}{statistics.median(ms):>10.2f}{min(ms):>10.2f}{max(ms):>10.2f}")

    row("floor (ngroup+bincount)", timed(lambda: floor(df), args.repeats))
    row("naive DL loop", timed(lambda: naive_dl(df), args.repeats))
    for method in ("FE", "DL", "REML", "PM"):
        for knha in (False, True):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                times = timed(lambda m=method, h=knha: pool_frame(df, BY, m, h), args.repeats)
            row(f"{method}{' + knha' if knha else ''}", times)
            for message in sorted({str(w.message) for w in caught}):
                print(f"    ({message})")


if __name__ == "__main__":
    main()
