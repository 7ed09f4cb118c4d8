"""From a validated :class:`~cosim.config.schema.Config` to the objects a run needs.

The one place where config names meet simulator classes: datasets, digital ops, resistive networks,
the chip's tiles (device models and converter specs, built with keyword arguments), the chain, the
optimiser and the schedule; and every random generator, each a named stream of :class:`Streams`
(``init/block<i>``, ``relaxation/block<i>``, ``tile<t>/...``). Shapes are inferred block by block so an impossible model
fails here, before any training, with the key path of the offending block.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from cosim.analog import (Amplifier, BCDSolver, ConvHopfieldNetwork, ConvLayer, DenseLayer, GradientFlowSolver,
                          HopfieldBlock, HopfieldNetwork, HopfieldSolver,
                          IdealDiode, MomentumSolver, ResistiveBlock, ResistiveNetwork, ResistiveSolver, ShockleyDiode)
from cosim.analog.resistive import WireFreeRules
from cosim.analog.devices import DeviceModel
from cosim.analog.resistive.wires import WiredNetwork, WiredRules, WiredSolver, WireLayout
from cosim.chip import Chip, TileSpec
from cosim.config import resolve_tile
from cosim.config.schema import (ResistiveBlockConfig, ChipConfig, Config, ConverterConfig, ConvHopfieldBlockConfig,
                                 DeviceConfig, DigitalBlockConfig, HopfieldBlockConfig, RelaxationConfig, TileConfig,
                                 WiresConfig)
from cosim.converters import ConverterSpec
from cosim.data import Dataset, load_dataset
from cosim.digital.ops import make_op
from cosim.errors import ConfigError, CosimError
from cosim.learning.blocks import AnalogBlock, DigitalBlock, NudgeSettings
from cosim.learning.chain import Chain
from cosim.learning.conv_hopfield_block import ConvHopfieldChainBlock, HopfieldTileCost
from cosim.learning.hopfield_block import HopfieldChainBlock
from cosim.learning.optim import Optimizer, Schedule, constant_schedule, cosine_schedule, make_optimizer
from cosim.streams import Streams

#: digital ops that need image-shaped input; a model starting with one gets unflattened samples
SPATIAL_OPS = ("conv2d", "maxpool2d", "avgpool2d")
#: config op names whose class in cosim.digital has another registry name
OP_NAMES = {"gain_offset": "gainoffset"}


def build_dataset(config: Config) -> Dataset:
    data, first = config.data, config.model.blocks[0]
    spatial = (isinstance(first, DigitalBlockConfig) and first.ops[0].op in SPATIAL_OPS
               or isinstance(first, ConvHopfieldBlockConfig))
    return load_dataset(data.dataset, path=data.path, n_train=data.n_train, n_test=data.n_test, seed=config.seed,
                        normalize=data.normalize, flatten=not spatial, dtype=np.dtype(config.model.dtype))


def build_chain(config: Config, input_shape: tuple, n_classes: int, streams: Streams) -> tuple[Chain, Chip]:
    """The ff-EBM of ``config.model`` on the chip of ``config.chip``; block i initialised from the stream
    ``init/block<i>``."""
    chip = Chip(config.chip, tile_config(config.chip, 0))
    blocks, shapes, shape = [], [], tuple(input_shape)
    for index, block_config in enumerate(config.model.blocks):
        path, rng = f"model.blocks[{index}]", streams(f"init/block{index}")
        try:
            if isinstance(block_config, DigitalBlockConfig):
                block = _digital_block(block_config, shape, config.model.dtype, rng)
            elif isinstance(block_config, HopfieldBlockConfig):
                block = _hopfield_block(block_config, shape, config, index, streams)
            elif isinstance(block_config, ConvHopfieldBlockConfig):
                block = _conv_hopfield_block(block_config, shape, config, index, streams, chip)
            else:
                block = _analog_block(block_config, shape, config, chip, index, streams)
            out_shape = block.output_shape(shape)
        except ConfigError:
            raise
        except CosimError as err:
            raise ConfigError(f"{path}: {err}") from None
        blocks.append(block)
        shapes.append((shape, out_shape))
        shape = out_shape
    chip.plan(blocks, shapes, config.data.batch_size)
    blocks_out = shape
    if config.training.loss == "cross_entropy" and blocks_out != (n_classes,):
        raise ConfigError(f"model.blocks: the last block gives outputs of shape {blocks_out}, but cross_entropy on "
                          f"{config.data.dataset} needs {n_classes} outputs; set the last block's outputs to "
                          f"{n_classes}")
    return Chain(blocks, config.training.loss), chip


# ------------------------------------------------------------------ the chip's tiles
def tile_config(chip: ChipConfig, tile_id: int) -> TileConfig:
    """The tile defaults with this tile's ``chip.tiles`` overrides applied."""
    overrides = [(f"chip.tiles[{i}].set", o.set) for i, o in enumerate(chip.tiles) if o.tile == tile_id]
    return resolve_tile(chip.tile, overrides)


