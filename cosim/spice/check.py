"""What a tile sees for a test sample, its netlists, and the comparison of ngspice with cosim's solver.

A *tile* is one analog block of the model, named by the id the chip placed it on (``chip.mapping``;
``Chip.placements``, the one record of which block sits on which tile).

For every tile, test sample and phase a :class:`TileCase` holds the block's network, the voltages its
input sources get when the model runs forward on that sample, and, for the nudged phases, the block's
own EP nudge: the error on its outputs from a forward and backward pass of the whole chain on that
sample (``dL/ds``, the loss of the true label), injected as currents ``-/+beta * error`` with the
block's ``nudge_strength`` (``beta`` from this one sample). :func:`compare_case` solves a case with
cosim's solver in float64 at a tight tolerance and with ngspice, and reports the voltage differences.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cosim.analog import BCDSolver, Nudge, ResistiveNetwork, ShockleyDiode
from cosim.analog.resistive.observables import element_currents
from cosim.analog.resistive.wires import WiredNetwork, WiredSolver
from cosim.errors import CosimError
from cosim.results import BIAS_CURRENTS, CONDUCTANCES, TrainedRun
from cosim.spice import ngspice
from cosim.spice.netlist import Netlist, SpiceSettings, write_netlist
from cosim.spice.wired import write_wired_netlist

PHASES = ("free", "plus", "minus")
#: agreement expected between ngspice and cosim with the same Shockley diodes (volts)
SHOCKLEY_TOLERANCE = 1e-6
#: cosim's reference solve: relative voltage tolerance and sweep cap
REFERENCE_TOL = 1e-13
REFERENCE_MAX_SWEEPS = 200_000


@dataclass(frozen=True)
class Tile:
    """An analog block placed on a tile: tile number, index in ``model.blocks``, and the block."""

    tile_id: int
    block_index: int
    block: object  # cosim.learning.blocks.AnalogBlock


def analog_tiles(chain, placements: dict[int, int]) -> list[Tile]:
    """The tiles of a chain, in model order; ``placements``: block index -> tile id (``Chip.placements``)."""
    return [Tile(tile_id, index, chain.blocks[index]) for index, tile_id in sorted(placements.items())]


def select_tiles(chain, placements: dict[int, int], tile_ids=None) -> list[Tile]:
    """The tiles named by ``tile_ids`` (all when None); CosimError for an unknown id."""
    tiles = analog_tiles(chain, placements)
    if not tiles:
        raise CosimError("the model has no analog block, so there is no tile to export")
    if tile_ids is None:
        return tiles
    known = {t.tile_id: t for t in tiles}
    unknown = [t for t in tile_ids if t not in known]
    if unknown:
        listing = ", ".join(f"{t.tile_id} (model.blocks[{t.block_index}])" for t in tiles)
        raise CosimError(f"no tile {unknown[0]}: the model's analog blocks sit on tile(s) {listing} "
                         "(one per analog block, placed by chip.mapping)")
    return [known[t] for t in dict.fromkeys(tile_ids)]


@dataclass(frozen=True)
class TileCase:
    """One operating point to export or check: a tile, a test sample, a phase.

    x: the block input for this sample (``(input_width,)``, volts; the input sources get ``[+x, -x]`` when
    the network duplicates its inputs); nudge: the output currents of a nudged phase (None: free).
    """

    tile: int
    block_index: int
    sample: int
    phase: str
    network: ResistiveNetwork
    x: np.ndarray
    nudge: Nudge | None = None
    layouts: tuple | None = None  # one WireLayout per crossbar of a wired tile (None: ideal wires)

    @property
    def wired(self) -> WiredNetwork | None:
        """The case's network with its wires, or None for ideal wires."""
        return None if self.layouts is None else WiredNetwork(self.network, self.layouts)

    @property
    def name(self) -> str:
        return f"tile{self.tile}_sample{self.sample}_{self.phase}"

    def comments(self) -> list[str]:
        lines = [f"tile {self.tile} = model.blocks[{self.block_index}], test sample {self.sample}, phase {self.phase}"]
        if self.nudge is not None:
            kind = "error currents -beta*dL/ds" if self.nudge.target is None else "towards a target"
            lines.append(f"nudge: the block's own EP nudge, {kind}, beta = {self.nudge.beta:.17g}")
        return lines

    def netlist(self, settings: SpiceSettings = SpiceSettings()) -> Netlist:
        if self.layouts is not None:  # layer nodes only: wrdata refuses ~1e4 vectors
            return write_wired_netlist(self.wired, self.x, self.nudge, comments=self.comments(), settings=settings,
                                       output_file=f"{self.name}.out", record_wires=False)
        return write_netlist(self.network, self.x, self.nudge, comments=self.comments(), settings=settings,
                             output_file=f"{self.name}.out")


