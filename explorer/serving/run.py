"""``explorer serve``: start Voila with the configuration, say where it really listens, and stop
the whole process tree (Voila and its kernels) on Ctrl-C, SIGTERM or SIGHUP."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from explorer.serving.config import NOTEBOOK, PROBE, ROOT, ServeConfig, environment, voila_args


def start(
    conf: ServeConfig,
    notebook: Path = NOTEBOOK,
    data_dir: str | os.PathLike[str] | None = None,
    output: IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """Start Voila in a session of its own (its signals are ours to send: see :func:`stop`)."""
    options = {name: getattr(conf, name) for name in conf.__dataclass_fields__}
    return subprocess.Popen(
        [sys.executable, "-m", "voila", *voila_args(notebook, **options)],
        cwd=ROOT,
        env=environment(data_dir),
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=True,
    )


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + PROBE, timeout=2):
            return True
    except OSError:
        return False


def wait_until_serving(proc: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    """True once Voila answers at ``url``; False if it exited first (or did not answer in time)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if serving(url):
            return True
        time.sleep(0.25)
    return False


def descendants(pid: int) -> list[int]:
    """Process ids of every process below ``pid`` (its kernels run in sessions of their own, so
    the process group alone does not hold them)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop Voila and everything it started: SIGTERM first (Voila then shuts its kernels down),
    SIGKILL for whatever is left after ``timeout`` seconds."""
    tree = descendants(proc.pid)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
    deadline = time.monotonic() + 5
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


class _Stop(Exception):
    pass


@contextlib.contextmanager
def _stopping_on_signals() -> Iterator[None]:
    """SIGTERM, SIGHUP and Ctrl-C end ``explorer serve`` through :func:`stop`, never leaving
    Voila behind (Voila runs in its own session: the terminal's Ctrl-C reaches us only)."""

    def handler(signum, frame):
        raise _Stop(signum)

    signals = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def port_in_use(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET) as s:
        try:
            s.bind((ip, port))
        except OSError:
            return True
    return False


def parser() -> argparse.ArgumentParser:
    d = ServeConfig()  # the defaults, from one place
    p = argparse.ArgumentParser(prog="explorer serve", description="Serve the Voila dashboard.")
    p.add_argument("--port", type=int, default=d.port)
    p.add_argument("--ip", default=d.ip, help="address to listen on (default: loopback only)")
    p.add_argument("--pool", type=int, default=d.pool, help="preheated kernels kept ready (0: none)")
    p.add_argument(
        "--pool-refill-delay",
        type=float,
        default=d.refill_delay,
        help="seconds before a pool replaces a kernel a viewer took (after that page has loaded)",
    )
    p.add_argument(
        "--cull-idle", type=int, default=d.cull_idle, help="seconds before an idle kernel is shut down"
    )
    p.add_argument(
        "--max-kernels", type=int, default=d.max_kernels, help="concurrent viewers at most (0: no cap)"
    )
    p.add_argument("--data", help="data directory (default: $EXPLORER_DATA or the bundled data)")
    p.add_argument(
        "--progressive",
        action="store_true",
        help="send the page before the notebook runs (no pool; one viewer at a time, not a room)",
    )
    return p


def main(argv: list[str] | None = None, startup_timeout: float = 120) -> int:
    p = parser()
    args = p.parse_args(argv)
    try:
        conf = ServeConfig(
            port=args.port,
            ip=args.ip,
            pool=args.pool,
            refill_delay=args.pool_refill_delay,
            cull_idle=args.cull_idle,
            max_kernels=args.max_kernels,
            progressive=args.progressive,
        )
    except ValueError as exc:
        p.error(str(exc))
    if port_in_use(conf.ip, conf.port):
        print(
            f"explorer serve: {conf.ip}:{conf.port} is already in use (another dashboard or server?); "
            "choose another port with --port",
            file=sys.stderr,
        )
        return 1
    proc: subprocess.Popen[bytes] | None = None
    try:
        with _stopping_on_signals():
            proc = start(conf, data_dir=args.data)
            if not wait_until_serving(proc, conf.url, startup_timeout):
                code = proc.poll()
                why = f"exited with code {code}" if code is not None else f"did not answer in {startup_timeout:g} s"
                print(f"explorer serve: Voila {why}; the dashboard is not served", file=sys.stderr)
                stop(proc)
                return 1
            print(f"Serving the dashboard at {conf.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
            code = proc.wait()
            stop(proc)  # its kernels, should any be left
            return code
    except _Stop:
        if proc is not None:
            stop(proc)
        return 0
