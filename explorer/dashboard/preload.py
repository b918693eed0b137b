"""Work a served dashboard kernel starts before its notebook asks (see :mod:`.kernel`).

Kept free of heavy imports: the kernel imports this module while it is still starting. Holds no
state of its own: :func:`start` returns a :class:`Start` that the kernel keeps (on the kernel
object), and the page's ``app()`` takes the prepared model from there, once.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def prepare(data_dir: str | None = None, on_ready: Callable[[Any], None] | None = None) -> Any:
    """The evidence loaded and the landing selection derived (its rows and its findings table):
    what the next page's ``app()`` needs first. ``on_ready(model)`` is called as soon as the
    model can serve a page, before its findings table is computed: a page may start with the
    model while the table is still being pooled."""
    from explorer.dashboard.state import FilterState, Model
    from explorer.data import load

    model = Model(load(data_dir))
    model.filtered(FilterState())
    if on_ready is not None:
        on_ready(model)
    model.findings(FilterState())  # the landing view's table: the largest part of a first page
    _give_back_memory()
    return model


def _give_back_memory() -> None:
    """Return the heap pages the preparation freed to the system (glibc keeps them otherwise):
    about half a megabyte per viewer's kernel. A no-op where there is no glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Start:
    """A preload running in a background thread: imports ``modules`` (the page's, named by the
    caller so that this module imports nothing of the page), then :func:`prepare`."""

    def __init__(self, modules: tuple[str, ...] = (), data_dir: str | None = None):
        self.data_dir = data_dir
        self._model: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(modules,), name="explorer-preload", daemon=True)
        self._thread.start()

    def _run(self, modules: tuple[str, ...]) -> None:
        try:
            for name in modules:
                importlib.import_module(name)
            prepare(self.data_dir, self._hand_over)
        except Exception:  # app() reports any problem with the data on the page, in words
            log.debug("dashboard not prepared", exc_info=True)
        finally:
            self._ready.set()

    def _hand_over(self, model: Any) -> None:
        self._model = model
        self._ready.set()

    def model(self, timeout: float = 120) -> Any:
        """The prepared model, as soon as it can serve a page (its findings table may still be in
        the making: the model's lock makes a page that asks for it wait), or None if preparing
        failed."""
        if self._thread is not threading.current_thread():
            self._ready.wait(timeout)
        return self._model


def start(modules: tuple[str, ...] = (), data_dir: str | None = None) -> Start:
    """Begin preparing in a background thread; keep the result where ``app()`` looks for it."""
    return Start(modules, data_dir)
