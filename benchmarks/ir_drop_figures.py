"""Figures of docs/ir_drop.md: one solved crossbar with its IR drop, partitioning, convergence, validation.

    python benchmarks/ir_drop_figures.py      # writes docs/ir_drop_crossbar.png and docs/ir_drop_validation.png
    python benchmarks/ir_drop_figures.py --quick --out /tmp   # small crossbars, a smoke run

Crossbars are `reference.grounded_crossbar` (inputs on the word lines, bit lines held at 0 V: badcrossbar's
picture), devices 10 kohm .. 1 Mohm uniform in conductance, inputs U(-1, 1) V. The convergence panel plots the
sweep counts measured by `python benchmarks/ir_drop.py --sweeps` (the table in docs/ir_drop.md).
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import replace
from pathlib import Path

import matplotlib
import matplotlib.ticker
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cosim.analog.resistive.wires import WiredNetwork, WiredSolver  # noqa: E402
from cosim.analog.resistive.wires.reference import grounded_crossbar  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
G_RANGE = (1e-6, 1e-4)
#: sweeps (cold start, tol 1e-12 and certified KCL <= 1e-9) measured by `benchmarks/ir_drop.py --sweeps`, the
#: table of docs/ir_drop.md: tile n x n -> sweeps at r = 0.1, 1, 3, 10 ohm; plain Gauss-Seidel and adaptive SOR
GAUSS_SEIDEL = {32: (4, 5, 6, 9), 64: (4, 7, 9, 17), 128: (5, 10, 18, 42), 256: (7, 24, 56, 161)}
SOR = {32: (4, 5, 6, 9), 64: (4, 7, 9, 13), 128: (5, 9, 14, 27), 256: (7, 14, 27, 72)}
SWEEP_OHMS = (0.1, 1.0, 3.0, 10.0)


def solve(n: int, m: int, ohm: float, rows: int = 0, columns: int = 0, seed: int = 0):
    """A grounded n x m crossbar with ``ohm`` per segment (driver and sense alike), on arrays of rows x columns."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(*G_RANGE, (n, m))
    x = rng.uniform(-1, 1, (1, n))
    wired = grounded_crossbar(g, ohm, ohm)
    layouts = [replace(wired.layouts[0], array_rows=rows, array_columns=columns), wired.layouts[1]]
    wired = WiredNetwork(wired.network, layouts)
    return wired, x, g, WiredSolver(wired, on_unconverged="raise").relax(x)


def device_loss(x, eq) -> np.ndarray:
    """Voltage each device loses to IR drop, |x_i - (u - y)|, as a fraction of the largest input |x|."""
    return np.abs(x[0][:, None] - (eq.word_lines[0][0] - eq.bit_lines[0][0])) / np.abs(x).max()


def draw_crossbar(ax, n: int = 6, m: int = 5, ohm: float = 400.0) -> None:
    """Word lines (rows), bit lines (columns), devices, drivers and sense ends; nodes coloured by IR drop."""
    _, x, _, eq = solve(n, m, ohm, seed=1)
    u, y = eq.word_lines[0][0], eq.bit_lines[0][0]
    word_drop, bit_rise = x[0][:, None] - u, y  # bit lines sensed at 0 V: the bit node's rise is its IR drop
    vmax = max(np.abs(word_drop).max(), np.abs(bit_rise).max())
    style = dict(cmap="coolwarm", vmin=-vmax, vmax=vmax, zorder=3, edgecolors="k", linewidths=0.4)
    for i in range(n):
        ax.plot([-1.0, m - 0.7], [-i, -i], color="tab:blue", lw=1.2)
        ax.plot([-1.6, -1.0], [-i, -i], color="k", lw=0.8)
        ax.text(-1.75, -i, f"x{i}", ha="right", va="center", fontsize=7)
        ax.plot([-1.0, -0.7], [-i, -i], color="tab:orange", lw=3)  # driver resistor
    for k in range(m):
        ax.plot([k + 0.3, k + 0.3], [0.2, -(n - 1) - 0.9], color="tab:green", lw=1.2)
        ax.plot([k + 0.3, k + 0.3], [-(n - 1) - 0.9, -(n - 1) - 1.2], color="tab:purple", lw=3)  # sense resistor
        ax.text(k + 0.3, -(n - 1) - 1.45, f"v{k} = 0", ha="center", va="top", fontsize=7)
        for i in range(n):
            ax.plot([k, k + 0.3], [-i, -i - 0.3], color="0.4", lw=1.5)  # device
    ii, kk = np.meshgrid(np.arange(n), np.arange(m), indexing="ij")
    ax.scatter(kk.ravel(), -ii.ravel(), c=word_drop.ravel(), s=40, marker="o", **style)
    sc = ax.scatter(kk.ravel() + 0.3, -ii.ravel() - 0.3, c=bit_rise.ravel(), s=40, marker="s", **style)
    plt.colorbar(sc, ax=ax, shrink=0.8, label="IR drop at the node (V)")
    ax.set_title(f"one {n}x{m} crossbar, {ohm:g} ohm per segment / driver / sense\n"
                 "word lines (blue, circles: x_i - u), bit lines (green, squares: y - 0),\n"
                 "devices (grey), drivers (orange), sense ends (purple)", fontsize=8)
    ax.set_aspect("equal")
    ax.axis("off")


