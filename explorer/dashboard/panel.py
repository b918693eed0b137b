"""The filter panel: one generic component for every filter of the table.

Why one widget rather than an ipywidget per filter: fifteen ipywidgets are about forty widget
models (each has its layout and style) that the browser must create before the page is usable;
``SelectMultiple`` lists hide options behind scrollbars and need Ctrl-click. This component draws
the table of :mod:`explorer.dashboard.filters` as plain HTML controls with full labels
(``static/panel.js``), and holds one value: ``{filter name: value}``. The kernel never trusts it:
:meth:`Model.state_from` keeps only known codes.

It also carries the dashboard's style sheet (``static/dashboard.css``), so the page needs no
separate HTML widget for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from explorer.dashboard import filters
from explorer.dashboard.plot import static


class FilterPanel(anywidget.AnyWidget):
    _esm = static("panel.js")
    _css = static("dashboard.css")
    spec = traitlets.List().tag(sync=True)
    value = traitlets.Dict().tag(sync=True)

    def __init__(self, spec: list[dict[str, Any]], state, **kwargs: Any):
        super().__init__(spec=spec, value=filters.values(state), **kwargs)
        self._reset: list[Callable[[], None]] = []
        self._escape: list[Callable[[], None]] = []
        self.on_msg(self._message)
        self.add_class("explorer-filters")

    def show(self, state) -> None:
        """Move every control to ``state``."""
        new = filters.values(state)
        if new != self.value:
            self.value = new

    def on_reset(self, callback: Callable[[], None]) -> None:
        self._reset.append(callback)

    def on_escape(self, callback: Callable[[], None]) -> None:
        """``callback()`` when Esc is pressed in presentation mode (the panel listens for the page)."""
        self._escape.append(callback)

    def _message(self, _widget: Any, content: dict, _buffers: list) -> None:
        event = content.get("event") if isinstance(content, dict) else None
        for cb in {"reset": self._reset, "escape": self._escape}.get(event, []):
            cb()
