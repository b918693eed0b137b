"""Serving the dashboard: one documented configuration for a laptop, a room or a department.

``explorer serve`` starts Voila with:

- loopback only (``--ip``, default 127.0.0.1) and tracebacks hidden from viewers;
- our ``explorer`` template (Font Awesome and plotly.js served locally: no request leaves the machine);
- optionally a pool of preheated kernels (``--pool N``): the notebook's imports and data loading
  run before anyone asks, and the page waits only for the selection in its URL;
- idle kernels culled (a closed tab's kernel is shut down after ``--cull-idle`` seconds; Voila
  0.5's own shutdown request on tab close is refused by its XSRF check, so culling is what frees
  them). Keep the timeout well above the slowest page load under load: a kernel whose page has not
  connected yet counts as idle, and culling it leaves that viewer with a page that never loads
  (seen in the load test with a 5-20 s timeout);
- a cap on concurrent kernels (``--max-kernels``): past it, a viewer gets a clear "full, try again"
  page (HTTP 503) instead of a machine that swaps for everyone.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNUSED_EXTENSIONS = ["jupyterlab-plotly", "@voila-dashboards/jupyterlab-preview"]
NOTEBOOK = ROOT / "notebooks" / "dashboard.ipynb"
TEMPLATES = ROOT / "share" / "jupyter"
PROBE = "voila/templates/explorer/static/fontawesome/LICENSE.txt"
#: Debian's Chromium and the flags that keep it quiet on a closed network (tests and benchmarks).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:  # the cap lives in the server process only; importing jupyter_server is cheap there
    import jinja2
    from jinja2.bccache import Bucket
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from nbconvert.exporters.templateexporter import TemplateExporter
    from tornado import web
    from traitlets import Int, Unicode

    class SharedBytecodeCache(jinja2.BytecodeCache):
        """Compiled Jinja templates kept in memory across Jinja environments.

        Voila 0.5 makes a new exporter, hence a new Jinja environment, for every page, so the
        dozen templates behind a page were parsed and compiled again for each viewer: about 0.5 s
        of the server's CPU per page, 15 s for a room of thirty. Entries are keyed by template,
        source checksum and the environment's async flag and extensions, so a changed template
        or a differently configured environment never gets stale code.
        """

        def __init__(self) -> None:
            self.store: dict[str, bytes] = {}

        def get_bucket(self, environment, name, filename, source):  # type: ignore[override]
            flags = [str(environment.is_async), *sorted(environment.extensions)]
            key = "|".join([self.get_cache_key(name, filename), *flags])
            bucket = Bucket(environment, key, self.get_source_checksum(source))
            self.load_bytecode(bucket)
            return bucket

        def load_bytecode(self, bucket: Bucket) -> None:
            code = self.store.get(bucket.key)
            if code is not None:
                bucket.bytecode_from_string(code)

        def dump_bytecode(self, bucket: Bucket) -> None:
            self.store[bucket.key] = bucket.bytecode_to_string()

    def share_template_bytecode(cache: jinja2.BytecodeCache | None = None) -> None:
        """Give every nbconvert/Voila Jinja environment made from now on one shared cache."""
        if getattr(TemplateExporter, "_explorer_shared_cache", None) is not None:
            return
        shared = cache or SharedBytecodeCache()
        create = TemplateExporter._create_environment

        def create_environment(self):
            env = create(self)
            env.bytecode_cache = shared
            return env

        TemplateExporter._create_environment = create_environment  # type: ignore[method-assign]
        TemplateExporter._explorer_shared_cache = shared  # type: ignore[attr-defined]

    class CappedKernelManager(AsyncMappingKernelManager):
        """A kernel manager that refuses new kernels past ``max_kernels`` with a 503 and a message,
        and runs the notebook's ``python3`` as ``dashboard_kernel`` (same Python, started with the
        dashboard's imports and data already loaded: :mod:`explorer.dashboard.kernel`)."""

        max_kernels = Int(40, config=True, help="Most kernels at once (0: no cap).")
        dashboard_kernel = Unicode(
            "explorer-dashboard",
            config=True,
            help="Kernelspec used for python3 notebooks ('' to keep python3).",
        )

        never_connected_grace = Int(
            300,
            config=True,
            help="Seconds a kernel whose page has never connected is spared by the idle culler: "
            "under load a viewer's browser can take minutes to load before it connects.",
        )

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            share_template_bytecode()  # this class is built once, inside the Voila server
            self._started_at: dict[str, float] = {}
            self._ever_connected: set[str] = set()

        def notify_connect(self, kernel_id):
            self._ever_connected.add(kernel_id)
            return super().notify_connect(kernel_id)

        async def cull_kernel_if_idle(self, kernel_id):
            """Idle culling, except for a kernel whose page is still loading (never connected,
            younger than ``never_connected_grace``): culling it would leave that viewer with a
            page that never loads. A closed tab's kernel (it did connect) is culled as usual."""
            kernel = self._kernels.get(kernel_id)
            loading = (
                kernel_id not in self._ever_connected and getattr(kernel, "execution_state", "") != "dead"
            )
            if (
                loading
                and time.monotonic() - self._started_at.get(kernel_id, 0.0) < self.never_connected_grace
            ):
                return None
            return await super().cull_kernel_if_idle(kernel_id)

        async def start_kernel(self, *args, **kwargs):  # type: ignore[override]
            if self.dashboard_kernel and kwargs.get("kernel_name") in (None, "python3"):
                kwargs["kernel_name"] = self.dashboard_kernel
            if self.max_kernels and len(self.list_kernel_ids()) >= self.max_kernels:
                raise web.HTTPError(
                    503, reason="The dashboard is full right now: please try again in a minute"
                )
            kernel_id = await super().start_kernel(*args, **kwargs)
            self._started_at[kernel_id] = time.monotonic()
            return kernel_id

