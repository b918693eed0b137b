"""Data layer: the schema (``datapackage.json``), reading, validation and loading of the tables.

Nothing here imports the analysis, figures or dashboard layers.
"""

from explorer.data.load import Evidence, load
from explorer.data.problems import DataError, Problem
from explorer.data.schema import Field, Package, Resource, read_package
from explorer.data.validate import validate_package

__all__ = [
    "DataError",
    "Evidence",
    "Field",
    "Package",
    "Problem",
    "Resource",
    "load",
    "read_package",
    "validate_package",
]
