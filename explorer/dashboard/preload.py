"""Work a served dashboard kernel starts before its notebook asks (see :mod:`.kernel`).

Kept free of heavy imports: the kernel imports this module while it is still starting.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)
_thread: threading.Thread | None = None
_PREPARED: dict[str | None, Any] = {}


def prepare(data_dir: str | None = None) -> None:
    """Load the evidence and derive the default selection now, for the next page's ``app()``.

    Served kernels call this at start-up (:mod:`explorer.dashboard.kernel`), while the viewer's
    browser is still loading; errors are left for ``app()`` to show on the page.
    """
    from explorer.dashboard.state import FilterState, Model
    from explorer.data import load

    model = Model(load(data_dir))
    model.filtered(FilterState())
    model.findings(FilterState())  # the landing view's table: the largest part of a first page
    _PREPARED[data_dir] = model


def take(data_dir: str | None = None) -> Any:
    """The model prepared for ``data_dir`` (once: a later call reads the data again), or None.
    Waits for a preload still running."""
    wait()
    return _PREPARED.pop(data_dir, None)


def _run(modules: tuple[str, ...]) -> None:
    try:
        for name in modules:  # the page's own imports (named by the caller: no import cycle)
            importlib.import_module(name)
        prepare()
    except Exception:  # app() reports any problem with the data on the page, in words
        log.debug("dashboard not prepared", exc_info=True)


def start(modules: tuple[str, ...] = ()) -> None:
    """Import ``modules`` (the dashboard page) and read the evidence in a background thread (once)."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_run, args=(modules,), name="explorer-preload", daemon=True)
        _thread.start()


def wait(timeout: float = 120) -> None:
    """Until the preload (if one was started) has finished."""
    if _thread is not None and _thread is not threading.current_thread():
        _thread.join(timeout)
