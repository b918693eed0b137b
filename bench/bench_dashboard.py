"""Dashboard benchmark: the explorer against the floor, both served by Voila in the same run.

The floor is ``bench/floor.ipynb``: one dropdown and one plotly FigureWidget with 4 traces. For
each, in headless Chromium on loopback: time from navigation to a usable page (plot drawn,
controls visible, spinner gone), time from a filter change to the updated plot, websocket bytes
received per update, and the kernel's memory. Then the explorer with a preheated kernel pool,
with 100x the bundled rows (synthetic, generated here into a temporary folder, never bundled), and
a load test of many viewers opening at once. Every figure is the median and range of several runs.

    .venv/bin/python bench/bench_dashboard.py [--runs 5] [--viewers 30] [--skip-load]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from explorer.serve import CHROMIUM, VoilaServer, rss_kb  # noqa: E402
from explorer.serve import CHROMIUM_ARGS as ARGS  # noqa: E402

FLOOR = ROOT / "bench" / "floor.ipynb"
SIGNATURE = """() => { const g = document.querySelector('.js-plotly-plot');
  return g && g.data ? JSON.stringify(g.data.map(t => [ (t.x||[]).length, (t.y||[]).slice(0, 3) ])) : null; }"""
USABLE = """() => { const g = document.querySelector('.js-plotly-plot .scatterlayer .trace');
  const l = document.querySelector('#loading'); const c = document.querySelector('select, .widget-dropdown');
  return !!g && !!c && (!l || l.offsetParent === null); }"""


def fmt(values: list[float], unit: str = "s", digits: int = 2) -> str:
    if not values:
        return "n/a"
    return (
        f"{statistics.median(values):.{digits}f} {unit} [{min(values):.{digits}f}-{max(values):.{digits}f}]"
    )


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(len(p))))
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=180_000)
    page.wait_for_function(USABLE, timeout=180_000, polling=50)
    return page, time.perf_counter() - t0, frames


def change_filter(page, floor: bool, step: int) -> tuple[float, int, list[int]]:
    frames_before = page.evaluate("() => 0")
    before = page.evaluate(SIGNATURE)
    t0 = time.perf_counter()
    if floor:
        page.locator(".widget-dropdown select").first.select_option(index=1 + step % 2)
    else:  # the Therapy list: pick one therapy, then another
        options = page.locator(".widget-select-multiple select").first.locator("option")
        page.locator(".widget-select-multiple select").first.select_option(
            index=step % min(2, options.count())
        )
    page.wait_for_function(f"(b) => ({SIGNATURE})() !== b", arg=before, timeout=60_000, polling=5)
    return time.perf_counter() - t0, frames_before, []


def measure(server: VoilaServer, browser, runs: int, floor: bool, query: str = "") -> dict:
    usable, latency, per_update, memory = [], [], [], []
    for _ in range(runs):
        page, t, frames = open_page(browser, server.url + query)
        usable.append(t)
        page.wait_for_timeout(300)
        memory += [rss_kb(pid) / 1024 for pid in server.kernel_pids()][-1:]
        for step in range(3):
            n0 = len(frames)
            dt, _, _ = change_filter(page, floor, step)
            page.wait_for_timeout(150)  # let the last frames of this update arrive
            latency.append(dt)
            per_update.append(sum(frames[n0:]) / 1024)
        page.close(run_before_unload=True)
    return {"usable": usable, "latency": latency, "kb_per_update": per_update, "kernel_mb": memory}


def scaled_data(factor: int, dest: Path) -> Path:
    """The bundled data repeated ``factor`` times under new ids (valid, synthetic, temporary)."""
    src = ROOT / "data"
    shutil.copy(src / "datapackage.json", dest / "datapackage.json")

    def rows(name):
        with open(src / name, newline="", encoding="utf-8") as fh:
            r = csv.DictReader(fh)
            return r.fieldnames, list(r)

    out = {}
    for name in (
        "studies.csv",
        "arms.csv",
        "outcomes.csv",
        "adverse_events.csv",
        "review_estimates.csv",
        "review_includes.csv",
    ):
        header, recs = rows(name)
        new = []
        for k in range(factor):
            for r in recs:
                r = dict(r)
                r["study_id"] = f"{r['study_id']}s{k}"
                if name == "studies.csv":
                    r["doi"] = f"{r['doi']}.s{k}" if r["doi"] else f"10.9999/synthetic.{r['study_id']}"
                    r["pmid"] = ""
                    r["parent_id"] = f"{r['parent_id']}s{k}" if r["parent_id"] else ""
                    r["title"] = f"{r['title']} (synthetic copy {k})"
                if name == "outcomes.csv":
                    r["outcome_id"] = f"{r['study_id']}_{r['outcome_id'].rsplit('_', 1)[1]}"
                if name == "adverse_events.csv":
                    r["ae_id"] = f"{r['study_id']}_{r['ae_id'].rsplit('_', 1)[1]}"
                if name == "review_estimates.csv":
                    r["estimate_id"] = f"{r['study_id']}_{r['estimate_id'].rsplit('_', 1)[1]}"
                if name == "review_includes.csv" and r["included_study_id"]:
                    r["included_study_id"] = f"{r['included_study_id']}s{k}"
                new.append(r)
        with open(dest / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
            w.writeheader()
            w.writerows(new)
        out[name] = len(new)
    return dest


def load_test(viewers: int, cull: int, pool: int = 0, log: Path | None = None, **options) -> dict:
    """``viewers`` pages opening within a few seconds (one headless Chromium, one page each, on
    loopback); then every tab is closed and the culling interval awaited. Bounded in count and time."""
    import asyncio

    from playwright.async_api import async_playwright

    with VoilaServer(
        log=log,
        cull_idle=cull,
        cull_interval=max(5, cull // 2),
        max_kernels=viewers + pool + 5,
        pool=pool,
        **options,
    ) as server:
        if pool:
            time.sleep(5 + 2 * pool)  # let the pool fill
        peak = [0.0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                pids = [server.proc.pid, *server.kernel_pids()]
                peak[0] = max(peak[0], sum(rss_kb(p) for p in pids) / 1024)
                time.sleep(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        errors: list[str] = []

        async def run() -> list[float | None]:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)

                async def viewer(i: int) -> float | None:
                    await asyncio.sleep(i * 0.1)  # all open within a few seconds
                    context = await browser.new_context()  # one "viewer" each, as separate people
                    page = await context.new_page()
                    t0 = time.perf_counter()
                    try:
                        await page.goto(server.url, wait_until="commit", timeout=300_000)
                        # poll from here: a page's own timers are throttled when it is in the background
                        while time.perf_counter() - t0 < 300:
                            if await page.evaluate(USABLE):
                                return time.perf_counter() - t0
                            await asyncio.sleep(0.25)
                        raise TimeoutError("not usable within 300 s")
                    except Exception as exc:  # counted as not usable; say why once
                        errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                        return None
                    finally:
                        await page.close(run_before_unload=True)

                times = await asyncio.gather(*(viewer(i) for i in range(viewers)))
                await browser.close()
                return list(times)

        results = asyncio.run(run())
        stop.set()
        sampler.join()
        after_close = sum(rss_kb(p) for p in [server.proc.pid, *server.kernel_pids()]) / 1024
        kernels_open = len(server.kernel_pids())
        time.sleep(cull * 2 + 10)
        after_cull = sum(rss_kb(p) for p in [server.proc.pid, *server.kernel_pids()]) / 1024
        done = [t for t in results if t is not None]
        return {
            "errors": sorted(set(errors))[:5],
            "viewers": viewers,
            "usable": len(done),
            "slowest_s": max(done) if done else None,
            "median_s": statistics.median(done) if done else None,
            "peak_mb": peak[0],
            "kernels_after_close": kernels_open,
            "mb_after_close": after_close,
            "kernels_after_cull": len(server.kernel_pids()),
            "mb_after_cull": after_cull,
        }


def single_viewer(runs: int) -> dict[str, dict]:
    """One viewer at a time: the floor, the explorer, with a preheated pool, with 100x rows."""
    report: dict[str, dict] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        with VoilaServer(FLOOR, progressive=False, dashboard_kernel="") as floor:  # stock Voila
            report["floor"] = measure(floor, browser, runs, floor=True)
        with VoilaServer() as explorer_server:
            report["explorer"] = measure(explorer_server, browser, runs, floor=False, query="?design=all")
        with VoilaServer(pool=2) as pooled:
            time.sleep(8)  # let the pool fill
            report["explorer, preheated pool"] = measure(
                pooled, browser, runs, floor=False, query="?design=all"
            )
        with tempfile.TemporaryDirectory() as tmp, VoilaServer(data_dir=scaled_data(100, Path(tmp))) as big:
            report["explorer, 100x rows"] = measure(
                big, browser, max(2, runs // 2), floor=False, query="?design=all"
            )
        browser.close()
    return report


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--viewers", type=int, default=30)
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--only-load", action="store_true", help="run the load test alone")
    ap.add_argument("--pool", type=int, default=0, help="preheated kernels for the load test")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    args = ap.parse_args()
    report: dict[str, dict] = {} if args.only_load else single_viewer(args.runs)
    if report:
        print(
            f"{'configuration':28} {'navigation to usable':26} {'filter change':26} {'KB per update':22} "
            f"{'kernel MB':16}"
        )
    for name, r in report.items():
        print(
            f"{name:28} {fmt(r['usable']):26} {fmt(r['latency'], 's', 3):26} "
            f"{fmt(r['kb_per_update'], 'KB', 1):22} {fmt(r['kernel_mb'], 'MB', 0):16}"
        )
    if not args.skip_load:
        load = load_test(args.viewers, cull=60, pool=args.pool)
        report["load"] = load
        print(
            f"\nLoad test: {load['usable']}/{load['viewers']} viewers usable; median {load['median_s']:.1f} s, "
            f"slowest {load['slowest_s']:.1f} s; peak memory {load['peak_mb']:.0f} MB; after all tabs closed "
            f"{load['kernels_after_close']} kernels, {load['mb_after_close']:.0f} MB; after the culling interval "
            f"{load['kernels_after_cull']} kernels, {load['mb_after_cull']:.0f} MB"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
