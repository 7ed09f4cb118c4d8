"""Running ngspice on an exported :class:`~cosim.spice.netlist.Netlist` and reading its node voltages back.

Two back ends:

- ``batch`` (the dependable one): ``ngspice -b FILE.cir`` in a subprocess; the netlist's ``.control``
  block runs ``op`` and ``wrdata``s every node voltage, which :func:`parse_wrdata` reads;
- ``shared``: PySpice's ``NgSpiceShared`` (libngspice in this process): the netlist text without its
  ``.control`` block goes to ``load_circuit``, then ``op`` runs and the vectors are read from the plot.

Every failure is a :class:`~cosim.errors.CosimError` that says what to do: ngspice not installed,
a netlist ngspice rejects (quoting ngspice's own lines), an operating point that did not converge.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.errors import CosimError
from cosim.spice.netlist import Netlist, circuit_lines

INSTALL_HINT = "install it with `sudo apt-get install ngspice` (Debian/Ubuntu)"
SHARED_HINT = ("the shared back end needs PySpice (`pip install PySpice`) and libngspice "
               "(`sudo apt-get install libngspice0-dev`); or use --backend batch")
BACKENDS = ("batch", "shared")
#: words that mark a line of ngspice's output as a reason for failure
_ERROR_WORDS = ("error", "fatal", "unknown", "singular", "no convergence", "not found", "can't", "cannot",
                "too few", "aborted", "failed")


class NgspiceMissingError(CosimError):
    """ngspice (or, for the shared back end, PySpice and libngspice) is not installed."""


class SpiceError(CosimError):
    """ngspice rejected a netlist or could not solve it; the message quotes ngspice."""

    exit_code = 1


@dataclass(frozen=True)
class SpiceResult:
    """Node voltages of one operating point (volts, by node name), ngspice's wall time and its log."""

    voltages: dict[str, float]
    seconds: float
    log: str

    def layers(self, netlist: Netlist) -> list[np.ndarray]:
        """The voltages as one array per layer, in the netlist's node order."""
        try:
            return [np.array([self.voltages[n] for n in layer]) for layer in netlist.nodes]
        except KeyError as err:
            raise SpiceError(f"ngspice did not report node {err.args[0]}") from None


def find_ngspice() -> str:
    """Path of the ngspice executable, or NgspiceMissingError naming how to install it."""
    path = shutil.which("ngspice")
    if path is None:
        raise NgspiceMissingError(f"ngspice was not found on PATH; {INSTALL_HINT}")
    return path


#: seconds an ``ngspice -b`` call may take before it is killed, unless the caller says otherwise; the
#: environment variable COSIM_NGSPICE_TIMEOUT (seconds) replaces it
TIMEOUT_ENV, DEFAULT_TIMEOUT_S = "COSIM_NGSPICE_TIMEOUT", 600.0


def default_timeout() -> float:
    """The ngspice timeout (s): COSIM_NGSPICE_TIMEOUT when set, else DEFAULT_TIMEOUT_S."""
    text = os.environ.get(TIMEOUT_ENV)
    if text is None:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise CosimError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {text!r}")
    return seconds


def run(netlist: Netlist, backend: str = "batch", timeout: float | None = None,
        workdir: Path | None = None) -> SpiceResult:
    """Solve the netlist's operating point with the chosen back end ("batch" or "shared"); ``timeout``
    (s, default :func:`default_timeout`) bounds a batch call (the shared library runs in this process)."""
    if backend == "batch":
        return run_batch(netlist, timeout=timeout, workdir=workdir)
    if backend == "shared":
        return run_shared(netlist)
    raise CosimError(f"unknown ngspice back end {backend!r}; choose one of {', '.join(BACKENDS)}")


# --------------------------------------------------------------------------------------------- batch
def run_batch(netlist: Netlist, timeout: float | None = None, workdir: Path | None = None) -> SpiceResult:
    """``ngspice -b`` on the netlist in ``workdir`` (a temporary directory by default), killed after
    ``timeout`` seconds (default :func:`default_timeout`)."""
    executable = find_ngspice()
    timeout = default_timeout() if timeout is None else timeout
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="cosim-spice-") as tmp:
            return _batch_in(executable, netlist, Path(tmp), timeout)
    return _batch_in(executable, netlist, Path(workdir), timeout)