def heat(ax, loss, title) -> None:
    im = ax.imshow(100 * loss, cmap="magma", aspect="auto", vmin=0)
    plt.colorbar(im, ax=ax, label="device voltage lost to IR drop (% of max |x|)")
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("column k (bit line)")
    ax.set_ylabel("row i (word line)")


def crossbar_figure(path: Path, n: int = 128) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    draw_crossbar(axes[0])
    ohm = 1.0
    _, x, _, eq = solve(n, n, ohm)
    heat(axes[1], device_loss(x, eq), f"{n}x{n} crossbar on one array, {ohm:g} ohm per cell:\n"
         "loss grows away from the drivers (column 0) and the sense ends (last row)")
    _, x, _, eq = solve(n, n, ohm, rows=n // 2, columns=n // 2)
    heat(axes[2], device_loss(x, eq), f"the same crossbar partitioned over 2x2 arrays of {n // 2}x{n // 2}\n"
         "(each with its own drivers and sense ends, joined at the layer nodes)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def validation_figure(path: Path, sizes=(64, 128)) -> None:
    from badcrossbar.compute import compute

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for i, (ohm, color) in enumerate(zip(SWEEP_OHMS, ("C0", "C1", "C2", "C3"))):
        for sweeps, style, name in ((GAUSS_SEIDEL, "--", "Gauss-Seidel"), (SOR, "-", "SOR")):
            ax.plot(list(sweeps), [sweeps[n][i] for n in sweeps], style, marker="o", color=color,
                    label=f"{ohm:g} ohm, {name}")
    ax.set(xscale="log", yscale="log", xlabel="crossbar n x n",
           ylabel="sweeps (cold start) to KCL <= 1e-9", title="convergence vs wire resistance and size")
    ax.set_xticks(list(SOR), [str(n) for n in SOR])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.legend(fontsize=8)
    for ax, n, ohm in zip(axes[1:], sizes, (1.0, 3.0)):
        _, x, g, eq = solve(n, n, ohm, seed=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = compute(x.T, 1 / g, r_i_word_line=ohm, r_i_bit_line=ohm)
        words = ref.voltages.word_line.reshape(n, n)
        bits = ref.voltages.bit_line.reshape(n, n)
        ax.scatter(words.ravel(), eq.word_lines[0][0].ravel() - words.ravel(), s=2, label="word-line nodes")
        ax.scatter(bits.ravel(), eq.bit_lines[0][0].ravel() - bits.ravel(), s=2, label="bit-line nodes")
        worst = max(np.abs(eq.word_lines[0][0] - words).max(), np.abs(eq.bit_lines[0][0] - bits).max())
        ax.set(xlabel="badcrossbar node voltage (V)", ylabel="cosim - badcrossbar (V)",
               title=f"vs badcrossbar, {n}x{n}, {ohm:g} ohm/cell:\nmax |dV| = {worst:.1e} V over {2 * n * n} nodes")
        ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        ax.legend(fontsize=8, markerscale=4)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--quick", action="store_true", help="small crossbars, for a smoke run")
    args = parser.parse_args(argv)
    crossbar_figure(args.out / "ir_drop_crossbar.png", 16 if args.quick else 128)
    validation_figure(args.out / "ir_drop_validation.png", (8, 16) if args.quick else (64, 128))


if __name__ == "__main__":
    main()
