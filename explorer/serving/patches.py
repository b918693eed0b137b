"""What the Voila server process runs differently from stock Voila 0.5.

Imported by Voila (``VoilaConfiguration.multi_kernel_manager_class``) in the server process only:

- :class:`CappedKernelManager`: at most ``max_kernels`` kernels (then a clear 503 page), the
  dashboard's own kernelspec for ``python3`` notebooks, and an idle culler that spares a kernel
  whose page is still loading;
- :func:`share_template_bytecode`: one in-memory cache of compiled page templates for all pages;
- :func:`trust_notebooks_without_output`: no "Notebook is not trusted" warning per viewer for a
  notebook that has no stored output to trust.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket
from jupyter_server.services.contents.filemanager import FileContentsManager
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from nbconvert.exporters.templateexporter import TemplateExporter
from tornado import web
from traitlets import Int, Unicode

#: this checkout's Jupyter data: our template (local fonts and plotly.js) and preloading kernelspec
SHARE = Path(__file__).resolve().parent.parent.parent / "share" / "jupyter"


def put_jupyter_data_on_path(share: Path = SHARE) -> None:
    """Put this checkout's ``share/jupyter`` first on ``JUPYTER_PATH`` (when it exists).

    A regular install copies our template and kernelspec into ``<prefix>/share/jupyter`` and
    ``make setup`` links them there; an editable install (``pip install -e .``, ``conda env create
    -f environment.yml``, Binder) does neither, and a plain ``voila notebooks/dashboard.ipynb``
    then failed to find the template. Voila imports this module while it reads ``voila.json``
    (the kernel manager class named there), before it looks for templates or kernelspecs, so
    calling this at import makes a plain ``voila`` work in any environment that installed the
    package."""
    if not share.is_dir():
        return
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != str(share)]
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(share), *paths])


put_jupyter_data_on_path()


def trust_notebooks_without_output() -> None:
    """Mark a notebook's cells trusted, without a warning, when no cell holds an output.

    Trust decides whether a notebook's *stored* outputs (HTML, JavaScript) are shown; Voila runs
    the notebook and shows fresh outputs. A notebook saved without outputs (ours) has nothing to
    trust, yet stock Jupyter logs "Notebook ... is not trusted" for every viewer. A notebook with
    stored outputs keeps the stock check (and its warning).
    """
    if getattr(FileContentsManager, "_explorer_trust", False):
        return
    stock = FileContentsManager.mark_trusted_cells

    def mark_trusted_cells(self, nb, path=""):
        cells = nb.get("cells", [])
        if not any(c.get("outputs") for c in cells if c.get("cell_type") == "code"):
            self.notary.mark_cells(nb, True)
            return
        stock(self, nb, path)

    FileContentsManager.mark_trusted_cells = mark_trusted_cells  # type: ignore[method-assign]
    FileContentsManager._explorer_trust = True  # type: ignore[attr-defined]


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
        trust_notebooks_without_output()
        self._started_at: dict[str, float] = {}
        self._ever_connected: set[str] = set()
        self._dashboard_kernel_found: bool | None = None

    def notify_connect(self, kernel_id):
        self._ever_connected.add(kernel_id)
        return super().notify_connect(kernel_id)

    async def cull_kernel_if_idle(self, kernel_id):
        """Idle culling, except for a kernel whose page is still loading (never connected,
        younger than ``never_connected_grace``): culling it would leave that viewer with a
        page that never loads. A closed tab's kernel (it did connect) is culled as usual."""
        kernel = self._kernels.get(kernel_id)
        loading = kernel_id not in self._ever_connected and getattr(kernel, "execution_state", "") != "dead"
        if loading and time.monotonic() - self._started_at.get(kernel_id, 0.0) < self.never_connected_grace:
            return None
        return await super().cull_kernel_if_idle(kernel_id)

    def _has_dashboard_kernel(self) -> bool:
        """Whether the preloading kernelspec is installed where Jupyter looks. Where it is not (an
        environment that installed the package without ``make setup``'s links), the notebook's
        own ``python3`` runs it: slower to start, the same dashboard (a plain ``voila`` works in
        any environment that installed the package)."""
        if self._dashboard_kernel_found is None:
            try:
                self.kernel_spec_manager.get_kernel_spec(self.dashboard_kernel)
                found = True
            except Exception:  # jupyter_client's NoSuchKernel, or an unreadable spec
                self.log.warning("kernelspec %r not found: running the notebook's python3", self.dashboard_kernel)
                found = False
            self._dashboard_kernel_found = found
        return self._dashboard_kernel_found

    async def start_kernel(self, *args, **kwargs):  # type: ignore[override]
        if self.dashboard_kernel and kwargs.get("kernel_name") in (None, "python3") and self._has_dashboard_kernel():
            kwargs["kernel_name"] = self.dashboard_kernel
        if self.max_kernels and len(self.list_kernel_ids()) >= self.max_kernels:
            raise web.HTTPError(503, reason="The dashboard is full right now: please try again in a minute")
        kernel_id = await super().start_kernel(*args, **kwargs)
        self._started_at[kernel_id] = time.monotonic()
        return kernel_id
