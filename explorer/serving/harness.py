"""Voila serving the dashboard on a free loopback port, as a context manager: what the tests and
the benchmarks drive (with Debian's Chromium, quiet on a closed network)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from explorer.serving.config import NOTEBOOK, ServeConfig
from explorer.serving.run import descendants, start, stop, wait_until_serving

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VoilaServer:
    """The dashboard served as ``explorer serve`` serves it, on a free port (options:
    :class:`~explorer.serving.config.ServeConfig`); output goes to ``log``."""

    def __init__(
        self,
        notebook: Path = NOTEBOOK,
        data_dir: Path | None = None,
        log: Path | None = None,
        timeout: float = 60,
        **options,
    ):
        self.conf = ServeConfig(port=free_port(), **options)
        self.port = self.conf.port
        self.url = self.conf.url
        self.log = open(log or os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = start(self.conf, notebook, data_dir, output=self.log)
        if not wait_until_serving(self.proc, self.url, timeout):
            code = self.proc.poll()
            self.stop()
            if code is not None:
                raise RuntimeError(f"voila exited with {code}; see {log}")
            raise RuntimeError(f"voila did not start within {timeout} s")

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels this server started (its child processes)."""
        return descendants(self.proc.pid)

    def stop(self) -> None:
        stop(self.proc)
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
