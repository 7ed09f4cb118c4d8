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
          *[(name, schema.DeviceConfig, name) for name in
            ("levels", "programming_noise", "read_noise", "variability", "stuck_at_min", "stuck_at_max",
             "pulse_step", "pulse_step_spread", "asymmetry")]]
NUDGE = [(name, schema.TrainingConfig, name) for name in ("algorithm", "estimator", "beta")]
BCD = [("max_sweeps", schema.SolverConfig, "max_sweeps"), ("on_unconverged", schema.SolverConfig, "on_unconverged")]
DYNAMICS = [*BCD, ("capacitance", schema.TileConfig, "node_capacitance_F"),
            *[(name, schema.RelaxationConfig, name) for name in ("max_steps", "step", "noise_sigma")]]
MOMENTUM = [*DYNAMICS, *[(name, schema.RelaxationConfig, name) for name in
                         ("damping", "restart", "bifurcation_steps", "bifurcation_strength")]]
HOPFIELD = [("max_steps", schema.RelaxationConfig, "max_steps"), ("on_unconverged", schema.SolverConfig, "on_unconverged"),
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
    from cosim.analog import BCDSolver, ShockleyDiode
    from cosim.analog.dynamics import GradientFlowSolver, MomentumSolver
    from cosim.analog.hopfield import HopfieldSolver

    return [(BCDSolver, BCD), (GradientFlowSolver, DYNAMICS), (MomentumSolver, MOMENTUM),
            (HopfieldSolver, HOPFIELD), (ShockleyDiode, SHOCKLEY)]


def physics_default(cls, name):
    """The default of ``name`` in the constructor of ``cls`` (dataclass field or keyword)."""
    parameter = inspect.signature(cls).parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        # keywords forwarded through **dynamics: the default of the class that receives them
        from cosim.analog.dynamics import GradientFlow, Momentum

        inner = Momentum if "Momentum" in cls.__name__ else GradientFlow
        parameter = inspect.signature(inner).parameters[name]
    return parameter.default


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


@pytest.mark.xfail(strict=False, reason="analog helper")
@pytest.mark.parametrize("cls, name, schema_cls, schema_name", cases(_analog()))
def test_analog_defaults_match_the_schema(cls, name, schema_cls, schema_name):
    check(cls, name, schema_cls, schema_name)
