"""Export a trained chip for programming a real one: per analog tile (named by its tile id) the target
conductances (S), the conductances the devices hold, stuck-device masks, variability gains, bias currents
(A), diode rails (V), input scale and converter ranges, as NPZ and as one CSV per array, with the digital
blocks' parameters and a generated README.md of units, shapes and layout. The chip is exported in the state
the run's last test evaluation saw (as `cosim eval` reloads it)."""

from __future__ import annotations

from pathlib import Path

NAME = "export"
HELP = "write a trained chip's device targets, held values, masks and converter ranges (NPZ, CSV, README)"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the --out directory of a `cosim run`")
    parser.add_argument("--out", type=Path, required=True, help="directory to write the export into")


def main(args) -> int:
    from cosim.errors import CosimError
    from cosim.evaluate import restore
    from cosim.export import export_chip
    from cosim.results import read_run

    if args.out.exists() and not args.out.is_dir():
        raise CosimError(f"--out {args.out} exists and is not a directory")
    if args.out.resolve() == args.run_dir.resolve():
        raise CosimError("--out must not be the run directory (its own files are never touched)")
    run = read_run(args.run_dir)
    session = restore(run).session
    written = export_chip(session, run, args.out)
    tiles = ", ".join(str(t.id) for t in session.chip.tiles) or "none (no analog blocks)"
    print(f"cosim export {args.run_dir} -> {args.out}/: tiles {tiles}; {len(written)} files (see {args.out}/README.md)")
    return 0
