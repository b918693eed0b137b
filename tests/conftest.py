"""Shared fixtures: the bundled data, broken-data builders, a Voila server and a browser; the
Hypothesis profile; the ``serving`` marker on every test that starts a server, a kernel or a browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from explorer.serving.harness import CHROMIUM, CHROMIUM_ARGS
from explorer.serving.harness import VoilaServer as _Server

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

# No test may depend on how fast the machine is: on a loaded 2-core machine a property test's
# examples can take seconds, and Hypothesis's deadline (200 ms per example) and its `too_slow`
# health check (data generation slower than 1 s in all) would fail a test that is correct. "ci",
# the default, switches both off; HYPOTHESIS_PROFILE=dev keeps Hypothesis's own timing checks (to
# see what has become slow). A test's own @settings(...) inherits what it does not set.
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "ci")

#: Fixtures that start a Voila server, a kernel or a browser: their tests are marked ``serving``
#: and stay out of the fast tier (``make unit``).
SERVING_FIXTURES = {"voila", "browser", "dashboard_kernel"}
SERVING_MODULES = {"test_serving.py", "test_dashboard_browser.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SERVING_MODULES or SERVING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.serving)


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
