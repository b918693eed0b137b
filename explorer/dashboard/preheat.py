"""The page's request, in a kernel Voila preheated before anyone asked for the page.

Voila runs a pooled kernel's notebook ahead of any request; the notebook learns the request (its
query string, which picks the dashboard's initial filters) from one message on the server's
``voila/query/<kernel id>`` websocket. ``voila.utils.get_query_string`` does exactly that, but
importing ``voila.utils`` pulls jupyter_server, tornado and jupyterlab_server into the kernel:
about 50 MB more per pooled viewer (measured by ``bench/``), enough to make a pooled kernel
heavier than the floor's. This reads the same message with ``websockets`` alone (already a
dependency of Voila), and falls back to Voila's helper if the protocol ever differs.
"""

from __future__ import annotations

import json
import os

#: Voila 0.5's environment variables for a preheated kernel (voila.utils.ENV_VARIABLE)
_PREHEAT, _KERNEL_ID = "VOILA_PREHEAT", "VOILA_KERNEL_ID"


def request_url() -> str:
    """The websocket that delivers this kernel's request, as Voila 0.5 builds it."""
    protocol = os.environ.get("VOILA_WS_PROTOCOL", "ws")
    ip = os.environ.get("VOILA_APP_IP", "127.0.0.1")
    port = os.environ.get("VOILA_APP_PORT", "8866")
    base = os.environ.get("VOILA_WS_BASE_URL", os.environ.get("VOILA_SERVER_URL", "/"))
    return f"{protocol}://{ip}:{port}{base}voila/query/{os.environ.get(_KERNEL_ID, '')}"


def wait_for_request(url: str | None = None, open_timeout: float = 5.0) -> None:
    """Block until the page's request arrives; put its variables (``QUERY_STRING``...) in the
    environment. A no-op outside a preheated kernel."""
    if os.environ.get(_PREHEAT) != "True":
        return
    try:
        from websockets.sync.client import connect

        with connect(url or request_url(), open_timeout=open_timeout) as socket:
            info = json.loads(socket.recv())
        if not isinstance(info, dict):
            raise ValueError("request info is not an object")
    except Exception:  # a changed protocol: Voila's own helper (heavier, but it knows)
        from voila.utils import wait_for_request as voila_wait

        voila_wait()
        return
    for key, value in info.items():
        if isinstance(key, str) and isinstance(value, str):
            os.environ[key] = value


def page_query() -> str:
    """The page's query string ('' if there is none)."""
    wait_for_request()
    return os.environ.get("QUERY_STRING", "")
