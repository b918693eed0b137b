"""Serving configuration: arguments, the shared template cache, the dashboard kernel."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.serving.config import TEMPLATES, voila_args
from explorer.serving.patches import SharedBytecodeCache, share_template_bytecode


def test_progressive_rendering_only_when_asked_and_never_with_a_pool() -> None:
    progressive = "--VoilaConfiguration.progressive_rendering=True"
    assert progressive not in voila_args()
    assert progressive in voila_args(progressive=True)
    with pytest.raises(ValueError, match="cannot be combined with a pool"):
        voila_args(pool=2, progressive=True)
    pooled = voila_args(pool=2)
    assert progressive not in pooled
    assert "--VoilaConfiguration.preheat_kernel=True" in pooled
    assert "--VoilaConfiguration.default_pool_size=2" in pooled


def test_loopback_hidden_tracebacks_culling_and_cap() -> None:
    args = voila_args(cull_idle=120, max_kernels=7)
    assert "--Voila.ip=127.0.0.1" in args and "--VoilaConfiguration.show_tracebacks=False" in args
    assert "--MappingKernelManager.cull_idle_timeout=120" in args
    assert "--CappedKernelManager.max_kernels=7" in args
    assert "--Voila.port_retries=0" in args  # never silently on another port
    assert "--VoilaConfiguration.extension_denylist=jupyterlab-plotly" in args  # item by item


def test_shared_bytecode_cache_compiles_once_and_sees_changes() -> None:
    import jinja2

    cache = SharedBytecodeCache()
    compiled: list[str] = []

    class Counting(jinja2.Environment):
        def _compile(self, source, filename):
            compiled.append(filename)
            return super()._compile(source, filename)

    templates = {"page.j2": "Hello {{ name }}"}
    for _ in range(3):  # a fresh environment per page, as Voila makes them
        env = Counting(loader=jinja2.DictLoader(templates), bytecode_cache=cache)
        assert env.get_template("page.j2").render(name="room") == "Hello room"
    assert len(compiled) == 1
    templates["page.j2"] = "Bye {{ name }}"  # a changed template is compiled again
    env = Counting(loader=jinja2.DictLoader(templates), bytecode_cache=cache)
    assert env.get_template("page.j2").render(name="room") == "Bye room"
    assert len(compiled) == 2
    async_env = Counting(loader=jinja2.DictLoader(templates), bytecode_cache=cache, enable_async=True)
    async_env.get_template("page.j2")  # differently configured: its own entry
    assert len(compiled) == 3


def test_nbconvert_environments_share_one_cache() -> None:
    from nbconvert.exporters.templateexporter import TemplateExporter

    share_template_bytecode()
    share_template_bytecode()  # idempotent
    from nbconvert import HTMLExporter

    a, b = HTMLExporter().environment, HTMLExporter().environment
    assert a is not b and a.bytecode_cache is b.bytecode_cache is TemplateExporter._explorer_shared_cache


@pytest.fixture
def dashboard_kernel(monkeypatch):
    from jupyter_client.manager import start_new_kernel

    paths = [str(TEMPLATES), *filter(None, [os.environ.get("JUPYTER_PATH")])]
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(paths))  # as explorer serve sets it
    km, kc = start_new_kernel(kernel_name="explorer-dashboard")
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def _run(kc, code: str) -> str:
    out: list[str] = []
    kc.execute_interactive(
        code,
        timeout=120,
        output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
    )
    return "".join(out)


def test_dashboard_kernel_prepares_after_answering_and_app_uses_it(dashboard_kernel) -> None:
    """The kernel answers (it is ready) before the dashboard's imports; they then run in a
    thread, and app() takes the prepared evidence instead of reading it again."""
    deadline = time.monotonic() + 120
    while True:
        state = _run(
            dashboard_kernel,
            "s = get_ipython().kernel.explorer_start\n"
            "print(s is not None, s is not None and not s._thread.is_alive())",
        ).split()
        if state == ["True", "True"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert state == ["True", "True"]
    out = _run(
        dashboard_kernel,
        "from explorer.dashboard import page\n"
        "k = get_ipython().kernel\n"
        "print(k.explorer_start.model() is not None)\n"
        "w = page.app()\n"
        "print(k.explorer_start, type(w).__name__)",
    )
    assert out.split("\n")[:2] == ["True", "None VBox"]


def test_culler_spares_a_loading_page_but_not_a_closed_tab() -> None:
    """A kernel whose page never connected is kept for the grace period; one that connected and
    was left (a closed tab) goes to the usual idle culling."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from explorer.serving.patches import CappedKernelManager

    km = CappedKernelManager(never_connected_grace=300)
    culled: list[str] = []

    async def parent_cull(self, kernel_id):  # what the stock culler would do
        culled.append(kernel_id)

    base = CappedKernelManager.__mro__[1]
    original = base.cull_kernel_if_idle
    base.cull_kernel_if_idle = parent_cull
    try:
        km._started_at.update(
            {"loading": time.monotonic(), "closed": time.monotonic(), "old": time.monotonic() - 400}
        )
        km._ever_connected.add("closed")
        for kid in ("loading", "closed", "old"):
            # in a thread of its own: another test's event loop may still run in this one
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, km.cull_kernel_if_idle(kid)).result()
    finally:
        base.cull_kernel_if_idle = original
    assert culled == ["closed", "old"]