def device_model(d: DeviceConfig) -> DeviceModel:
    return DeviceModel(g_min=d.g_min_S, g_max=d.g_max_S, levels=d.levels, programming_noise=d.programming_noise,
                       read_noise=d.read_noise, variability=d.variability, stuck_at_min=d.stuck_at_min,
                       stuck_at_max=d.stuck_at_max, pulsed=d.update == "pulsed", pulse_step=d.pulse_step,
                       pulse_step_spread=d.pulse_step_spread, asymmetry=d.asymmetry, soft_bounds=d.soft_bounds,
                       read_noise_1f=d.read_noise_1f, read_noise_1f_exponent=d.read_noise_1f_exponent,
                       t_read=d.read_noise_t_read_s, retention=d.retention, retention_t0=d.retention_t0_s,
                       drift_nu=d.drift_nu, drift_nu_spread=d.drift_nu_spread,
                       drift_nu_state_dependent=d.drift_nu_state_dependent, relaxation_mean=d.relaxation_mean,
                       relaxation_spread=d.relaxation_spread, retention_tau=d.retention_tau_s,
                       retention_equilibrium=d.retention_equilibrium)


def converter_spec(c: ConverterConfig) -> ConverterSpec:
    return ConverterSpec(ideal=c.ideal, bits=c.bits, range=c.range, full_scale=c.full_scale, margin=c.margin,
                         noise_lsb=c.noise_lsb, offset_lsb=c.offset_lsb, recalibrate_every=c.recalibrate_every)


CONVERTERS = ("input_dac", "nudge_dac", "output_adc", "node_adc", "current_adc")


def tile_spec(tile_id: int, block_index: int, config: TileConfig) -> TileSpec:
    """The physics of one tile from its resolved config."""
    return TileSpec(tile_id=tile_id, block_index=block_index, config=config, device=device_model(config.device),
                    converters={name: converter_spec(getattr(config, name)) for name in CONVERTERS})


def _digital_block(block_config: DigitalBlockConfig, shape: tuple, dtype: str, rng) -> DigitalBlock:
    ops = []
    for position, op_config in enumerate(block_config.ops):
        kwargs = {k: v for k, v in asdict(op_config).items() if k != "op"}
        name = op_config.op
        if name == "linear":
            kwargs.update(in_features=int(np.prod(shape)), rng=rng, dtype=dtype)
        elif name == "conv2d":
            kwargs.update(in_channels=shape[0] if shape else 0, rng=rng, dtype=dtype)
        elif name in ("batchnorm", "gain_offset"):
            kwargs.update(num_features=shape[0] if shape else 0, dtype=dtype)
        try:
            op = make_op(OP_NAMES.get(name, name), **kwargs)
            shape = op.output_shape(shape)
        except CosimError as err:
            raise ConfigError(f"ops[{position}] ({name}): {err}") from None
        ops.append(op)
    return DigitalBlock(ops)


