"""Figures: pure functions from DataFrames to plotly figures (no widgets, no state)."""

from explorer.figures.efficacy import efficacy_over_time, efficacy_traces
from explorer.figures.palette import THERAPY_COLOURS, colour

__all__ = ["THERAPY_COLOURS", "colour", "efficacy_over_time", "efficacy_traces"]
