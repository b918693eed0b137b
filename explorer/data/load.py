"""Loading the validated tables as typed pandas DataFrames."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from explorer.data.problems import DataError, Problem
from explorer.data.schema import Package, Resource, read_package
from explorer.data.validate import Row, collect

_DTYPES = {"integer": "Int64", "number": "float64", "boolean": "boolean", "string": "object"}


def table_frame(res: Resource, rows: list[Row]) -> pd.DataFrame:
    """One table's validated rows as a typed DataFrame (schema column order and dtypes)."""
    cols = {}
    for f in res.fields:
        values = [r.values.get(f.name) for r in rows]
        cols[f.name] = pd.Series(values, dtype=_DTYPES.get(f.type, "object"))
    return pd.DataFrame(cols)


@dataclass
class Evidence:
    """The evidence base: one DataFrame per table, plus the schema and the dataset version."""

    studies: pd.DataFrame
    arms: pd.DataFrame
    outcomes: pd.DataFrame
    adverse_events: pd.DataFrame
    review_estimates: pd.DataFrame
    review_includes: pd.DataFrame
    package: Package = field(repr=False)
    version: str
    data_dir: Path
    searches: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    screening: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: what the files were when read (:func:`fingerprint`): a later change makes the evidence stale
    read_as: tuple = field(default=(), repr=False)

    def stale(self) -> bool:
        """Whether the data files changed since they were read (``explorer add``, an edit): a
        kernel prepared before the change must not serve the old data as if current."""
        return bool(self.read_as) and fingerprint(self.data_dir) != self.read_as

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "studies": self.studies,
            "arms": self.arms,
            "outcomes": self.outcomes,
            "adverse_events": self.adverse_events,
            "review_estimates": self.review_estimates,
            "review_includes": self.review_includes,
            "searches": self.searches,
            "screening": self.screening,
        }

    def __repr__(self) -> str:
        return (
            f"Evidence(version={self.version!r}, studies={len(self.studies)}, arms={len(self.arms)}, "
            f"outcomes={len(self.outcomes)}, adverse_events={len(self.adverse_events)}, data_dir='{self.data_dir}')"
        )


def fingerprint(data_dir: Path) -> tuple:
    """Name, size and modification time of every file of a data directory (cheap: no reading)."""
    try:
        files = sorted(p for p in Path(data_dir).iterdir() if p.is_file())
        return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    except OSError:
        return ()


def read_evidence(data_dir: Path, pkg: Package | None = None) -> tuple[Evidence, list[Problem]]:
    """The tables of ``data_dir`` as far as they validate (rows with a problem are left out), and
    the problems. :func:`load` is the strict form; ``explorer diff`` compares with this one."""
    pkg = pkg or read_package()
    read_as = fingerprint(data_dir)  # before reading: a change during the read also makes it stale
    problems, rows, version = collect(data_dir, pkg)
    frames = {res.name: table_frame(res, rows.get(res.name, [])) for res in pkg.resources}
    ev = Evidence(
        studies=frames["studies"],
        arms=frames["arms"],
        outcomes=frames["outcomes"],
        adverse_events=frames["adverse_events"],
        review_estimates=frames["review_estimates"],
        review_includes=frames["review_includes"],
        searches=frames["searches"],
        screening=frames["screening"],
        package=pkg,
        version=version or pkg.version,
        data_dir=data_dir,
        read_as=read_as,
    )
    return ev, problems


def load(data_dir: str | Path | None = None) -> Evidence:
    """Validate and load a data directory (``EXPLORER_DATA`` or the bundled data by default).

    Raises :class:`DataError` listing every problem when the data do not validate: an analysis
    never runs on half-valid data.
    """
    from explorer.paths import data_dir as resolve

    ev, problems = read_evidence(resolve(data_dir))
    if problems:
        raise DataError(problems)
    return ev
