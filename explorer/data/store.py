"""Safe writes to a data directory: a lock, atomic renames and a recovery journal.

Why: analysts add studies while others read or add too. Every table is written to a temporary
file in the same folder and fsync'ed; only then is a journal naming the pending renames written
(atomically), and the renames done. A crash before the journal exists leaves the old files (the
temporaries are swept away next time); a crash after it is rolled forward by :func:`recover` on
the next write. Readers never see a half-written table: a rename replaces a file in one step.
Writers are serialised by an exclusive ``flock`` on ``.explorer.lock``.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from explorer.data.atomic import kept_mode
from explorer.data.schema import Resource

LOCK_NAME = ".explorer.lock"
JOURNAL_NAME = ".explorer-journal.json"
TMP_PREFIX = ".explorer-tmp-"


class LockTimeout(Exception):
    """Another writer held the data directory for too long."""


@contextlib.contextmanager
def locked(data_dir: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold the data directory's writer lock (blocking up to ``timeout`` seconds)."""
    fh = open(data_dir / LOCK_NAME, "a+")  # noqa: SIM115 - closed below
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(f"another writer holds {data_dir / LOCK_NAME}") from None
                time.sleep(0.05)
        recover(data_dir)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def recover(data_dir: Path) -> None:
    """Finish an interrupted commit (journal present) or sweep its leftovers (no journal)."""
    journal = data_dir / JOURNAL_NAME
    if journal.exists():
        try:
            pending = json.loads(journal.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pending = {}
        for tmp, target in pending.items():
            src = data_dir / tmp
            if src.exists():
                os.replace(src, data_dir / target)
        journal.unlink(missing_ok=True)
    for leftover in data_dir.glob(TMP_PREFIX + "*"):
        leftover.unlink(missing_ok=True)


def render_csv(res: Resource, rows: Sequence[dict[str, str]]) -> str:
    """The canonical form of a table: schema column order, sorted by primary key, LF endings.

    One canonical form keeps diffs of the data small and reviewable.
    """
    key = list(res.primary_key) or res.field_names[:1]
    ordered = sorted(rows, key=lambda r: tuple(str(r.get(k, "")) for k in key))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=res.field_names, lineterminator="\n", extrasaction="raise")
    w.writeheader()
    for r in ordered:
        w.writerow({k: r.get(k, "") or "" for k in res.field_names})
    return buf.getvalue()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def commit(data_dir: Path, files: dict[str, str]) -> None:
    """Replace several files of ``data_dir`` together. Call while holding :func:`locked`."""
    pending: dict[str, str] = {}
    try:
        for name, text in files.items():
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=data_dir)
            pending[Path(tmp).name] = name
            os.chmod(tmp, kept_mode(data_dir / name))  # each table keeps its mode (not mkstemp's 0600)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        fd, jtmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=data_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(pending, fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        for tmp in pending:
            (data_dir / tmp).unlink(missing_ok=True)
        raise
    os.replace(jtmp, data_dir / JOURNAL_NAME)  # the commit point
    _fsync_dir(data_dir)
    recover(data_dir)
    _fsync_dir(data_dir)
