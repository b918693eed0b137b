"""Shared fixtures: the bundled data, broken-data builders, a Voila server and a browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from explorer.serving.harness import CHROMIUM, CHROMIUM_ARGS
from explorer.serving.harness import VoilaServer as _Server

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled data package."""
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


class VoilaServer(_Server):
    """The dashboard served as ``explorer serve`` would, on a free port; logs go to ``log``."""

    def __init__(self, data_dir: Path | None, log: Path, **options):
        super().__init__(data_dir=data_dir, log=log, **options)


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

    def start(data_dir: Path | None = None, **options) -> VoilaServer:
        server = VoilaServer(data_dir, tmp_path / f"voila-{len(servers)}.log", **options)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()