def tile_cases(chain, inputs: np.ndarray, labels: np.ndarray, tiles: list[Tile], phases=("free",),
               sample_ids=None) -> list[TileCase]:
    """Cases for every sample of ``inputs`` (one at a time), every tile and every phase.

    The chain runs in inference mode (batch-norm uses its running statistics), so a sample's cases do
    not depend on the other samples. Networks are float64 copies of the tiles' networks.
    """
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        raise CosimError(f"unknown phase {unknown[0]!r}; choose from {', '.join(PHASES)}")
    sample_ids = range(len(inputs)) if sample_ids is None else sample_ids
    networks = {t.tile_id: t.block.network.astype(np.float64) for t in tiles}
    layouts = {t.tile_id: getattr(getattr(t.block.block.solver, "wired", None), "layouts", None) for t in tiles}
    cases = []
    for k, sample in enumerate(sample_ids):
        x_in, nudges = _block_signals(chain, inputs[k:k + 1], labels[k:k + 1], tiles,
                                      nudged=any(p != "free" for p in phases))
        for tile in tiles:
            for phase in phases:
                nudge = None if phase == "free" else nudges[tile.tile_id][phase]
                cases.append(TileCase(tile.tile_id, tile.block_index, int(sample), phase, networks[tile.tile_id],
                                      x_in[tile.tile_id], nudge, layouts[tile.tile_id]))
    return cases


def _block_signals(chain, x: np.ndarray, y: np.ndarray, tiles: list[Tile], nudged: bool):
    """For one sample: each tile's block input, and (if nudged) its plus and minus nudges.

    The inputs are read from the drive the block's solver actually used; the nudges are those of the
    block's own EP backward pass (its ``phases``), or, for a block trained by ID, the EP nudge it would
    use: error ``dL/ds`` with ``beta = nudge_strength(error)``.
    """
    by_block = {t.block_index: t for t in tiles}
    x_in = {}
    for index, block in enumerate(chain.blocks):
        x = block.forward(x, training=False)
        if index in by_block:
            net = block.network
            nodes = np.array(block.block.drive.input_voltages[0], dtype=np.float64)
            x_in[by_block[index].tile_id] = nodes[:net.input_width]
    nudges = {}
    if nudged:
        _, grad = chain.loss(x, y)
        first = min(by_block)
        for index in range(len(chain.blocks) - 1, first - 1, -1):
            block = chain.blocks[index]
            if index in by_block:
                block_grad = np.array(grad, dtype=np.float64).reshape(1, -1)
                grad = block.backward(grad)
                nudges[by_block[index].tile_id] = _phase_nudges(block, block_grad)
            else:
                grad = block.backward(grad)
    return x_in, nudges


def _phase_nudges(block, error: np.ndarray) -> dict[str, Nudge]:
    """The plus and minus nudges of an analog block after its backward pass."""
    done = {name: eq.nudge for name, eq in block.block.phases.items() if eq is not None and eq.nudge is not None}
    if not done:
        beta = float(block.nudge_strength(error))
        return {"plus": Nudge(beta, error=error), "minus": Nudge(-beta, error=error)}
    mirror = {"plus": "minus", "minus": "plus"}
    for name in ("plus", "minus"):
        if name not in done:
            other = done[mirror[name]]
            done[name] = Nudge(-other.beta, target=other.target, error=other.error)
    return {name: _one_row(done[name]) for name in ("plus", "minus")}


def _one_row(nudge: Nudge) -> Nudge:
    error = None if nudge.error is None else np.asarray(nudge.error, dtype=np.float64).reshape(1, -1)
    target = None if nudge.target is None else np.asarray(nudge.target, dtype=np.float64).reshape(1, -1)
    return Nudge(float(nudge.beta), target=target, error=error)


# ------------------------------------------------------------------------------------------ export
def export_cases(cases: list[TileCase], out: Path, settings: SpiceSettings = SpiceSettings()) -> list[Path]:
    """Write ``tile{t}_sample{s}_{phase}.cir`` for every case into ``out``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in cases:
        path = out / f"{case.name}.cir"
        path.write_text(case.netlist(settings).text)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------- compare
def reference(case: TileCase) -> tuple[list[np.ndarray], float]:
    """cosim's equilibrium of a case (float64, relative tol 1e-13): voltages per layer, and seconds."""
    if case.layouts is None:
        solver = BCDSolver(case.network, tol=REFERENCE_TOL, max_sweeps=REFERENCE_MAX_SWEEPS, on_unconverged="raise")
    else:  # the wired solver's own float64 default tolerance: KCL <= 1e-9 at every node
        solver = WiredSolver(case.wired, max_sweeps=REFERENCE_MAX_SWEEPS, on_unconverged="raise")
    start = time.perf_counter()
    equilibrium = solver.relax(case.x[None, :], case.nudge)
    seconds = time.perf_counter() - start
    return [v[0] for v in equilibrium.layers], seconds


