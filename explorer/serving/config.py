"""The serving configuration, with its defaults written once.

``explorer serve`` (:mod:`.run`), the test and benchmark harness (:mod:`.harness`) and a plain
``voila notebooks/dashboard.ipynb`` started from the repository (``voila.json`` there, see
:func:`voila_json`) all take their settings from :class:`ServeConfig`:

- loopback only (``ip``) and tracebacks hidden from viewers;
- our ``explorer`` template (Font Awesome and plotly.js served locally: no request leaves the
  machine; a closed page shuts its kernel down properly);
- optionally a pool of preheated kernels (``pool``): the notebook's imports and data loading run
  before anyone asks, and the page waits only for the selection in its URL;
- idle kernels culled, as a safety net behind the page's own shutdown: a kernel whose page is
  still loading is spared (:mod:`.patches`); keep the timeout well above the slowest page load;
- a cap on concurrent kernels (``max_kernels``): past it, a viewer gets a clear "full, try
  again" page (HTTP 503) instead of a machine that swaps for everyone;
- kernels talk to the server over local sockets (IPC), not TCP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOK = ROOT / "notebooks" / "dashboard.ipynb"
TEMPLATES = ROOT / "share" / "jupyter"
#: a file the ``explorer`` template serves: it answers once Voila is up (and with our template)
PROBE = "voila/templates/explorer/static/fontawesome/LICENSE.txt"
UNUSED_EXTENSIONS = ["jupyterlab-plotly", "@voila-dashboards/jupyterlab-preview"]
KERNEL_MANAGER = "explorer.serving.patches.CappedKernelManager"


@dataclass(frozen=True)
class ServeConfig:
    """How the dashboard is served. The defaults are ``explorer serve``'s."""

    port: int = 8866
    ip: str = "127.0.0.1"
    #: preheated kernels kept ready (0: none)
    pool: int = 0
    #: seconds before a pool replaces a kernel a viewer took. Starting the replacement costs about
    #: 0.8 s of CPU; measured here, starting it while the viewer's browser still builds the page
    #: made that page slower (0.25 s median over 10 alternating pairs: the browser's renderer is
    #: the critical path, on two cores). 3 s is past a pooled page's load.
    refill_delay: float = 3.0
    #: seconds before an idle kernel is shut down (a closed tab whose shutdown did not arrive)
    cull_idle: int = 600
    cull_interval: int = 60
    #: concurrent viewers at most (0: no cap)
    max_kernels: int = 40
    #: send the page before the notebook runs. Off by default: measured here it saved nothing for
    #: one viewer once the kernel's start was light, and with thirty viewers opening at once only
    #: 3 of 30 pages became usable with it (30 of 30 without; see bench/README.md). Voila cannot
    #: combine it with a pool.
    progressive: bool = False
    #: the kernelspec that replaces the notebook's ``python3`` ('' keeps python3: the benchmark's
    #: floor runs stock)
    dashboard_kernel: str = "explorer-dashboard"

    def __post_init__(self) -> None:
        if self.progressive and self.pool:
            raise ValueError("progressive rendering cannot be combined with a pool (Voila runs pooled notebooks ahead)")

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}/"

    def traitlets(self) -> dict[str, dict[str, Any]]:
        """The configuration as traitlets sections (what Voila's command line or config sets)."""
        conf: dict[str, dict[str, Any]] = {
            "Voila": {"ip": self.ip, "port": self.port, "port_retries": 0, "open_browser": False},
            "VoilaConfiguration": {
                "template": "explorer",
                "show_tracebacks": False,
                "multi_kernel_manager_class": KERNEL_MANAGER,
                # the dashboard needs the widget manager and anywidget only; plotly's lab
                # extension alone is a 4.8 MB script every page would load
                "extension_denylist": list(UNUSED_EXTENSIONS),
            },
            "CappedKernelManager": {
                "max_kernels": self.max_kernels,
                "dashboard_kernel": self.dashboard_kernel,
            },
            "MappingKernelManager": {
                "cull_idle_timeout": self.cull_idle,
                "cull_interval": self.cull_interval,
                "cull_connected": False,
            },
            # local sockets: no TCP port per kernel channel, and no "running over TCP without
            # encryption" warning per viewer
            "KernelManager": {"transport": "ipc"},
        }
        if self.pool > 0:
            conf["VoilaConfiguration"]["preheat_kernel"] = True
            conf["VoilaConfiguration"]["default_pool_size"] = self.pool
            conf["CappedKernelManager"]["fill_delay"] = self.refill_delay
        elif self.progressive:  # the browser loads while the kernel starts (see dashboard.kernel)
            conf["VoilaConfiguration"]["progressive_rendering"] = True
        return conf


def voila_args(notebook: Path = NOTEBOOK, **options: Any) -> list[str]:
    """Voila's command-line arguments for serving ``notebook`` (options: :class:`ServeConfig`)."""
    conf = ServeConfig(**options)
    args = [str(notebook)]
    for section, values in conf.traitlets().items():
        for key, value in values.items():
            # a list is given item by item (traitlets 5 deprecates a JSON list on the command line)
            args += [f"--{section}.{key}={v}" for v in (value if isinstance(value, list) else [value])]
    return args


def voila_json() -> dict[str, dict[str, Any]]:
    """The content of ``voila.json`` at the repository root, which Voila reads from its working
    directory: ``voila notebooks/dashboard.ipynb`` started there gets this configuration (and
    opens a browser, as Voila does). A test keeps the file equal to this."""
    conf = ServeConfig().traitlets()
    del conf["Voila"]["open_browser"]
    return conf


def environment(data_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Voila's environment: our template and kernelspec on ``JUPYTER_PATH`` (first), the data."""
    env = dict(os.environ)
    paths = [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != str(TEMPLATES)]
    env["JUPYTER_PATH"] = os.pathsep.join([str(TEMPLATES), *paths])
    if data_dir is not None:
        env["EXPLORER_DATA"] = str(data_dir)
    return env




#: what a plain ``voila`` must find in a Jupyter data directory (share/jupyter of the prefix)
JUPYTER_DATA = ["voila/templates/explorer", "kernels/explorer-dashboard"]


def link_jupyter_data(prefix: str | os.PathLike[str] | None = None) -> list[Path]:
    """Link our template and kernelspec into ``<prefix>/share/jupyter`` (the virtual
    environment's, by default), where a plain ``voila`` finds them. A regular install copies
    them there (pyproject's data-files); an editable one does not, so ``make setup`` links them
    (links: an edit of the template applies at once). Returns the links made."""
    import sys

    share = Path(prefix or sys.prefix) / "share" / "jupyter"
    made = []
    for rel in JUPYTER_DATA:
        target, link = TEMPLATES / rel, share / rel
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.exists() or link.is_symlink():
            continue  # a copy from a regular install, or someone else's: left alone
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=True)
        made.append(link)
    return made


if __name__ == "__main__":  # python -m explorer.serving.config: link the Jupyter data (make setup)
    for made in link_jupyter_data():
        print(f"linked {made}")
