"""Serving the dashboard with Voila: one documented configuration for a laptop, a room or a department.

- :mod:`.config`: the configuration (its defaults, once) as Voila's arguments and environment;
- :mod:`.patches`: what the Voila server process runs differently (kernel cap, culling of closed
  tabs but not of loading pages, one template cache);
- :mod:`.run`: ``explorer serve``: start Voila, say where it really listens, stop the whole tree;
- :mod:`.harness`: Voila on a free port as a context manager, for the tests and benchmarks.
"""
