"""The `cosim` command line: one module per command, each with ``NAME``, ``HELP``, ``add_arguments``
and ``main`` (its docstring is the command's ``--help`` description).

Every user error (a bad config, a missing dataset, ...) is one readable line on stderr and a non-zero
exit code — 2 for input errors, 1 for failures such as an unconverged solver or a diverged run — never a
traceback; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

# Deliberate threading before numpy loads BLAS: one thread unless the user chose (config: solver.threads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

from cosim import __version__  # noqa: E402
from cosim.cli import eval as eval_, export, export_spice, gradcheck, run, spice_check, sweep  # noqa: E402
from cosim.errors import CosimError  # noqa: E402

#: the commands, in the order ``cosim --help`` lists them
COMMANDS = [run, eval_, export, gradcheck, export_spice, spice_check, sweep]

DESCRIPTION = """\
cosim: a mixed-signal co-simulator for chips that train feedforward-tied energy-based models.
Analog tiles are nonlinear resistive networks trained by equilibrium propagation; digital blocks are
trained by backpropagation; the error is chained through both. Every run is described by one YAML file
(see docs/config-reference.md for every key, its unit and default)."""

EPILOG = """\
examples:
  cosim run chip_configs/default.yaml
  cosim run chip_configs/default.yaml --out runs/beta02 --set training.beta=0.2 --set training.epochs=3
  cosim gradcheck chip_configs/default.yaml --beta 0.01 --samples 64
  cosim sweep chip_configs/sweep_adc_noise.yaml --workers 2
  cosim sweep chip_configs/default.yaml --sweep chip.tile.device.read_noise=0,0.01 --seeds 0,1 --out runs/noise
"""


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosim", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cosim {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(command.NAME, help=command.HELP, description=command.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(sub)
        sub.set_defaults(handler=command.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.handler(args)
    except CosimError as err:
        print(f"cosim {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:  # files are consistent: every writer replaces its file atomically
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the goodbye
        try:
            print(f"cosim {args.command}: interrupted; finished epochs are saved — rerun with --resume to continue",
                  file=sys.stderr)
        finally:
            signal.signal(signal.SIGINT, previous)  # main() may be called again in this process
        return 130
