"""What several commands share: the config argument and its --set overrides, validation precision, and how
non-convergence warnings are shown."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

#: overrides that make a check measure the method, not float32 rounding or a loose tolerance
VALIDATION_PRECISION = ["model.dtype=float64", "solver.tol=1e-12", "solver.max_sweeps=20000"]


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path, help="the run's YAML config (e.g. chip_configs/default.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key by its dotted path, e.g. training.beta=0.05 or "
                             "model.blocks.1.hidden=[128]; repeatable")


def load(args):
    """The validated config of ``args.config`` with ``args.overrides``."""
    from cosim.config import load_config

    return load_config(args.config, args.overrides)


def show_first_convergence_warning_only() -> None:
    """Show a run's first non-convergence warning; later ones are counted in the metrics, not printed."""
    from cosim.analog import ConvergenceWarning

    original, shown = warnings.showwarning, []

    def show(message, category, *args, **kwargs):
        if issubclass(category, ConvergenceWarning):
            if shown:
                return
            shown.append(message)
            message = f"{message} (further ones are not shown: see the unconverged_samples metric)"
        original(message, category, *args, **kwargs)

    warnings.showwarning = show
