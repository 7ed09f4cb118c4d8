"""PNG figures of a sweep, from grid-shaped statistics (arrays in, files out).

- :func:`curves`: a metric against the first axis, one curve per value of the second, one panel per value
  of the third (mean ± std over seeds; further axes averaged);
- :func:`heatmap`: a metric over the first two axes (further axes averaged);
- :func:`scatter`: one metric against another for every finished run, coloured by the first axis.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402


def _positions(values: list[Any]) -> tuple[np.ndarray, list[str] | None]:
    """Numeric values are their own x positions; anything else is placed at 0, 1, 2, ... with labels."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float), None
    return np.arange(len(values), dtype=float), [str(v) for v in values]


def _reduce(array: np.ndarray, keep: int) -> np.ndarray:
    """Average out every axis beyond the first ``keep`` (ignoring NaN), padding to ``keep`` axes."""
    while array.ndim < keep:
        array = array[..., None]
    if array.ndim > keep:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN slice averages to NaN, as it should
            array = np.nanmean(array.reshape(*array.shape[:keep], -1), axis=-1)
    return array


def curves(mean: np.ndarray, std: np.ndarray, axes: list[tuple[str, list[Any]]], ylabel: str, path: Path,
           title: str = "", scale: float = 1.0) -> None:
    """``mean`` ± ``std`` (grid-shaped) against the first axis; curves: second axis; panels: third axis.

    ``axes``: (label, values) of every grid axis, in order."""
    mean, std = _reduce(mean * scale, 3), _reduce(std * scale, 3)
    x, ticks = _positions(axes[0][1])
    series = axes[1] if len(axes) > 1 else ("", [None])
    panels = axes[2] if len(axes) > 2 else ("", [None])
    fig, grid = plt.subplots(1, len(panels[1]), figsize=(5 * len(panels[1]), 3.8), squeeze=False, sharey=True)
    for p, (ax, panel) in enumerate(zip(grid[0], panels[1])):
        for s, value in enumerate(series[1]):
            label = f"{series[0]} = {value}" if value is not None else None
            line = ax.errorbar(x, mean[:, s, p], yerr=std[:, s, p], marker="o", capsize=3, label=label)
            line[0].set_linestyle("-")
        ax.set(xlabel=axes[0][0], title=f"{panels[0]} = {panel}" if panel is not None else "")
        if ticks is not None:
            ax.set_xticks(x, ticks)
        ax.grid(alpha=0.3)
        if series[1] != [None]:
            ax.legend(fontsize=8)
    grid[0][0].set_ylabel(ylabel)
    fig.suptitle(title + (" (mean ± std over seeds; further axes averaged)" if len(axes) > 3 else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def heatmap(mean: np.ndarray, axes: list[tuple[str, list[Any]]], label: str, path: Path, title: str = "",
            scale: float = 1.0, form: str = "{:.1f}") -> None:
    """``mean`` over the first two axes (x: first, y: second), each cell annotated."""
    grid = _reduce(mean * scale, 2)
    fig, ax = plt.subplots(figsize=(1.0 * grid.shape[0] + 3, 0.6 * grid.shape[1] + 2))
    image = ax.imshow(grid.T, origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, label=label)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if np.isfinite(grid[i, j]):
                light = image.norm(grid[i, j]) > 0.6  # dark text on the bright end of viridis
                ax.text(i, j, form.format(grid[i, j]), ha="center", va="center", fontsize=8,
                        color="k" if light else "w")
    ax.set_xticks(range(grid.shape[0]), [str(v) for v in axes[0][1]])
    ax.set_yticks(range(grid.shape[1]), [str(v) for v in axes[1][1]])
    ax.set(xlabel=axes[0][0], ylabel=axes[1][0], title=title + (" (further axes averaged)" if len(axes) > 2 else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def scatter(x: np.ndarray, y: np.ndarray, colour: np.ndarray, colour_label: str, colour_values: list[Any],
            xlabel: str, ylabel: str, path: Path, title: str = "", logx: bool | None = None) -> None:
    """Every finished run as a dot, coloured by its position on the first axis (``colour``: an index);
    ``logx`` None: a log x axis when x spans more than a decade."""
    if logx is None:
        logx = bool(len(x)) and x.min() > 0 and x.max() > 10 * x.min()
    fig, ax = plt.subplots(figsize=(6, 4))
    cmap = plt.get_cmap("viridis", max(len(colour_values), 2))
    for index, value in enumerate(colour_values):
        chosen = colour == index
        if chosen.any():
            ax.scatter(x[chosen], y[chosen], color=cmap(index), label=f"{colour_label} = {value}", s=25)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xscale="log" if logx else "linear")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
