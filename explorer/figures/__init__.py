"""Figures: pure functions from DataFrames to plotly figures (no widgets, no state)."""

from explorer.figures.direction import direction_plot, direction_spec
from explorer.figures.efficacy import efficacy_over_time, efficacy_traces
from explorer.figures.palette import THERAPY_COLOURS, colour

__all__ = ["THERAPY_COLOURS", "colour", "direction_plot", "direction_spec", "efficacy_over_time", "efficacy_traces"]
