"""Where the evidence lives.

The dashboard, the API and the CLI all resolve the data directory the same way: an explicit
argument wins, then the ``EXPLORER_DATA`` environment variable, then the ``data/`` folder bundled
beside the package (the repository's own data package).
"""

from __future__ import annotations

import os
from pathlib import Path

BUNDLED_DATA = Path(__file__).resolve().parent.parent / "data"
ENV_VAR = "EXPLORER_DATA"


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory to use (not checked for existence: the validator says why)."""
    if path is not None and str(path) != "":
        return Path(path)
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env)
    return BUNDLED_DATA
