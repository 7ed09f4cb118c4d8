"""Export the tiles' netlists, solve them with ngspice and with cosim's solver (float64, tight tolerance),
and print per tile the largest and RMS node-voltage difference, the nodes compared and both tools' times.
Exit status 1 when a tile differs by more than its tolerance (default: 1e-6 V with Shockley diodes; 1e-6 V
plus the stand-in SPICE diode's forward drop with ideal diodes, see docs/spice.md)."""

from __future__ import annotations

import sys

from cosim.cli.spice_cases import add_case_arguments, spice_cases

NAME = "spice-check"
HELP = "solve the tiles with ngspice and with cosim and compare node voltages"


def add_arguments(parser) -> None:
    add_case_arguments(parser)
    parser.add_argument("--tol", type=float, metavar="VOLTS", help="tolerance on max |dv| for every tile")
    parser.add_argument("--backend", choices=("batch", "shared"), default="batch",
                        help="ngspice as a subprocess (`ngspice -b`, default) or libngspice through PySpice")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="stop an ngspice call after this long (batch back end; default 600, or the "
                             "environment variable COSIM_NGSPICE_TIMEOUT)")


def main(args) -> int:
    from threadpoolctl import threadpool_limits

    from cosim.errors import CosimError
    from cosim.spice import find_ngspice
    from cosim.spice.check import check_cases, format_reports
    from cosim.spice.ngspice import default_timeout

    timeout = default_timeout() if args.timeout is None else args.timeout
    if not 0 < timeout < float("inf"):
        raise CosimError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    if args.backend == "batch":
        find_ngspice()
    with threadpool_limits(limits=1, user_api="blas"):
        settings, cases = spice_cases(args)
        reports = check_cases(cases, args.backend, args.tol, settings,
                              progress=lambda c: print(f"  solving {c.name} ...", file=sys.stderr, flush=True),
                              timeout=timeout)
    print(f"{args.config}: {len(cases)} operating points, ngspice back end {args.backend}")
    print(format_reports(reports, settings))
    failed = [r.tile for r in reports if not r.passed]
    if failed:
        print(f"FAIL: tile(s) {', '.join(map(str, failed))} differ from ngspice by more than the tolerance")
        return 1
    return 0
