"""The report's plots: prevalence bar charts with 95% intervals, drawn with matplotlib (Agg, no
pyplot) as base64 PNGs for report.html.

Importing matplotlib takes a third of a second, so the drawing happens in a forked process
(`Plotter`) that imports it as soon as it starts: the command line starts one before it loads
the lint, so that the import runs on a core the start-up leaves idle, and only the drawing is
left when the report is written, beside the labels. This module imports only the standard
library, and a plot is described in plain values (`PlotSpec`), so the child never loads the
lint either.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from traitlab.lint.forking import FORK, settle_child

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

Interval = tuple[float, float, float]  # estimate, low, high
PlotSpec = tuple[str, list[str], dict[str, list[Interval]]]  # title, bar labels, series
Plots = list[tuple[str, str]]  # title, base64 PNG


class Plotter:
    """Draws plots in a forked child that has imported matplotlib by the time it is asked
    (`start` early; otherwise it starts when asked to draw). Where no process can be forked,
    or the child fails, the plots are drawn in this process. `close` stops a child that was
    not used; it is safe to call at any time."""

    def __init__(self) -> None:
        self._connection: Connection | None = None
        self._child: BaseProcess | None = None

    def start(self) -> Plotter:
        if FORK is not None and self._child is None:
            self._connection, theirs = FORK.Pipe()
            self._child = FORK.Process(
                target=_plot_server, args=(theirs, self._connection), daemon=True
            )
            self._child.start()
            theirs.close()
        return self

    def draw(self, specs: list[PlotSpec]) -> Callable[[], Plots]:
        """Start drawing the plots; call the result for them."""
        if not specs:
            self.close()
            return lambda: []
        connection, child = self.start()._connection, self._child
        if connection is not None and child is not None:
            try:
                connection.send(specs)
            except OSError:  # the child died before it was asked
                pass
            else:
                self._connection = self._child = None
                return functools.partial(_answer, connection, child, specs)
        self.close()
        plots = draw(specs)
        return lambda: plots

    def close(self) -> None:
        if self._connection is not None and self._child is not None:
            self._connection.close()
            self._child.terminate()
            self._child.join()
        self._connection = self._child = None


def draw(specs: list[PlotSpec]) -> Plots:
    """The plots as base64 PNGs, by title (in this process)."""
    return [(title, _bars(labels, series)) for title, labels, series in specs]


def _answer(connection: Connection, child: BaseProcess, specs: list[PlotSpec]) -> Plots:
    """The plots the child drew, or drawn here if it died without an answer."""
    try:
        plots: Plots = connection.recv()
    except EOFError:
        plots = draw(specs)
    finally:
        connection.close()
        child.join()
    return plots


def _plot_server(connection: Connection, parents: Connection) -> None:
    """The plotter's child: matplotlib imported at once, then one request answered."""
    settle_child()
    parents.close()
    import matplotlib.backends.backend_agg  # noqa: F401  (imported before it is asked for)
    import matplotlib.figure  # noqa: F401

    try:
        specs = connection.recv()
    except EOFError:  # closed unused
        return
    connection.send(draw(specs))
    connection.close()


def _bars(labels: list[str], series: dict[str, list[Interval]]) -> str:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = 0.8 / len(series)
    positions = np.arange(len(labels))
    # A figure of its own on the Agg canvas: no pyplot (its global state and GUI backends).
    figure = Figure(figsize=(9, 0.9 + 0.45 * len(labels) * len(series)))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for offset, (name, intervals) in enumerate(series.items()):
        estimates = np.array([estimate for estimate, _, _ in intervals])
        errors = np.array(
            [
                [estimate - low for estimate, low, _ in intervals],
                [high - estimate for estimate, _, high in intervals],
            ]
        )
        axes.barh(
            positions + offset * height,
            estimates,
            height=height,
            xerr=errors,
            capsize=3,
            label=name,
        )
    axes.set_yticks(positions + height * (len(series) - 1) / 2, labels=labels, fontsize=8)
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of items (95% interval)")
    if len(series) > 1:
        axes.legend(loc="lower right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