def _analog_block(c: ResistiveBlockConfig, shape: tuple, config: Config, chip: Chip, index: int,
                  streams: Streams) -> AnalogBlock:
    path, rng = f"model.blocks[{index}]", streams(f"init/block{index}")
    tile_id = chip.tile_id(len(chip.tiles), path)
    spec = tile_spec(tile_id, index, tile_config(config.chip, tile_id))
    device, diode_config = spec.config.device, spec.config.diode
    n_in = int(np.prod(shape))
    sizes = [2 * n_in if c.duplicate_inputs else n_in, *c.hidden, c.outputs]
    dtype = np.dtype(config.model.dtype)  # drawn in the run's dtype: no float64 copy of large crossbars
    conductances = [device.g_min_S + (device.g_max_S - device.g_min_S) * rng.random((a, b), dtype=dtype)
                    for a, b in zip(sizes[:-1], sizes[1:])]
    diode = IdealDiode() if diode_config.model == "ideal" else ShockleyDiode(
        saturation_current=diode_config.saturation_current_A,
        emission_coefficient=diode_config.emission_coefficient, temperature=diode_config.temperature_K)
    amplifiers = None if c.amplifier_gains is None else [Amplifier(a, 1.0 / a) for a in c.amplifier_gains]
    network = ResistiveNetwork(
        conductances, lower_rails=[c.lower_rail_V] * len(c.hidden), upper_rails=[c.upper_rail_V] * len(c.hidden),
        diode=diode, amplifiers=amplifiers, duplicate_inputs=c.duplicate_inputs, dtype=config.model.dtype)
    tile = chip.add_tile(spec, network, streams.scoped(f"tile{tile_id}"))
    solver = _resistive_solver(network, c.relaxation, config, spec.config.node_capacitance_F,
                               streams(f"relaxation/block{index}"))
    block = ResistiveBlock(network, solver, readout=tile)
    if not wire_layout(spec.config).ideal:
        if c.relaxation.kind != "bcd":
            raise ConfigError(f"{path}.relaxation.kind: tile {tile_id} has wires (chip.tile.wires), which only the "
                              f"bcd relaxation solves; set kind: bcd or zero the wire resistances")
        set_wires(block, tile, spec.config.wires)
    training = config.training
    nudge = NudgeSettings(training.algorithm, training.estimator, training.beta)
    return AnalogBlock(block, device.g_min_S, device.g_max_S, c.input_scale, nudge, learn_biases=c.bias_currents,
                       hardware=tile)


def wire_layout(tile: TileConfig, wires: WiresConfig | None = None) -> WireLayout:
    """The :class:`WireLayout` of a tile (every crossbar the same): its ``wires`` section (or ``wires``), on
    arrays of the tile's ``rows`` x ``columns`` (a larger crossbar is partitioned over several)."""
    wires = tile.wires if wires is None else wires
    return WireLayout(wires.word_segment_ohm, wires.bit_segment_ohm, wires.driver_ohm, wires.sense_ohm,
                      wires.word_driven_at, wires.bit_sensed_at, tile.rows, tile.columns)


def set_wires(block: ResistiveBlock, tile, wires: WiresConfig) -> None:
    """Give a built block and its tile new wires, keeping the devices as programmed (the same conductance
    arrays): ideal wires restore the wire-free solver and rules; otherwise the wired ones, with the
    tolerance, cap and reporting of the block's current solver (which must be exact block descent)."""
    solver = getattr(block.solver, "wire_free", block.solver)
    if getattr(solver, "relaxation", "bcd") != "bcd":
        raise ConfigError(f"tile {tile.id}: wires need the bcd relaxation, not {solver.relaxation!r}")
    layout = wire_layout(tile.config, wires)
    if layout.ideal:
        block.solver, block.rules, tile.wires = solver, WireFreeRules(), None
        return
    wired = WiredNetwork(block.network, layout)
    block.solver = WiredSolver(wired, solver.tol, solver.max_sweeps, solver.on_unconverged)
    block.rules, tile.wires = WiredRules(wired), wired


def rewire(chain: Chain, chip: Chip, wires: dict[int, WiresConfig]) -> None:
    """New wire resistances for tiles of a built model (tile id -> wires), on the same programmed devices: the
    ex-situ arm of the IR-drop study (train with one wiring, evaluate with another)."""
    blocks = {tile.id: (chain.blocks[tile.block_index].block, tile) for tile in chip.tiles}
    for tile_id, tile_wires in wires.items():
        if tile_id not in blocks:
            raise ConfigError(f"rewire: no analog block sits on tile {tile_id}; tiles: {sorted(blocks)}")
        set_wires(*blocks[tile_id], tile_wires)