def expected_difference(case: TileCase, layers: list[np.ndarray], settings: SpiceSettings) -> float:
    """How far ngspice may be from cosim because the SPICE diode is not cosim's diode (volts).

    Shockley networks: 0 (the same diode). Ideal diodes: the forward drop n V_T ln(1 + I/I_s) of the
    stand-in SPICE diode at the largest diode current cosim finds. A resistive network without
    amplifiers obeys a maximum principle, so shifting clamped nodes by at most that drop moves no node
    by more (docs/spice.md).
    """
    net = case.network
    if isinstance(net.diode, ShockleyDiode) or net.n_layers < 2:
        return 0.0
    if case.layouts is not None:
        raise CosimError(f"{case.name}: spice-check of a wired tile compares exactly and needs Shockley diodes "
                         "(chip.tile.diode.model: shockley); with ideal diodes, export-spice only")
    batch = [v[None, :] for v in layers]
    residuals = element_currents(net, batch, case.nudge)
    largest = 0.0
    for m in range(1, net.n_layers):
        v = layers[m]
        clamped = (v <= net.lower_rails[m - 1]) | (v >= net.upper_rails[m - 1])
        if clamped.any():
            largest = max(largest, float(np.abs(residuals[m - 1][0][clamped]).max()))
    diode = settings.spice_diode(net.diode)
    return diode.slope_voltage * float(np.log1p(largest / diode.saturation_current))


@dataclass
class CaseResult:
    """ngspice against cosim for one case: |dv| over layers 1 .. L (the solved nodes), times, tolerance."""

    case: TileCase
    max_abs: float
    sum_squares: float
    nodes: int
    cosim_seconds: float
    spice_seconds: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.max_abs <= self.tolerance


def compare_case(case: TileCase, backend: str = "batch", tol: float | None = None,
                 settings: SpiceSettings = SpiceSettings(), timeout: float | None = None) -> CaseResult:
    """Solve a case with cosim and ngspice; tol None: 1e-6 V plus the expected diode difference."""
    cosim_layers, cosim_seconds = reference(case)
    netlist = case.netlist(settings)
    result = ngspice.run(netlist, backend, timeout=timeout)
    spice_layers = result.layers(netlist)
    diffs = np.concatenate([s - c for s, c in zip(spice_layers[1:], cosim_layers[1:])])
    if tol is None:
        tol = SHOCKLEY_TOLERANCE + expected_difference(case, cosim_layers, settings)
    return CaseResult(case, float(np.abs(diffs).max()), float(diffs @ diffs), diffs.size, cosim_seconds,
                      result.seconds, tol)


def _over_results(name: str, combine) -> property:
    """A report property: ``combine`` (max, sum, all) of the cases' ``name``."""
    return property(lambda report: combine(getattr(r, name) for r in report.results))


@dataclass
class TileReport:
    """The results of one tile's cases, summarised for the table: the largest |dv| (V) and tolerance (V),
    the total cosim and ngspice solve times (s), and whether every case passed."""

    tile: int
    block_index: int
    sizes: tuple[int, ...]
    results: list[CaseResult] = field(default_factory=list)

    @property
    def diodes(self) -> str:
        return "shockley" if isinstance(self.results[0].case.network.diode, ShockleyDiode) else "ideal"

    @property
    def rms(self) -> float:
        return float(np.sqrt(sum(r.sum_squares for r in self.results) / sum(r.nodes for r in self.results)))

    @property
    def nodes(self) -> int:
        """Solved nodes per netlist (layers 1 .. L)."""
        return self.results[0].nodes

    max_abs = _over_results("max_abs", max)
    tolerance = _over_results("tolerance", max)
    cosim_seconds = _over_results("cosim_seconds", sum)
    spice_seconds = _over_results("spice_seconds", sum)
    passed = _over_results("passed", all)


def check_cases(cases: list[TileCase], backend: str = "batch", tol: float | None = None,
                settings: SpiceSettings = SpiceSettings(), progress=None,
                timeout: float | None = None) -> list[TileReport]:
    """Compare every case; one report per tile, in tile order. ``progress(case)`` is called before each;
    ``timeout``: seconds per ngspice call."""
    reports: dict[int, TileReport] = {}
    warmed = set()
    for case in cases:
        if case.tile not in warmed:  # the first solve of a network pays for Numba's compile; not timed
            reference(case)
            warmed.add(case.tile)
        if progress is not None:
            progress(case)
        report = reports.setdefault(case.tile, TileReport(case.tile, case.block_index, case.network.sizes))
        report.results.append(compare_case(case, backend, tol, settings, timeout))
    return [reports[t] for t in sorted(reports)]