except ImportError:  # pragma: no cover - only without the serving stack
    CappedKernelManager = None  # type: ignore[assignment,misc]


def voila_args(
    notebook: Path = NOTEBOOK,
    port: int = 8866,
    ip: str = "127.0.0.1",
    pool: int = 0,
    cull_idle: int = 600,
    cull_interval: int = 60,
    max_kernels: int = 40,
    progressive: bool = False,
    dashboard_kernel: str = "explorer-dashboard",
    refill_delay: float = 3.0,
) -> list[str]:
    """Voila's command-line arguments for serving ``notebook`` (see the module docstring).

    ``progressive`` sends the page before the notebook runs (Voila cannot combine it with a
    pool). Off by default: measured here it saved nothing for one viewer once the kernel's start
    was light, and with thirty viewers opening at once only 3 of 30 pages became usable with it
    (30 of 30 without; see bench/README.md). ``dashboard_kernel`` is the kernelspec that
    replaces ``python3`` ('' keeps it: the benchmark's floor runs stock).

    ``refill_delay``: seconds before a pool replaces the kernel a viewer just took (Voila's
    default is 1). Starting the replacement costs about 0.8 s of CPU; measured here, starting it
    while the viewer's browser is still building the page made that page slower (0.25 s median
    over 10 alternating pairs: the browser's renderer is the critical path, on two cores). 3 s
    is past a pooled page's load.
    """
    args = [
        str(notebook),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--template=explorer",
        "--show_tracebacks=False",
        "--VoilaConfiguration.multi_kernel_manager_class=explorer.serve.CappedKernelManager",
        f"--CappedKernelManager.max_kernels={max_kernels}",
        f"--CappedKernelManager.dashboard_kernel={dashboard_kernel}",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        "--MappingKernelManager.cull_connected=False",
        # the dashboard needs the widget manager and anywidget only; plotly's lab extension alone
        # is a 4.8 MB script every page would load
        f"--VoilaConfiguration.extension_denylist={json.dumps(UNUSED_EXTENSIONS)}",
    ]
    if pool > 0:
        args += [
            "--preheat_kernel=True",
            f"--pool_size={pool}",
            f"--CappedKernelManager.fill_delay={refill_delay}",
        ]
    elif progressive:  # the browser loads while the kernel starts (see dashboard.kernel)
        args += ["--progressive_rendering=True"]
    return args


def environment(data_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join([str(TEMPLATES), *filter(None, [env.get("JUPYTER_PATH")])])
    if data_dir is not None:
        env["EXPLORER_DATA"] = str(data_dir)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VoilaServer:
    """Voila on a free loopback port, as a context manager (tests and benchmarks)."""

    def __init__(
        self,
        notebook: Path = NOTEBOOK,
        data_dir: Path | None = None,
        log: Path | None = None,
        timeout: float = 60,
        **options,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = open(log or os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voila", *voila_args(notebook, port=self.port, **options)],
            cwd=ROOT,
            env=environment(data_dir),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.log.close()
                raise RuntimeError(f"voila exited with {self.proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(self.url + PROBE, timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"voila did not start within {timeout} s") from None
                time.sleep(0.25)

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels this server started (its child processes)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self.log.close()

    def __enter__(self) -> VoilaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="explorer serve", description="Serve the Voila dashboard.")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--pool", type=int, default=0, help="preheated kernels kept ready (0: none)")
    p.add_argument(
        "--pool-refill-delay",
        type=float,
        default=3.0,
        help="seconds before a pool replaces a kernel a viewer took (after that page has loaded)",
    )
    p.add_argument("--cull-idle", type=int, default=600, help="seconds before an idle kernel is shut down")
    p.add_argument("--max-kernels", type=int, default=40, help="concurrent viewers at most (0: no cap)")
    p.add_argument("--data", help="data directory (default: $EXPLORER_DATA or the bundled data)")
    p.add_argument(
        "--progressive",
        action="store_true",
        help="send the page before the notebook runs (no pool; one viewer at a time, not a room)",
    )
    args = p.parse_args(argv)
    if args.progressive and args.pool:
        p.error("--progressive cannot be combined with --pool (Voila runs pooled notebooks ahead)")
    cmd = [
        sys.executable,
        "-m",
        "voila",
        *voila_args(
            port=args.port,
            ip=args.ip,
            pool=args.pool,
            refill_delay=args.pool_refill_delay,
            cull_idle=args.cull_idle,
            max_kernels=args.max_kernels,
            progressive=args.progressive,
        ),
    ]
    print(f"Serving the dashboard at http://{args.ip}:{args.port}/ (Ctrl-C to stop)", file=sys.stderr)
    try:
        return subprocess.call(cmd, env=environment(args.data), cwd=ROOT)
    except KeyboardInterrupt:
        return 0