def _dynamics_settings(r: RelaxationConfig) -> dict:
    """Keywords of the rc / momentum dynamics (cosim.analog.relaxation) from a relaxation config; none for bcd."""
    if r.kind == "bcd":
        return {}
    if r.kind == "rc":
        return dict(step=r.step)
    return dict(step=r.step, damping=r.damping, restart=r.restart, bifurcation_steps=r.bifurcation_steps,
                bifurcation_strength=r.bifurcation_strength)


def _resistive_solver(network: ResistiveNetwork, r: RelaxationConfig, config: Config, capacitance: float,
                      rng: np.random.Generator) -> ResistiveSolver:
    common = dict(tol=config.solver.tol, on_unconverged=config.solver.on_unconverged,
                  max_sweeps=config.solver.max_sweeps)
    if r.kind == "bcd":
        return BCDSolver(network, **common)
    solver = GradientFlowSolver if r.kind == "rc" else MomentumSolver
    return solver(network, capacitance=capacitance, **common, max_steps=r.max_steps, noise_sigma=r.noise_sigma, rng=rng,
                  **_dynamics_settings(r))


def _hopfield_block(c: HopfieldBlockConfig, shape: tuple, config: Config, index: int,
                    streams: Streams) -> HopfieldChainBlock:
    rng = streams(f"init/block{index}")
    sizes = [int(np.prod(shape)), *c.hidden, c.outputs]
    weights = [rng.uniform(-1.0, 1.0, (a, b)) * (c.weight_scale / np.sqrt(a)) for a, b in zip(sizes[:-1], sizes[1:])]
    network = HopfieldNetwork(weights, dtype=config.model.dtype)
    return HopfieldChainBlock(_hopfield_core(network, c.relaxation, config, index, streams), _nudge(config),
                              learn_biases=c.biases)


def _hopfield_core(network: HopfieldNetwork, r: RelaxationConfig, config: Config, index: int,
                   streams: Streams) -> HopfieldBlock:
    """A (dense or convolutional) Hopfield network with the solver of its relaxation config."""
    solver = config.solver
    relaxer = HopfieldSolver(
        network, r.kind, tol=solver.tol, max_steps=solver.max_sweeps if r.kind == "bcd" else r.max_steps,
        on_unconverged=solver.on_unconverged, synchronous=r.synchronous, noise_sigma=r.noise_sigma,
        rng=streams(f"relaxation/block{index}"), **_dynamics_settings(r))
    return HopfieldBlock(network, relaxer)


def _nudge(config: Config) -> NudgeSettings:
    training = config.training
    return NudgeSettings(training.algorithm, training.estimator, training.beta)


def _conv_hopfield_block(c: ConvHopfieldBlockConfig, shape: tuple, config: Config, index: int, streams: Streams,
                         chip: Chip) -> ConvHopfieldChainBlock:
    if len(shape) != 3:
        raise ConfigError(f"model.blocks[{index}]: a conv_hopfield block needs image inputs (channels, height, "
                          f"width), got shape {shape}")
    layers = [ConvLayer(l.channels, l.kernel_size, l.stride, l.padding, l.pool) for l in c.layers]
    layers += [DenseLayer(c.outputs)] if c.outputs is not None else []
    network = ConvHopfieldNetwork.initialised(shape, layers, streams(f"init/block{index}"), c.weight_scale,
                                              dtype=config.model.dtype)
    return ConvHopfieldChainBlock(_hopfield_core(network, c.relaxation, config, index, streams), _nudge(config),
                                  learn_biases=c.biases, ledger=chip.ledger.at(f"block{index}"),
                                  cost=HopfieldTileCost(c.mac_energy_J, c.sweep_time_s))


def build_optimizer(config: Config, chain: Chain, steps_per_epoch: int) -> tuple[Optimizer, Schedule]:
    opt = config.training.optimizer
    groups = chain.parameter_groups(opt.resistive_lr_scale)
    if opt.kind == "adam":
        optimizer = make_optimizer("adam", groups, lr=opt.lr, betas=tuple(opt.betas), weight_decay=opt.weight_decay)
    else:
        optimizer = make_optimizer("sgd", groups, lr=opt.lr, momentum=opt.momentum, weight_decay=opt.weight_decay)
    total = steps_per_epoch * config.training.epochs
    schedule = cosine_schedule(opt.lr, total) if config.training.schedule == "cosine" else constant_schedule(opt.lr)
    return optimizer, schedule
