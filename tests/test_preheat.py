"""A preheated kernel learns its page's request from Voila's query websocket, without Voila."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from websockets.sync.server import serve

from explorer.dashboard import preheat


@pytest.fixture
def query_socket():
    """A stand-in for Voila's ``voila/query/<kernel id>`` socket: records the path asked for and
    sends one request-info message."""
    seen: list[str] = []
    message = {"QUERY_STRING": "therapy=prp&window=short", "SCRIPT_NAME": "/"}

    def handler(connection) -> None:
        seen.append(connection.request.path)
        connection.send(json.dumps(message))

    with serve(handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.socket.getsockname()[1], seen
        server.shutdown()


def test_waits_for_the_request_and_sets_its_environment(query_socket, monkeypatch) -> None:
    port, seen = query_socket
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setenv("VOILA_KERNEL_ID", "k-123")
    monkeypatch.setenv("VOILA_APP_PORT", str(port))
    monkeypatch.setenv("VOILA_SERVER_URL", "/base/")
    monkeypatch.delenv("QUERY_STRING", raising=False)
    assert preheat.page_query() == "therapy=prp&window=short"
    assert seen == ["/base/voila/query/k-123"]


def test_outside_a_preheated_kernel_reads_the_environment_only(monkeypatch) -> None:
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    monkeypatch.setenv("QUERY_STRING", "design=rct")
    monkeypatch.setenv("VOILA_APP_PORT", "1")  # nothing listens there: it must not be asked
    assert preheat.page_query() == "design=rct"


def test_a_preheated_dashboard_does_not_import_voila_or_jupyter_server(query_socket) -> None:
    """The reason for this module: a pooled kernel stays light (Voila's helper would import
    jupyter_server, tornado and jupyterlab_server: about 50 MB)."""
    port, seen = query_socket
    env = {**os.environ, "VOILA_PREHEAT": "True", "VOILA_KERNEL_ID": "k-9", "VOILA_APP_PORT": str(port)}
    code = (
        "import sys; from explorer.dashboard import app; app();"
        "print(sorted(m for m in ('voila', 'jupyter_server', 'tornado.web') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"
    assert seen == ["/voila/query/k-9"]  # it did wait for the request
