"""A Python-API user and a YAML user get the same physics: every default of a physics class that has a
schema counterpart equals the schema's default."""

import dataclasses
import inspect

import pytest

from cosim.config import schema

# (physics class, its parameter, schema class, schema field); mapped values compare through `convert`
CONVERTER = [(name, schema.ConverterConfig, name) for name in
             ("ideal", "bits", "range", "full_scale", "margin", "noise_lsb", "offset_lsb", "recalibrate_every")]
DEVICE = [("g_min", schema.DeviceConfig, "g_min_S"), ("g_max", schema.DeviceConfig, "g_max_S"),
          ("t_read", schema.DeviceConfig, "read_noise_t_read_s"), ("retention_t0", schema.DeviceConfig, "retention_t0_s"),
          ("retention_tau", schema.DeviceConfig, "retention_tau_s"),
          *[(name, schema.DeviceConfig, name) for name in
            ("levels", "programming_noise", "read_noise", "variability", "stuck_at_min", "stuck_at_max",
             "pulse_step", "pulse_step_spread", "asymmetry", "soft_bounds", "read_noise_1f", "read_noise_1f_exponent",
             "retention", "drift_nu", "drift_nu_spread", "drift_nu_state_dependent", "relaxation_mean",
             "relaxation_spread", "retention_equilibrium")]]
NUDGE = [(name, schema.TrainingConfig, name) for name in ("algorithm", "estimator", "beta")]
BCD = [("max_sweeps", schema.SolverConfig, "max_sweeps"), ("on_unconverged", schema.SolverConfig, "on_unconverged")]
SOLVER = [*BCD, ("tol", schema.SolverConfig, "tol")]
DYNAMICS_SOLVER = [*SOLVER, ("capacitance", schema.TileConfig, "node_capacitance_F")]
BLOCK_DESCENT = [("max_sweeps", schema.SolverConfig, "max_sweeps"), ("tol", schema.SolverConfig, "tol"),
                 *[(name, schema.RelaxationConfig, name) for name in ("synchronous", "noise_sigma")]]
GRADIENT_FLOW = [("tol", schema.SolverConfig, "tol"),
                 *[(name, schema.RelaxationConfig, name) for name in ("max_steps", "step", "noise_sigma")]]
MOMENTUM = [*GRADIENT_FLOW, *[(name, schema.RelaxationConfig, name) for name in
                              ("damping", "restart", "bifurcation_steps", "bifurcation_strength")]]
HOPFIELD = [("on_unconverged", schema.SolverConfig, "on_unconverged"), ("tol", schema.SolverConfig, "tol"),
            ("relaxation", schema.RelaxationConfig, "kind"), ("synchronous", schema.RelaxationConfig, "synchronous"),
            ("noise_sigma", schema.RelaxationConfig, "noise_sigma")]
SHOCKLEY = [("saturation_current", schema.DiodeConfig, "saturation_current_A"),
            ("emission_coefficient", schema.DiodeConfig, "emission_coefficient"),
            ("temperature", schema.DiodeConfig, "temperature_K")]


def _ours():
    from cosim.converters import ConverterSpec
    from cosim.analog.devices import DeviceModel
    from cosim.learning.blocks import NudgeSettings

    return [(ConverterSpec, CONVERTER), (DeviceModel, DEVICE), (NudgeSettings, NUDGE)]


def _analog():
    from cosim.analog import BCDSolver, GradientFlowSolver, HopfieldSolver, MomentumSolver, ShockleyDiode
    from cosim.analog.relaxation import BlockDescent, GradientFlow, Momentum

    return [(BCDSolver, SOLVER), (GradientFlowSolver, DYNAMICS_SOLVER), (MomentumSolver, DYNAMICS_SOLVER),
            (BlockDescent, BLOCK_DESCENT), (GradientFlow, GRADIENT_FLOW), (Momentum, MOMENTUM),
            (HopfieldSolver, HOPFIELD), (ShockleyDiode, SHOCKLEY)]


def physics_default(cls, name):
    """The default of ``name`` in the constructor of ``cls`` (dataclass field or keyword). A tolerance of
    None means the dtype's default tolerance, taken here for the schema's default dtype."""
    from cosim.analog.core import default_tol

    default = inspect.signature(cls).parameters[name].default
    if name == "tol" and default is None:
        return default_tol(schema_default(schema.ModelConfig, "dtype"))
    return default


def schema_default(cls, name):
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    return field.default if field.default is not dataclasses.MISSING else field.default_factory()


def cases(classes):
    return [pytest.param(cls, name, s_cls, s_name, id=f"{cls.__name__}.{name}")
            for cls, table in classes for name, s_cls, s_name in table]


def check(cls, name, schema_cls, schema_name):
    assert physics_default(cls, name) == schema_default(schema_cls, schema_name), (
        f"{cls.__name__}({name}=...) defaults to {physics_default(cls, name)!r} but the schema's "
        f"{schema_cls.__name__}.{schema_name} to {schema_default(schema_cls, schema_name)!r}")


@pytest.mark.parametrize("cls, name, schema_cls, schema_name", cases(_ours()))
def test_chip_and_learning_defaults_match_the_schema(cls, name, schema_cls, schema_name):
    check(cls, name, schema_cls, schema_name)


@pytest.mark.parametrize("cls, name, schema_cls, schema_name", cases(_analog()))
def test_analog_defaults_match_the_schema(cls, name, schema_cls, schema_name):
    check(cls, name, schema_cls, schema_name)
