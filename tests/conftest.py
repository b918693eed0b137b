"""Shared fixtures: the bundled data, broken-data builders, a Voila server and a browser."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
CHROMIUM = "/usr/bin/chromium"
# A small static file of our template: answers as soon as the server is up, runs no kernel.
PROBE = "voila/templates/explorer/static/fontawesome/LICENSE.txt"
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


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled data package."""
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VoilaServer:
    """Voila serving the dashboard notebook on a free loopback port; stopped by the fixture."""

    def __init__(self, data_dir: Path | None, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = dict(os.environ)
        env["JUPYTER_PATH"] = str(ROOT / "share" / "jupyter")
        if data_dir is not None:
            env["EXPLORER_DATA"] = str(data_dir)
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voila",
                "--no-browser",
                f"--port={self.port}",
                "--Voila.ip=127.0.0.1",
                "--template=explorer",
                "--show_tracebacks=False",
                str(ROOT / "notebooks" / "dashboard.ipynb"),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited with {self.proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(self.url + PROBE, timeout=2):
                    break
            except OSError:
                time.sleep(0.25)
        else:
            self.stop()
            raise RuntimeError("voila did not start within 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self.log.close()


def browser_available() -> bool:
    return Path(CHROMIUM).exists()


@pytest.fixture(scope="session")
def browser():
    if not browser_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: in CI the browser tests must run")
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def voila(tmp_path: Path) -> Iterator:
    """Factory: ``voila(data_dir)`` starts a server; all are stopped after the test."""
    servers: list[VoilaServer] = []

    def start(data_dir: Path | None = None) -> VoilaServer:
        server = VoilaServer(data_dir, tmp_path / f"voila-{len(servers)}.log")
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()
