"""``explorer diff``: what changed in the data since a git revision, and which pools moved."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

from explorer.analysis.effects import effects, pool
from explorer.data import load
from explorer.diff import compare, render

from .conftest import DATA

GIT = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]


def repo_with_data(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(DATA, repo / "data")
    subprocess.run([*GIT, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], cwd=repo, check=True)
    return repo / "data"


def drop_rows(path: Path, keep) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(r for r in rows if keep(r))


def test_a_pool_that_disappears_is_reported(tmp_path: Path) -> None:
    data = repo_with_data(tmp_path)
    eff = effects(load(data), "pain")
    first = pool(eff, by=["therapy", "window"]).iloc[0]
    keys = ["outcome", "therapy", "window", "comparator_kind"]
    members = eff.merge(first[keys].to_frame().T, on=keys)
    studies = set(members["study_id"])
    assert studies
    # the pool's studies no longer report pain: the pooled estimate is gone
    drop_rows(data / "outcomes.csv", lambda r: r["study_id"] not in studies)
    d = compare(data, "HEAD")
    gone = d.pools[(d.pools[keys] == first[keys].to_numpy()).all(axis=1)]
    assert len(gone) == 1, d.pools
    assert gone["estimate_after"].isna().all() and not gone["estimate_before"].isna().any()
    text = render(d)
    assert "None." not in text.split("Pooled estimates that moved")[1]


def test_an_unchanged_tree_moves_nothing(tmp_path: Path) -> None:
    data = repo_with_data(tmp_path)
    d = compare(data, "HEAD")
    assert d.pools.empty and "No change in the data." in render(d)