def format_reports(reports: list[TileReport], settings: SpiceSettings = SpiceSettings()) -> str:
    """The per-tile table that ``cosim spice-check`` prints, with a note on ideal-diode tiles."""
    header = (f"{'tile':>4} {'block':>5} {'network':>14} {'diodes':>8} {'cases':>5} {'nodes':>5} {'max|dv| V':>10} "
              f"{'rms|dv| V':>10} {'tol V':>9} {'cosim s':>8} {'ngspice s':>9} {'ngspice/cosim':>13}  result")
    rows = [header]
    for r in reports:
        network = "-".join(str(n) for n in r.sizes)
        ratio = r.spice_seconds / max(r.cosim_seconds, 1e-12)
        rows.append(f"{r.tile:>4} {r.block_index:>5} {network:>14} {r.diodes:>8} {len(r.results):>5} {r.nodes:>5} "
                    f"{r.max_abs:>10.3g} {r.rms:>10.3g} {r.tolerance:>9.3g} {r.cosim_seconds:>8.4f} "
                    f"{r.spice_seconds:>9.2f} {ratio:>12.0f}x  {'ok' if r.passed else 'FAIL'}")
    if any(r.diodes == "ideal" for r in reports):
        rows.append(f"ideal diodes run in ngspice as Shockley diodes with N={settings.ideal_emission_coefficient:g}, "
                    f"IS={settings.ideal_saturation_current:g} A: their tol is 1e-6 V plus that diode's forward "
                    "drop at cosim's largest diode current (docs/spice.md)")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------- trained runs
def load_trained(chain, trained: TrainedRun) -> list[str]:
    """Set the chain's parameters to those a run saved (:func:`cosim.results.read_trained`); returns notes
    for the user.

    Analog networks get exactly the saved conductances (S) and bias currents (A) — what the devices held
    at the end of the run, not a re-programming of them — and digital blocks their parameters.
    Batch-norm running statistics are not in results.h5: they come from the run's checkpoint when it
    exists (a note says when it does not).
    """
    path = trained.path
    for index, block in enumerate(chain.blocks):
        group = trained.parameters.get(index)
        if group is None:
            raise CosimError(f"{path} has no parameters for model.blocks[{index}]; was it written with this config?")
        if block.kind == "analog":
            _load_analog(block, group, index, path)
        else:
            for name, array in zip(block.parameter_names, block.parameters):
                _copy_into(array, group, name, index, path)
    chain.after_update()
    for index, block in enumerate(chain.blocks):  # exactly the saved values, not re-programmed ones
        if block.kind == "analog":
            net, group = block.network, trained.parameters[index]
            net.set_conductances([group[CONDUCTANCES.format(l)] for l in range(net.n_layers)])
            if block.theta_bias:
                net.set_biases([group[BIAS_CURRENTS.format(m)] for m in range(net.n_layers)])
    buffers = {f"block{i}.{b.kind}.{name}": array for i, b in enumerate(chain.blocks)
               for name, array in b.buffers.items()}
    if not buffers:
        return []
    if trained.model is None:
        return [f"no {trained.checkpoint.name} beside {path.name}: batch-norm running statistics keep their "
                "initial values, so tile inputs differ from the trained model's"]
    for name, array in buffers.items():
        if name not in trained.model or np.shape(trained.model[name]) != array.shape:
            raise CosimError(f"{trained.checkpoint} does not match the model (buffer {name})")
        array[...] = trained.model[name]
    return [f"batch-norm running statistics from {trained.checkpoint}"]


def _load_analog(block, group: dict, index: int, path: Path) -> None:
    net = block.network
    for l in range(net.n_layers):
        _copy_into(block.theta[l], group, CONDUCTANCES.format(l), index, path, scale=1.0 / block.g_max)
    for m, theta in enumerate(block.theta_bias):
        _copy_into(theta, group, BIAS_CURRENTS.format(m), index, path, scale=1.0 / block.g_max)


def _copy_into(array: np.ndarray, group: dict, name: str, index: int, path: Path, scale: float = 1.0) -> None:
    value = group.get(name)
    if value is None or np.shape(value) != array.shape:
        found = "missing" if value is None else f"shape {np.shape(value)}"
        raise CosimError(f"{path}: parameters/block{index}/{name} is {found}, but the config's model needs "
                         f"shape {array.shape}; pass the config the run was trained with")
    array[...] = np.asarray(value) * scale
