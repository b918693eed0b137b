"""Dashboard benchmark: the explorer against the floor, both served by Voila in the same run.

The floor is ``bench/floor.ipynb``: one dropdown and one plotly FigureWidget with 4 traces. For
each, in headless Chromium on loopback: time from navigation to a usable page (plot drawn,
controls visible, spinner gone), time from a filter change to the updated plot, websocket bytes
received per update, the kernel's memory, and the CPU time each process spent on the page load.
Then the explorer with a warm pool of preheated kernels, with 100x the bundled rows (synthetic,
generated here into a temporary folder, never bundled), and a load test of many viewers opening
at once. Every figure is the median and range of several runs.

A second reference, "Voila minimum" (``bench/minimum.ipynb``: stock Voila, one dropdown, no plot,
no data), measures what any Voila page costs on this machine, cold and with a warm pool: a target
below it cannot be met by a Voila dashboard here, only by a lighter frontend than Voila's.

    .venv/bin/python bench/bench_dashboard.py [--runs 5] [--viewers 30] [--skip-load]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
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
from explorer.serving.harness import CHROMIUM, VoilaServer, rss_kb  # noqa: E402
from explorer.serving.harness import CHROMIUM_ARGS as ARGS  # noqa: E402

FLOOR = ROOT / "bench" / "floor.ipynb"
MINIMUM = ROOT / "bench" / "minimum.ipynb"
CLOCK = os.sysconf("SC_CLK_TCK")
SIGNATURE = """() => { const g = document.querySelector('.js-plotly-plot');
  return g && g.data ? JSON.stringify(g.data.map(t => [ (t.x||[]).length, (t.y||[]).slice(0, 3) ])) : null; }"""
USABLE = """() => { const g = document.querySelector('.js-plotly-plot .scatterlayer .trace');
  const l = document.querySelector('#loading'); const c = document.querySelector('select, .widget-dropdown, .explorer-panel input');
  return !!g && !!c && (!l || l.offsetParent === null); }"""
LANDING = """() => { const t = document.querySelector('table.explorer-sof');
  const l = document.querySelector('#loading'); const c = document.querySelector('.explorer-panel input');
  return !!t && !!c && (!l || l.offsetParent === null); }"""
CONTROLS = """() => { const l = document.querySelector('#loading');
  return !!document.querySelector('.widget-dropdown select') && (!l || l.offsetParent === null); }"""


def fmt(values: list[float], unit: str = "s", digits: int = 2) -> str:
    if not values:
        return "n/a"
    return (
        f"{statistics.median(values):.{digits}f} {unit} [{min(values):.{digits}f}-{max(values):.{digits}f}]"
    )


def cpu_seconds(server: VoilaServer) -> dict[str, float]:
    """CPU time (user + system) used so far by the browser's page renderers, the rest of the
    browser, the Voila server and its kernels."""
    kernels = set(server.kernel_pids())
    out = {"renderer": 0.0, "browser, other": 0.0, "server": 0.0, "kernels": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        pid, cpu = int(stat.parent.name), (int(fields[11]) + int(fields[12])) / CLOCK
        if pid == server.proc.pid:
            out["server"] += cpu
        elif pid in kernels:
            out["kernels"] += cpu
        elif b"chromium" in cmdline:
            out["renderer" if b"--type=renderer" in cmdline else "browser, other"] += cpu
    return out


def page_kernel_pids(page, server: VoilaServer) -> list[int]:
    """The process of the kernel serving ``page`` (its id is in Voila's page config, and in the
    kernel's connection-file argument)."""
    kernel_id = page.evaluate(
        "() => { const c = document.getElementById('jupyter-config-data');"
        " return c ? JSON.parse(c.textContent).kernelId : null; }"
    )
    if not kernel_id:
        return []
    pids = []
    for pid in server.kernel_pids():
        try:
            if kernel_id.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            continue
    return pids


def wait_quiet(server: VoilaServer, at_least: float = 2.0, timeout: float = 60.0) -> None:
    """Wait until the server and its kernels are idle: a warm pool is full, nothing starting."""
    time.sleep(at_least)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(server)
        time.sleep(0.5)
        after = cpu_seconds(server)
        if sum(after[k] - before[k] for k in ("server", "kernels")) < 0.03:
            return


def open_page(browser, url: str, usable: str = USABLE, server: VoilaServer | None = None):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(len(p))))
    cpu0 = cpu_seconds(server) if server else {}
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=180_000)
    page.wait_for_function(usable, timeout=180_000, polling=50)
    elapsed = time.perf_counter() - t0
    cpu = {k: v - cpu0[k] for k, v in cpu_seconds(server).items()} if server else {}
    return page, elapsed, frames, cpu


