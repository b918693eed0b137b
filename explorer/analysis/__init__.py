"""Statistics for the evidence explorer: effect sizes, pooling, series and windows."""
