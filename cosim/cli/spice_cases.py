"""What export-spice and spice-check share: choosing tiles, samples and phases, and building their cases."""

from __future__ import annotations

import sys
from pathlib import Path

from cosim.cli.common import VALIDATION_PRECISION, add_config_arguments, load
from cosim.errors import CosimError


def add_case_arguments(parser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--tile", type=int, action="append", metavar="ID",
                        help="tile id, as the chip names it (chip.mapping; by default 0, 1, ... for the resistive "
                             "blocks in model order); repeatable; default all")
    parser.add_argument("--samples", type=int, default=2, help="test samples, from the first (default 2)")
    parser.add_argument("--phase", choices=("free", "plus", "minus", "all"), default="free",
                        help="free equilibrium, or the block's own EP nudge of the +beta / -beta phase (default free)")
    parser.add_argument("--from", dest="from_results", type=Path, metavar="RESULTS.h5",
                        help="use the trained parameters of a run (its results.h5) instead of the initial ones")
    parser.add_argument("--ideal-n", type=float, default=0.001, metavar="N",
                        help="emission coefficient of the SPICE diode that stands in for an ideal diode "
                             "(default 0.001; see docs/spice.md)")


def spice_cases(args):
    """Settings and cases (tiles x samples x phases) of export-spice / spice-check, in float64."""
    from cosim.results import read_trained
    from cosim.runner import prepare
    from cosim.spice import SpiceSettings
    from cosim.spice.check import PHASES, load_trained, select_tiles, tile_cases

    args.overrides += VALIDATION_PRECISION
    config = load(args)
    if args.samples < 1 or not args.ideal_n > 0 or (getattr(args, "tol", None) is not None and not args.tol > 0):
        raise CosimError("--samples must be at least 1, and --ideal-n and --tol positive")
    session = prepare(config)
    if args.from_results is not None:
        for note in load_trained(session.chain, read_trained(args.from_results)):
            print(f"note: {note}", file=sys.stderr)
    data = session.dataset
    if args.samples > len(data.test_y):
        raise CosimError(f"--samples {args.samples} exceeds the {len(data.test_y)} test samples")
    tiles = select_tiles(session.chain, session.chip.placements, args.tile)
    phases = PHASES if args.phase == "all" else (args.phase,)
    cases = tile_cases(session.chain, data.test_x[:args.samples], data.test_y[:args.samples], tiles, phases)
    return SpiceSettings(ideal_emission_coefficient=args.ideal_n), cases
