"""Work a served dashboard kernel starts before its notebook asks (see :mod:`.kernel`).

Kept free of heavy imports: the kernel imports this module while it is still starting.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)
_thread: threading.Thread | None = None


def _run() -> None:
    try:
        from explorer.dashboard.page import prepare

        prepare()
    except Exception:  # app() reports any problem with the data on the page, in words
        log.debug("dashboard not prepared", exc_info=True)


def start() -> None:
    """Import the dashboard and read the evidence in a background thread (once)."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_run, name="explorer-preload", daemon=True)
        _thread.start()


def wait(timeout: float = 120) -> None:
    """Until the preload (if one was started) has finished."""
    if _thread is not None and _thread is not threading.current_thread():
        _thread.join(timeout)
