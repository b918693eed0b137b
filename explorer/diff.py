"""``explorer diff [REV]``: what changed in the data since a git revision, and what it did to the
pooled estimates (per therapy and window), for the terminal or a pull request (Markdown)."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from explorer.data.load import Evidence, read_evidence
from explorer.data.schema import read_package

POOL_KEYS = ["outcome", "therapy", "window", "comparator_kind"]


class DiffError(Exception):
    pass


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def snapshot(data_dir: Path, rev: str, dest: Path) -> Path:
    """Write the data files as they were at ``rev`` into ``dest``."""
    top = _git(["rev-parse", "--show-toplevel"], data_dir)
    if top.returncode != 0:
        raise DiffError(f"{data_dir} is not inside a git repository")
    root = Path(top.stdout.decode().strip())
    rel = data_dir.resolve().relative_to(root.resolve())
    if _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root).returncode != 0:
        raise DiffError(f"unknown revision {rev!r}")
    pkg = read_package()
    for name in ["datapackage.json", *(r.path for r in pkg.resources)]:
        shown = _git(["show", f"{rev}:{(rel / name).as_posix()}"], root)
        if shown.returncode == 0:
            (dest / name).write_bytes(shown.stdout)
    return dest


def _evidence(path: Path) -> tuple[Evidence, int]:
    ev, problems = read_evidence(path)
    return ev, len(problems)


@dataclass
class DataDiff:
    rev: str
    added: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, list[str]] = field(default_factory=dict)
    pools: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems_before: int = 0
    problems_after: int = 0


def _key(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    return df[cols].astype(str).agg(":".join, axis=1) if len(df) else pd.Series(dtype=str)


def compare(data_dir: Path, rev: str = "HEAD") -> DataDiff:
    from explorer.analysis.effects import effects, pool

    pkg = read_package()
    with tempfile.TemporaryDirectory(prefix="explorer-diff-") as tmp:
        old, bad_old = _evidence(snapshot(data_dir, rev, Path(tmp)))
        new, bad_new = _evidence(data_dir)
        out = DataDiff(rev=rev, problems_before=bad_old, problems_after=bad_new)
        for res in pkg.resources:
            a, b = old.tables()[res.name], new.tables()[res.name]
            keys = list(res.primary_key)
            ka, kb = _key(a, keys), _key(b, keys)
            out.added[res.name] = sorted(set(kb) - set(ka))
            out.removed[res.name] = sorted(set(ka) - set(kb))
            both = sorted(set(ka) & set(kb))
            ai, bi = a.set_index(ka), b.set_index(kb)
            changes = []
            for k in both:
                ra, rb = ai.loc[k], bi.loc[k]
                for col in res.field_names:
                    va, vb = ra[col], rb[col]
                    if not (pd.isna(va) and pd.isna(vb)) and (pd.isna(va) or pd.isna(vb) or va != vb):
                        changes.append(f"{k} {col}: {_show(va)} → {_show(vb)}")
            out.changed[res.name] = changes
        frames = []
        for outcome in ("pain", "function"):
            po = pool(effects(old, outcome), by=["therapy", "window"])
            pn = pool(effects(new, outcome), by=["therapy", "window"])
            m = po[[*POOL_KEYS, "k", "estimate"]].merge(
                pn[[*POOL_KEYS, "k", "estimate"]], on=POOL_KEYS, how="outer", suffixes=("_before", "_after")
            )
            frames.append(m)
        pools = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if not pools.empty:
            pools["change"] = pools["estimate_after"] - pools["estimate_before"]
            moved = (
                (pools["k_before"].fillna(-1) != pools["k_after"].fillna(-1))
                | (pools["change"].abs() > 1e-12)
                | (pools["estimate_before"].isna() != pools["estimate_after"].isna())
            )
            pools = pools[moved].reset_index(drop=True)
        out.pools = pools
    return out


def _show(v: object, width: int = 60) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "(empty)"
    text = str(v)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(d: DataDiff, markdown: bool = False) -> str:
    h = (lambda t: f"### {t}") if markdown else (lambda t: f"{t}\n{'-' * len(t)}")
    bullet = "- " if markdown else "  "
    lines = [("## " if markdown else "") + f"Data changes since {d.rev}", ""]
    if d.problems_before or d.problems_after:
        lines += [f"Validation problems: {d.problems_before} before, {d.problems_after} now.", ""]
    total = 0
    for table in d.added:
        a, r, c = d.added[table], d.removed[table], d.changed[table]
        total += len(a) + len(r) + len(c)
        if not (a or r or c):
            continue
        lines += [h(f"{table}: {len(a)} added, {len(r)} removed, {len(c)} cells changed"), ""]
        lines += [f"{bullet}added {x}" for x in a[:50]] + [f"{bullet}removed {x}" for x in r[:50]]
        lines += [f"{bullet}{x}" for x in c[:100]]
        lines.append("")
    if total == 0:
        lines += ["No change in the data.", ""]
    lines += [h("Pooled estimates that moved (REML, MD on the common scale)"), ""]
    if d.pools.empty:
        lines.append("None.")
    else:

        def fmt(x: object, digits: int = 2) -> str:
            return "–" if pd.isna(x) else f"{x:.{digits}f}" if isinstance(x, float) else str(x)

        if markdown:
            lines += [
                "| outcome | therapy | window | comparator | k before | k after | before | after | change |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
        for r in d.pools.itertuples(index=False):
            cells = [
                r.outcome,
                r.therapy,
                r.window,
                r.comparator_kind,
                fmt(r.k_before, 0),
                fmt(r.k_after, 0),
                fmt(r.estimate_before),
                fmt(r.estimate_after),
                fmt(r.change),
            ]
            lines.append(
                "| " + " | ".join(map(str, cells)) + " |" if markdown else "  " + "  ".join(map(str, cells))
            )
    return "\n".join(lines).rstrip() + "\n"