def test_pool_refill_waits_past_the_page_load() -> None:
    """The delay reaches Voila's pooled kernel manager through our class's config section."""
    from traitlets.config import Configurable
    from traitlets.config.loader import KVArgParseConfigLoader
    from voila.voila_kernel_manager import voila_kernel_manager_factory

    from explorer.serving.patches import CappedKernelManager

    args = [a for a in voila_args(pool=2, refill_delay=4.5) if a.startswith("--CappedKernelManager.")]
    config = KVArgParseConfigLoader(argv=args).load_config()
    pooled = voila_kernel_manager_factory(CappedKernelManager, True, 2)

    class Server(Configurable):  # what the manager reads from Voila at start
        root_dir = "."
        notebook_path = None

    class Quiet(pooled):  # no kernels are started by this test
        def fill_if_needed(self, *args, **kwargs) -> None:
            return None

    async def build():
        return Quiet(config=config, parent=Server())

    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # its own loop: Playwright's may run in this thread
        manager = pool.submit(asyncio.run, build()).result()
    assert manager.fill_delay == 4.5
    assert manager.max_kernels == 40
    assert "--CappedKernelManager.fill_delay=3.0" in voila_args(pool=1)  # the default
    assert not any("fill_delay" in a for a in voila_args())  # no pool, no refill


def test_voila_json_is_the_serving_configuration() -> None:
    """voila.json (read by a plain ``voila`` started in the repository) says what explorer serve
    does: one configuration, written once in explorer/serving/config.py."""
    from explorer.serving.config import ROOT, voila_json

    assert json.loads((ROOT / "voila.json").read_text(encoding="utf-8")) == voila_json()


def test_serve_options_default_from_one_place() -> None:
    from explorer.serving.config import ServeConfig
    from explorer.serving.run import parser

    args, d = parser().parse_args([]), ServeConfig()
    assert (args.port, args.ip, args.pool, args.cull_idle, args.max_kernels) == (
        d.port,
        d.ip,
        d.pool,
        d.cull_idle,
        d.max_kernels,
    )
    assert args.pool_refill_delay == d.refill_delay


def test_a_taken_port_fails_clearly(capsys) -> None:
    from explorer.serving.run import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port} is already in use" in err and "Serving the dashboard" not in err


def test_sigterm_stops_voila_and_its_kernels(tmp_path) -> None:
    """explorer serve prints the address Voila really listens on, and SIGTERM ends the whole
    tree: Voila and the kernel a page started."""
    import signal
    import urllib.request

    from explorer.serving.harness import free_port
    from explorer.serving.run import alive, descendants

    port = free_port()
    err = open(tmp_path / "serve.log", "w+b")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "explorer", "serve", "--port", str(port)], stderr=err, stdout=err
    )
    try:
        deadline = time.monotonic() + 90
        while b"Serving the dashboard at" not in (tmp_path / "serve.log").read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        assert f"Serving the dashboard at http://127.0.0.1:{port}/" in (tmp_path / "serve.log").read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=120) as page:  # starts a kernel
            assert page.status == 200
        tree = descendants(proc.pid)
        assert len(tree) >= 2, tree  # Voila and the page's kernel
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in tree) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in tree if alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
        err.close()


def test_plain_voila_serves_the_dashboard_where_the_package_was_only_installed(tmp_path) -> None:
    """``voila notebooks/dashboard.ipynb`` in an environment that installed the package and
    nothing else (``pip install -e .``, conda, Binder: no template or kernelspec in its
    share/jupyter): a bare environment that imports this one's packages, started in the
    repository, serves the dashboard with our template (the page executes the notebook)."""
    import site
    import subprocess
    import sys
    import urllib.request

    from explorer.serving.config import ROOT
    from explorer.serving.harness import free_port
    from explorer.serving.run import stop, wait_until_serving

    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    bare = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(bare), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "with_installed.pth").write_text(
        "\n".join([*site.getsitepackages(), str(ROOT)]) + "\n", encoding="utf-8"
    )
    # the environment's Jupyter data as an install leaves it: Voila's and Jupyter's, not ours
    ours = {("voila", "templates", "explorer"), ("kernels", "explorer-dashboard")}
    source = Path(sys.prefix) / "share" / "jupyter"
    for top in source.iterdir():
        for item in top.rglob("*"):
            rel = item.relative_to(source)
            if len(rel.parts) > 3 or any(rel.parts[: len(o)] == o for o in ours):
                continue
            if len(rel.parts) == 3 or item.is_file() or item.is_symlink():
                (env_dir / "share" / "jupyter" / rel).parent.mkdir(parents=True, exist_ok=True)
                if not (env_dir / "share" / "jupyter" / rel).exists():
                    (env_dir / "share" / "jupyter" / rel).symlink_to(item.resolve())
    assert (env_dir / "share" / "jupyter" / "voila" / "templates" / "lab").exists()
    assert not (env_dir / "share" / "jupyter" / "kernels" / "explorer-dashboard").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    port = free_port()
    log = open(tmp_path / "voila.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(bare), "-m", "voila", "notebooks/dashboard.ipynb", "--no-browser", f"--port={port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        assert wait_until_serving(proc, url, 90), (tmp_path / "voila.log").read_text()
        with urllib.request.urlopen(url, timeout=240) as page:
            status, body = page.status, page.read().decode("utf-8", "replace")
    finally:
        stop(proc)
        log.close()
    assert status == 200
    assert "voila/templates/explorer/static" in body  # our template: fonts and plotly.js served locally
    assert "application/vnd.jupyter.widget-view+json" in body  # the notebook ran: its widgets are on the page
