"""Write one ngspice netlist per tile, test sample and phase (DIR/tile{T}_sample{S}_{phase}.cir): every
conductance, source, diode, amplifier and nudge of the tile, driven by the inputs its resistive block
receives when the model runs forward on that sample, with a control block that writes every node voltage.
Run one with `ngspice -b FILE.cir` (see netlists/README.md)."""

from __future__ import annotations

from pathlib import Path

from cosim.cli.spice_cases import add_case_arguments, spice_cases

NAME = "export-spice"
HELP = "write ngspice netlists of the analog tiles for test samples"


def add_arguments(parser) -> None:
    add_case_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="directory for the netlists")


def main(args) -> int:
    from threadpoolctl import threadpool_limits

    from cosim.spice.check import export_cases

    with threadpool_limits(limits=1, user_api="blas"):
        settings, cases = spice_cases(args)
    paths = export_cases(cases, args.out, settings)
    print(f"wrote {len(paths)} netlists to {args.out}/ ({', '.join(p.name for p in paths[:3])}"
          f"{', ...' if len(paths) > 3 else ''})")
    print(f"run one: cd {args.out} && ngspice -b {paths[0].name}   (writes {paths[0].stem}.out)")
    return 0