def _batch_in(executable: str, netlist: Netlist, workdir: Path, timeout: float | None) -> SpiceResult:
    workdir.mkdir(parents=True, exist_ok=True)
    circuit = workdir / (Path(netlist.output_file).stem + ".cir")
    circuit.write_text(netlist.text)
    output = workdir / netlist.output_file
    output.unlink(missing_ok=True)
    start = time.perf_counter()
    # its own process group: on timeout, ngspice and anything it started are killed together
    with subprocess.Popen([executable, "-b", circuit.name], cwd=workdir, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException as err:  # the timeout, or Ctrl-C
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            if not isinstance(err, subprocess.TimeoutExpired):
                raise
            stdout = None
    if stdout is None:
        raise SpiceError(f"ngspice did not finish {circuit.name} within {timeout:g} s and was stopped; use smaller "
                         f"tiles, fewer samples or a longer --timeout (or {TIMEOUT_ENV})")
    seconds = time.perf_counter() - start
    log = stdout + stderr
    if process.returncode != 0 or not output.is_file():
        raise SpiceError(f"ngspice failed on {circuit.name} (exit code {process.returncode}): {quote_errors(log)}")
    return SpiceResult(parse_wrdata(output.read_text(), netlist.vectors), seconds, log)


def parse_wrdata(text: str, vectors: list[str]) -> dict[str, float]:
    """Node voltages from ``wrdata`` output (``wr_vecnames``, ``wr_singlescale``, one operating point).

    The first line names the columns, the second holds the values; the first column is the plot's
    scale. Returns ``{node: volts}`` for every ``v(node)`` in ``vectors`` (names as ngspice wrote them).
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) != 2 or len(lines[0]) != len(lines[1]):
        raise SpiceError(f"unexpected wrdata output: {len(lines)} non-empty lines (expected a header and one "
                         f"row of the same length); first line: {text[:200]!r}")
    names, row = lines[0][1:], lines[1][1:]
    try:
        values = [float(v) for v in row]
    except ValueError as err:
        raise SpiceError(f"unreadable number in wrdata output: {err}") from None
    written = dict(zip((n.lower() for n in names), values))
    missing = [v for v in vectors if v.lower() not in written]
    if missing:
        raise SpiceError(f"wrdata output lacks {len(missing)} vectors, e.g. {missing[0]}")
    return {v[2:-1]: written[v.lower()] for v in vectors}


def quote_errors(log: str, limit: int = 6) -> str:
    """ngspice's lines that say what went wrong (or its last lines), joined for a one-line message."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    wanted = [line for line in lines if any(word in line.lower() for word in _ERROR_WORDS)]
    chosen = (wanted or lines[-limit:])[:limit]
    return " | ".join(chosen) if chosen else "(ngspice printed nothing)"


# -------------------------------------------------------------------------------------------- shared
def run_shared(netlist: Netlist) -> SpiceResult:
    """The operating point through PySpice's NgSpiceShared (netlist text without its control block)."""
    ngspice = _shared_instance()
    from PySpice.Spice.NgSpice.Shared import NgSpiceCircuitError, NgSpiceCommandError

    circuit = "\n".join([netlist.text.splitlines()[0], *circuit_lines(netlist.text), ".end"])
    start = time.perf_counter()
    with _quiet_pyspice():
        try:
            ngspice.remove_circuit()
        except NgSpiceCommandError:  # nothing loaded yet
            pass
        ngspice.destroy()
        log = []
        try:
            ngspice.load_circuit(circuit)
            log += [ngspice.stdout, ngspice.stderr]  # exec_command clears them
            ngspice.exec_command("op")
        except (NgSpiceCircuitError, NgSpiceCommandError):
            log += [ngspice.stdout, ngspice.stderr]
            raise SpiceError(f"ngspice (shared) failed: {quote_errors(chr(10).join(log))}") from None
        plot = ngspice.plot(None, ngspice.last_plot)
        voltages = {name: float(np.asarray(plot[name].to_waveform(), dtype=np.float64).ravel()[0])
                    for layer in netlist.nodes for name in layer if name in plot}
    seconds = time.perf_counter() - start
    missing = [n for layer in netlist.nodes for n in layer if n not in voltages]
    if missing:
        raise SpiceError(f"ngspice (shared) returned no voltage for {len(missing)} nodes, e.g. {missing[0]}: "
                         f"{quote_errors(ngspice.stdout + chr(10) + ngspice.stderr)}")
    return SpiceResult(voltages, seconds, ngspice.stdout)


def _shared_instance():
    try:
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared
    except ImportError:
        raise NgspiceMissingError(f"PySpice is not installed; {SHARED_HINT}") from None
    try:
        with _quiet_pyspice():
            return NgSpiceShared.new_instance()
    except OSError as err:
        raise NgspiceMissingError(f"libngspice could not be loaded ({err}); {SHARED_HINT}") from None


class _quiet_pyspice:
    """PySpice logs every ngspice stderr line (and "Unsupported Ngspice version") as a warning or error;
    cosim quotes the relevant lines in its own errors instead, so its loggers are raised to CRITICAL here."""

    def __enter__(self):
        self.logger = logging.getLogger("PySpice")
        self.level = self.logger.level
        self.logger.setLevel(logging.CRITICAL)

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)
        return False
