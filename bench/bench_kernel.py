"""Kernel benchmark: a served dashboard kernel's memory and CPU, without a browser (about 30 s).

The dashboard benchmark (``bench_dashboard.py``) reads the kernel's memory once a page is usable
in Chromium, which takes minutes. This one does to the kernel what Voila does: starts the
``explorer-dashboard`` kernelspec (whose first ``kernel_info`` reply starts the preload: page
imports, evidence, the landing findings table), runs the notebook's code, and reads the
kernel's resident memory (VmRSS, as the dashboard benchmark does) and the CPU seconds it has
used, 0.3 s after the cell is done. The floor is ``bench/minimum.ipynb`` (one dropdown) in a
stock ``python3`` kernel, measured alternately in the same run.

Then the same work step by step in a fresh interpreter (the kernel's preload, in order; median
of the runs): memory after each step and the CPU seconds it took, to say where a kernel's memory
and time go.

    .venv/bin/python bench/bench_kernel.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from explorer.serving.harness import rss_kb  # noqa: E402

CLOCK = os.sysconf("SC_CLK_TCK")
STEPS = r"""
import json, os, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
out, last = [], [time.process_time()]
def step(name):
    now = time.process_time()
    out.append((name, rss(), now - last[0], "scipy.special" in sys.modules))
    last[0] = now
step("interpreter")
import ipykernel.kernelapp, ipywidgets
step("ipykernel, ipywidgets")
import explorer.dashboard.page
step("import the page")
from explorer.dashboard.state import FilterState, Model
from explorer.data import load
ev = load()
step("load()")
model = Model(ev)
model.filtered(FilterState())
step("Model, filtered()")
model.findings(FilterState())
step("findings()")
print(json.dumps(out))
"""


def cells(notebook: Path) -> str:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def anon_mb(pid: int) -> float:
    """The kernel's private memory (RssAnon): VmRSS less the file-backed pages (the code of numpy,
    pandas and the rest), which every kernel on the machine shares."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK


def run_kernel(kernel: str, code: str) -> tuple[float, float, float, float]:
    """(MB resident, of which private, CPU seconds since start, seconds from ready to the cell done)."""
    km = KernelManager(kernel_name=kernel)
    km.start_kernel(cwd=str(ROOT))  # this checkout's explorer, whatever the caller's directory
    kc = km.client()
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=60)  # kernel_info: a served explorer kernel starts its preload
        t0 = time.perf_counter()
        msg_id = kc.execute(code)
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"]))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        seconds = time.perf_counter() - t0
        time.sleep(0.3)
        pid = km.provisioner.process.pid
        return rss_kb(pid) / 1024, anon_mb(pid), cpu_seconds(pid), seconds
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def fmt(values: list[float], unit: str, digits: int) -> str:
    return f"{statistics.median(values):.{digits}f} {unit} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    configs = {
        "floor (minimum.ipynb, python3 kernel)": ("python3", cells(ROOT / "bench" / "minimum.ipynb")),
        "explorer (dashboard.ipynb, its kernel)": ("explorer-dashboard", cells(ROOT / "notebooks" / "dashboard.ipynb")),
    }
    results: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in configs}
    for _ in range(runs):
        for name, (kernel, code) in configs.items():  # alternately: a slower moment hits both
            results[name].append(run_kernel(kernel, code))
    print(f"Served kernels, {runs} runs each (median [range]):")
    print(f"{'configuration':40} {'kernel MB':22} {'of which private':22} {'kernel CPU':20} cell done after ready")
    for name, rows in results.items():
        mb, anon, cpu, sec = zip(*rows, strict=True)
        print(f"{name:40} {fmt(mb, 'MB', 1):22} {fmt(anon, 'MB', 1):22} {fmt(cpu, 's', 2):20} {fmt(sec, 's', 2)}")
    print("\nThe preload's steps in a fresh interpreter (MB after the step, CPU seconds it took):")
    steps = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True, check=True, cwd=ROOT)
        steps.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for i, (name, *_) in enumerate(steps[0]):
        mb = statistics.median(run[i][1] for run in steps)
        cpu = statistics.median(run[i][2] for run in steps)
        scipy = " (scipy.special loaded)" if steps[0][i][3] else ""
        print(f"  {name:24} {mb:6.1f} MB  {cpu:5.2f} s{scipy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
