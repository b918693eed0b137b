"""Dashboard layer: ipywidgets state and wiring (the only layer that imports ipywidgets)."""

from explorer.dashboard.app import Dashboard, app
from explorer.dashboard.state import FilterState, Model

__all__ = ["Dashboard", "FilterState", "Model", "app"]
