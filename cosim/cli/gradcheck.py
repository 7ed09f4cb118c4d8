"""The static gradient analysis of Nest & Ernoult: on one batch, the chained gradients with EP in every
energy block against the exact ones (implicit differentiation), for every parameter tensor, analog and
digital: cosine similarity and relative error. Prints a table and writes DIR/gradcheck.h5 and
DIR/gradcheck.png."""

from __future__ import annotations

from pathlib import Path

from cosim.cli.common import VALIDATION_PRECISION, add_config_arguments, load
from cosim.errors import CosimError

NAME = "gradcheck"
HELP = "compare EP gradients with implicit differentiation, per parameter tensor"


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--beta", type=float, help="EP nudge strength (default: the config's training.beta)")
    parser.add_argument("--samples", type=int, default=32, help="batch size of the comparison (default 32)")
    parser.add_argument("--out", type=Path, help="output directory (default: runs/<config name>-gradcheck)")
    parser.add_argument("--as-configured", action="store_true",
                        help="use the config's dtype and solver tolerance; by default the check runs in float64 "
                             "with a tight tolerance (solver.tol=1e-12), so that it measures EP's estimator "
                             "rather than float32 rounding")


def main(args) -> int:
    from cosim.threads import solver_threads

    from cosim import plots
    from cosim.config import dump_config
    from cosim.learning import gradcheck
    from cosim.results import writable_dir, write_results
    from cosim.runner import prepare

    if not args.as_configured:
        args.overrides += VALIDATION_PRECISION
    config = load(args)
    beta = config.training.beta if args.beta is None else args.beta
    if not 0 < beta <= 10 or args.samples < 2:
        raise CosimError(f"--beta must be in (0, 10] and --samples at least 2, got {beta:g} and {args.samples}")
    out = writable_dir(args.out or Path("runs") / f"{args.config.stem}-gradcheck")
    with solver_threads(config.solver.threads):
        session = prepare(config)
        data = session.dataset
        if args.samples > len(data.train_y):
            raise CosimError(f"--samples {args.samples} exceeds the {len(data.train_y)} training samples")
        rows = gradcheck.compare(session.chain, data.train_x[:args.samples], data.train_y[:args.samples], beta,
                                 config.training.estimator)
    print(gradcheck.format_table(rows))
    flags = gradcheck.flags(rows)
    unconverged = sum(b.unconverged for b in session.chain.energy_blocks)
    if unconverged:
        print(f"WARNING: {unconverged} of {sum(b.solved_samples for b in session.chain.energy_blocks)} solved samples "
              "did not converge; rows marked so compare unsettled states: raise solver.max_sweeps or loosen solver.tol")
    placements = session.chip.placements
    if placements:
        print("tiles: " + ", ".join(f"model.blocks[{b}] (block{b}) on tile {t}" for b, t in placements.items()))
    columns = {field: [getattr(r, field) for r in rows] for field in ("cosine", "relative_error", "norm_ep", "norm_id")}
    write_results(out / "gradcheck.h5", dump_config(config),
                  {"gradcheck": {"names": [r.name.encode() for r in rows], **columns, "beta": beta,
                                 "flags": [f.encode() for f in flags], "samples": args.samples,
                                 "unconverged_samples": unconverged,
                                 "tiles": {f"block{b}": t for b, t in placements.items()}}})
    labels = [f"{r.name} ({flag})" if flag else r.name for r, flag in zip(rows, flags)]
    plots.gradient_agreement(labels, columns["cosine"], columns["relative_error"],
                             out / "gradcheck.png", title=f"EP vs ID, beta={beta:g}, {args.samples} samples")
    print(f"\nwritten: {out / 'gradcheck.h5'}, {out / 'gradcheck.png'}")
    return 0