def change_filter(page, floor: bool, step: int) -> tuple[float, int, list[int]]:
    frames_before = page.evaluate("() => 0")
    before = page.evaluate(SIGNATURE)
    t0 = time.perf_counter()
    if floor:
        page.locator(".widget-dropdown select").first.select_option(index=1 + step % 2)
    else:  # the panel's first therapy: ticked (that therapy's trials), then unticked (all), ...
        # dispatched like select_option's events (no pointer travel), so both sides pay the same
        page.locator(".explorer-filter[data-filter='therapies'] input:not([data-all])").first.dispatch_event("click")
    page.wait_for_function(f"(b) => ({SIGNATURE})() !== b", arg=before, timeout=60_000, polling=5)
    return time.perf_counter() - t0, frames_before, []


def measure(
    server: VoilaServer, browser, runs: int, kind: str, query: str = "", warm_pool: bool = False
) -> dict:
    """``kind``: "floor", "minimum" (no plot, no filter change), "landing" (the explorer's first
    view, the findings table; no filter change) or "explorer" (its efficacy plot). With ``warm_pool``
    each run starts once the pool has refilled (the server and kernels idle)."""
    usable, latency, per_update, memory = [], [], [], []
    cpu: dict[str, list[float]] = {}
    for _ in range(runs):
        if warm_pool:
            wait_quiet(server)
        ready = {"minimum": CONTROLS, "landing": LANDING}.get(kind, USABLE)
        page, t, frames, used = open_page(browser, server.url + query, ready, server)
        usable.append(t)
        for k, v in {**used, "all": sum(used.values())}.items():
            cpu.setdefault(k, []).append(v)
        page.wait_for_timeout(300)
        memory += [rss_kb(pid) / 1024 for pid in page_kernel_pids(page, server)]
        for step in range(0 if kind in ("minimum", "landing") else 3):
            n0 = len(frames)
            dt, _, _ = change_filter(page, kind == "floor", step)
            page.wait_for_timeout(150)  # let the last frames of this update arrive
            latency.append(dt)
            per_update.append(sum(frames[n0:]) / 1024)
        page.close(run_before_unload=True)
    return {
        "usable": usable,
        "latency": latency,
        "kb_per_update": per_update,
        "kernel_mb": memory,
        "cpu": cpu,
    }


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
    for name in ("searches.csv", "screening.csv"):  # the search log, once (its ids are not per study)
        shutil.copy(src / name, dest / name)
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
    """One viewer at a time: the floor, the Voila minimum (cold and with a warm pool), the
    explorer (cold and with a warm pool), and the explorer with 100x rows."""
    report: dict[str, dict] = {}
    stock = {"progressive": False, "dashboard_kernel": ""}  # Voila as it comes
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        with VoilaServer(FLOOR, **stock) as floor:
            report["floor"] = measure(floor, browser, runs, "floor")
        with VoilaServer(MINIMUM, **stock) as minimum:
            report["Voila minimum"] = measure(minimum, browser, runs, "minimum")
        with VoilaServer(MINIMUM, pool=2, **stock) as minimum:
            report["Voila minimum, warm pool"] = measure(minimum, browser, runs, "minimum", warm_pool=True)
        with VoilaServer() as explorer_server:
            report["explorer, findings landing"] = measure(explorer_server, browser, runs, "landing", query="?design=all")
            report["explorer"] = measure(explorer_server, browser, runs, "explorer", query="?view=time&design=all")
        with VoilaServer(pool=2) as pooled:
            report["explorer, warm pool"] = measure(
                pooled, browser, runs, "landing", query="?design=all", warm_pool=True
            )
        with tempfile.TemporaryDirectory() as tmp, VoilaServer(data_dir=scaled_data(100, Path(tmp))) as big:
            report["explorer, 100x rows"] = measure(
                big, browser, max(2, runs // 2), "explorer", query="?view=time&design=all"
            )
        browser.close()
    return report


def print_report(report: dict[str, dict]) -> None:
    print(
        f"{'configuration':28} {'navigation to usable':26} {'filter change':26} {'KB per update':22} "
        f"{'kernel MB':16}"
    )
    for name, r in report.items():
        print(
            f"{name:28} {fmt(r['usable']):26} {fmt(r['latency'], 's', 3):26} "
            f"{fmt(r['kb_per_update'], 'KB', 1):22} {fmt(r['kernel_mb'], 'MB', 0):16}"
        )
    floor = statistics.median(report["floor"]["usable"])
    print(f"\nNavigation to usable as a fraction of the floor's median ({floor:.2f} s):")
    for name, r in report.items():
        print(f"  {name:28} {statistics.median(r['usable']) / floor:.2f}")
    kinds = ["renderer", "browser, other", "server", "kernels", "all"]
    print("\nCPU seconds per page load, navigation to usable (median; 2 cores):")
    print(f"  {'configuration':28} " + " ".join(f"{k:>15}" for k in kinds))
    for name, r in report.items():
        print(f"  {name:28} " + " ".join(f"{statistics.median(r['cpu'][k]):15.2f}" for k in kinds))


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
        print_report(report)
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
