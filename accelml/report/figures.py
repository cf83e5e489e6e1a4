"""Matplotlib, imported only when a report is drawn, and figures turned into inline PNG ``<img>`` tags."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from accelml.exceptions import ConfigError

__all__ = ["FAMILY_COLOURS", "INSTALL_HINT", "family_colour", "figure", "figure_html", "pyplot", "title"]

INSTALL_HINT = "pip install 'accelml[report]'"
DPI = 110
# One colour per model family, the same in every chart (matplotlib's colour-blind-friendly tab10 order).
FAMILY_COLOURS = {
    "lgbm": "#1f77b4",
    "xgb": "#ff7f0e",
    "catboost": "#2ca02c",
    "rf": "#d62728",
    "extra_trees": "#9467bd",
    "linear": "#8c564b",
    "knn": "#e377c2",
    "ensemble": "#111111",
}
_OTHER = ("#7f7f7f", "#bcbd22", "#17becf")


def family_colour(family: str) -> str:
    """The colour of a model family; families without their own colour share a few greys and olives.

    >>> family_colour("lgbm")
    '#1f77b4'
    """
    if family in FAMILY_COLOURS:
        return FAMILY_COLOURS[family]
    return _OTHER[sum(map(ord, family)) % len(_OTHER)]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend, or a clear error naming the extra to install.

    Raises:
        ConfigError: matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError as exc:
        message = f"the HTML report draws its charts with matplotlib; install it with `{INSTALL_HINT}`"
        raise ConfigError(message) from exc
    matplotlib.use("Agg", force=True)  # never a window, never a display server
    import matplotlib.pyplot as plt

    return plt


def figure(ncols: int = 1, nrows: int = 1, *, width: float = 6.4, height: float = 4.0) -> tuple[Any, Any]:
    """A new figure in the report's style, ``(fig, axes)`` as :func:`matplotlib.pyplot.subplots` gives them."""
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=True, layout="constrained")
    for ax in fig.axes:  # styled per axes: the user's global matplotlib settings are left alone
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(True, alpha=0.3, linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes


def title(ax: Any, text: str) -> None:
    """A chart title in the report's style."""
    ax.set_title(text, fontsize=11, fontweight="bold", loc="left")


def figure_html(fig: Any, alt: str) -> str:
    """The figure as an ``<img>`` holding a base64 PNG (no file, no network), and the figure closed."""
    plt = pyplot()
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    finally:
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="chart" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
