"""Config schema and loader: defaults, round trip, every error path with its key path, overrides,
tagged unions, a property test that hostile input only ever raises ConfigError, and the generated docs."""

import dataclasses
import functools
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.config import (
    Config,
    DataConfig,
    DigitalBlockConfig,
    LinearOpConfig,
    ModelConfig,
    ResistiveBlockConfig,
    config_from_dict,
    config_hash,
    dump_config,
    load_config,
    to_dict,
    validate_config,
)
from cosim.config import reference, schema
from cosim.config import schema_fields
from cosim.errors import ConfigError

REFERENCE_DOC = Path(__file__).resolve().parents[1] / "docs" / "config-reference.md"

MIXED = """
seed: 7
data: {dataset: synthetic, n_train: 100, n_test: 50, batch_size: 10}
model:
  dtype: float64
  blocks:
  - kind: digital
    ops:
    - {op: conv2d, out_channels: 4, padding: 1}
    - {op: maxpool2d}
    - {op: batchnorm}
    - {op: relu}
    - {op: flatten}
    - {op: linear, out_features: 32}
    - {op: hardtanh, lo: 0, hi: 1}
    - {op: gain_offset, gain: 2, learnable: true}
  - kind: resistive
    hidden: [16, 8]
    amplifier_gains: [1, 2, 4]
    lower_rail_V: -0.5
training: {algorithm: id, optimizer: {kind: sgd, lr: 0.01}}
solver: {tol: 1e-6, on_unconverged: raise}
chip:
  tile: {diode: {model: shockley, temperature_K: 310}}
  mapping: [1]
  tiles: [{tile: 1, set: {node_adc.ideal: false, node_adc.bits: 6}}]
"""


def get(config, dotted: str):
    """``get(c, "model.blocks.0.hidden")`` -> ``c.model.blocks[0].hidden``."""
    for segment in dotted.split("."):
        config = config[int(segment)] if segment.isdigit() else getattr(config, segment)
    return config


def raises_config_error(source, overrides=()) -> str:
    with pytest.raises(ConfigError) as excinfo:
        load_config(source, overrides)
    return str(excinfo.value)


# ------------------------------------------------------------------------------------------ defaults


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("schema_version", 2),
        ("seed", 0),
        ("data.dataset", "fashion-mnist"),
        ("data.path", None),
        ("data.batch_size", 32),
        ("data.test_batch_size", 256),
        ("model.dtype", "float32"),
        ("model.blocks.0.kind", "resistive"),
        ("model.blocks.0.hidden", [256]),
        ("chip.tile.diode.model", "ideal"),
        ("chip.tile.diode.saturation_current_A", 1e-14),
        ("model.blocks.0.upper_rail_V", 1.0),
        ("chip.tile.device.g_max_S", 1e-5),
        ("model.blocks.0.amplifier_gains", None),
        ("training.algorithm", "ep"),
        ("training.beta", 0.1),
        ("training.schedule", "cosine"),
        ("training.optimizer.betas", [0.9, 0.999]),
        ("solver.on_unconverged", "warn"),
    ],
)
def test_defaults(key, expected):
    assert get(load_config(""), key) == expected
    assert get(Config(), key) == expected


def test_defaults_are_fresh_copies():
    first, second = Config(), Config()
    assert first.model.blocks is not second.model.blocks
    assert first.model.blocks[0].hidden is not second.model.blocks[0].hidden


def test_every_field_is_documented_and_only_declared_fields_are_required():
    required = set()
    for cls in _schema_classes(Config):
        for name, (field, _) in schema_fields(cls).items():
            assert field.metadata["doc"].strip(), f"{cls.__name__}.{name} has no doc"
            assert isinstance(field.metadata["unit"], str), f"{cls.__name__}.{name} has no unit"
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                required.add(f"{cls.__name__}.{name}")
    assert required == {"LinearOpConfig.out_features", "Conv2dOpConfig.out_channels", "DigitalBlockConfig.ops",
                        "TileOverrideConfig.tile", "TileOverrideConfig.set",
                        "ConvHopfieldLayerConfig.channels"}


def test_every_number_has_physical_bounds_on_both_sides():
    unbounded = []
    for cls in _schema_classes(Config):
        for name, (field, tp) in schema_fields(cls).items():
            numeric = tp in (int, float) or set(getattr(tp, "__args__", ())) & {int, float}
            meta = field.metadata
            has_low, has_high = {"min", "exclusive_min"} & set(meta), {"max", "exclusive_max"} & set(meta)
            if numeric and name != "schema_version" and not (has_low and has_high):
                unbounded.append(f"{cls.__name__}.{name}")
    assert not unbounded


def _schema_classes(cls, seen=None):
    seen = [] if seen is None else seen
    if cls not in seen:
        seen.append(cls)
        for field, tp in schema_fields(cls).values():
            children = list(field.metadata.get("variants", {}).values())
            children += [t for t in (tp, *getattr(tp, "__args__", ())) if dataclasses.is_dataclass(t)]
            for child in children:
                _schema_classes(child, seen)
    return seen


# ---------------------------------------------------------------------------------------- round trip

ROUND_TRIP = {
    "defaults": ("", ()),
    "mixed": (MIXED, ()),
    "overridden": (MIXED, ("model.blocks.1.hidden=[3, 2]", "data.path=/data/x")),
    # strings that YAML would read as something else must come back as strings
    "tricky-strings": ("", ("data.path='1e5'",)),
    "tricky-null": ("", ("data.path='null'",)),
    "tricky-bool": ("", ("data.path='true'",)),
    "yes-stays-a-string": ("data: {path: yes}", ()),
}


@pytest.mark.parametrize(("text", "overrides"), ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_round_trip(text, overrides):
    config = load_config(text, overrides)
    dumped = dump_config(config)
    assert load_config(dumped) == config
    assert dump_config(load_config(dumped)) == dumped
    assert config_hash(load_config(dumped)) == config_hash(config)
    assert yaml.safe_load(dumped)["schema_version"] == schema.SCHEMA_VERSION


def test_tricky_strings_stay_strings():
    assert load_config("", ["data.path='1e5'"]).data.path == "1e5"
    assert load_config("data: {path: yes}").data.path == "yes"


def test_dump_writes_every_default():
    dumped = yaml.safe_load(dump_config(Config()))
    assert dumped["chip"]["tile"]["diode"]["temperature_K"] == 300.15
    assert dumped["data"]["path"] is None and dumped["schema_version"] == schema.SCHEMA_VERSION


def test_hash_is_short_stable_and_content_sensitive():
    base = config_hash(Config())
    assert len(base) == 16 and base == config_hash(load_config(""))
    assert config_hash(load_config("seed: 1")) != base


def test_mixed_config_builds_typed_tree():
    config = load_config(MIXED)
    digital, resistive = config.model.blocks
    assert isinstance(digital, DigitalBlockConfig) and isinstance(resistive, ResistiveBlockConfig)
    assert [op.op for op in digital.ops][:2] == ["conv2d", "maxpool2d"]
    assert digital.ops[5] == LinearOpConfig(out_features=32)
    assert resistive.amplifier_gains == [1.0, 2.0, 4.0] and all(type(g) is float for g in resistive.amplifier_gains)
    assert type(digital.ops[6].lo) is float and config.solver.tol == 1e-6  # ints become floats; 1e-6 is a float


def test_validate_config_checks_python_built_configs():
    bad = Config(model=ModelConfig(blocks=[ResistiveBlockConfig(lower_rail_V=1.0, upper_rail_V=0.0)]))
    with pytest.raises(ConfigError, match=r"model\.blocks\[0\]\.upper_rail_V"):
        validate_config(bad)
    assert validate_config(Config(data=DataConfig(batch_size=8))).data.batch_size == 8


# ------------------------------------------------------------------------------------------- errors

TWO_BLOCKS = ("model: {blocks: [{kind: resistive}, {kind: resistive}]}\n"
              "chip:\n  tiles:\n  - {tile: 0, set: {}}\n  - {tile: 1, set: {diode.model: %s}}\n")
DIGITAL = "model: {blocks: [{kind: digital, ops: %s}]}"
RESISTIVE = "model: {blocks: [{kind: resistive, %s}]}"

ERRORS = {
    # unknown keys: the key path, the nearest valid key, the valid keys
    "unknown-top": ("sed: 1", ["sed: unknown key", "did you mean 'seed'", "valid top-level keys: schema_version"]),
    "unknown-nested": (RESISTIVE % "hiden: [3]", ["model.blocks[0].hiden", "did you mean 'hidden'", "outputs"]),
    "unknown-non-string": ("1: 2", ["1: unknown key", "valid top-level keys"]),
    # choices
    "choice": (TWO_BLOCKS % "shockly", ["chip.tiles[1].set.diode.model", "did you mean 'shockley'", "ideal, shockley"]),
    "choice-off-is-a-string": ("data: {normalize: off}", ["data.normalize", "string 'off'", "standard, unit, none"]),
    "choice-wrong-type": ("model: {dtype: 32}", ["model.dtype", "got int 32"]),
    # tagged unions
    "unknown-kind": (
        "model: {blocks: [{kind: resistve}]}",
        ["model.blocks[0].kind", "'resistve'", "did you mean 'resistive'", "valid kinds: digital, resistive"],
    ),
    "missing-kind": ("model: {blocks: [{hidden: [3]}]}",
                     ["model.blocks[0]", "missing key 'kind'", "digital, resistive"]),
    "kind-not-a-string": ("model: {blocks: [{kind: [1]}]}", ["model.blocks[0].kind", "a list", "valid kinds"]),
    "block-not-a-mapping": ("model: {blocks: [3]}", ["model.blocks[0]", "expected a mapping with kind"]),
    "unknown-op": (DIGITAL % "[{op: relu}, {op: lin}]", ["model.blocks[0].ops[1].op", "'linear'", "valid ops: linear"]),
    "missing-required": (DIGITAL % "[{op: linear}]", ["blocks[0].ops[0].out_features", "required key is missing"]),
    "key-of-other-variant": (DIGITAL % "[{op: relu, gain: 2}]", ["model.blocks[0].ops[0].gain", "unknown key"]),
    # types
    "bool-for-int": ("seed: true", ["seed", "expected int >= 0", "got bool true"]),
    "bool-for-float": ("training: {beta: false}", ["training.beta", "expected float > 0", "got bool false"]),
    "string-for-float": ("training: {beta: '0.1'}", ["training.beta", "got string '0.1'"]),
    "float-for-int": ("training: {epochs: 1.5}", ["training.epochs", "expected int", "got float 1.5"]),
    "null-for-int": ("seed: null", ["seed", "expected int", "got null"]),
    "list-for-mapping": ("data: [1, 2]", ["data: expected a mapping with keys dataset", "got a list"]),
    "mapping-for-list": (RESISTIVE % "hidden: {a: 1}", ["model.blocks[0].hidden", "expected list of int", "a mapping"]),
    "string-for-bool": (RESISTIVE % "bias_currents: 'yes'", ["model.blocks[0].bias_currents", "expected bool"]),
    # ranges
    "below-min": ("data: {batch_size: 0}", ["data.batch_size", "must be >= 1", "got 0"]),
    "exclusive-min": ("solver: {tol: 0}", ["solver.tol", "must be > 0"]),
    "list-item-range": (RESISTIVE % "hidden: [64, 0]", ["model.blocks[0].hidden[1]", "must be >= 1"]),
    "exclusive-max": ("training: {optimizer: {betas: [0.9, 1]}}", ["training.optimizer.betas[1]", "< 1"]),
    "nan": ("training: {beta: .nan}", ["training.beta", "finite"]),
    "inf": ("solver: {tol: 1e400}", ["solver.tol", "finite"]),
    "huge-int-for-float": ("training: {beta: %d}" % 10**400, ["training.beta", "too large for a float"]),
    # physical bounds: extreme but finite values name their key (issue 12, section 4)
    "beta-1e308": ("training: {beta: 1e308}", ["training.beta", "must be > 0 and <= 10", "got 1e+308"]),
    "beta-1e30": ("training: {beta: 1e30}", ["training.beta", "<= 10"]),
    "full-scale-huge": ("chip: {tile: {input_dac: {full_scale: 1e308}}}",
                        ["chip.tile.input_dac.full_scale", "<= 1000"]),
    "full-scale-tiny": ("chip: {tile: {input_dac: {full_scale: 1e-300}}}",
                        ["chip.tile.input_dac.full_scale", ">= 1e-12", "got 1e-300"]),
    "input-scale-huge": (RESISTIVE % "input_scale: 1e308", ["model.blocks[0].input_scale", "<= 100"]),
    "g-max-huge": ("chip: {tile: {device: {g_max_S: 1e308}}}", ["chip.tile.device.g_max_S", "<= 1.0"]),
    "gain-huge": (DIGITAL % "[{op: gain_offset, gain: 1e30}]", ["model.blocks[0].ops[0].gain", "<= 1000000.0"]),
    "n-train-huge": ("data: {n_train: 10000000000}", ["data.n_train", "<= 1000000", "got 10000000000"]),
    # cross-field checks
    "rails": (RESISTIVE % "lower_rail_V: 1, upper_rail_V: 0.5",
              ["blocks[0].upper_rail_V", "greater than lower_rail_V"]),
    "conductances": ("chip: {tile: {device: {g_min_S: 1e-3}}}", ["chip.tile.device.g_max_S", "greater than g_min_S"]),
    "tile-override-key": ("chip: {tiles: [{tile: 0, set: {adc.bits: 4}}]}", ["chip.tiles[0].set.adc", "not a section"]),
    "tile-override-value": ("chip: {tiles: [{tile: 0, set: {node_adc.bits: 1}}]}",
                            ["chip.tiles[0].set.node_adc.bits", "must be >= 2"]),
    "tile-override-twice": ("chip: {tiles: [{tile: 0, set: {}}, {tile: 0, set: {}}]}", ["overridden twice"]),
    "tile-override-no-tile": ("chip: {tiles: [{tile: 3, set: {}}]}", ["chip.tiles[0].tile", "tile 3 does not exist"]),
    "tile-override-unmapped": ("chip: {mapping: [2], tiles: [{tile: 0, set: {}}]}",
                               ["chip.tiles[0].tile", "tile 0 does not exist", "run on tile(s) 2"]),
    "mapping-too-long": ("chip: {mapping: [0, 1]}", ["chip.mapping", "gives 2 tile id(s)", "1 resistive block(s)"]),
    "mapping-too-short": (TWO_BLOCKS % "ideal" + "  mapping: [1]\n", ["chip.mapping", "gives 1 tile id(s)"]),
    "mapping-duplicate": (TWO_BLOCKS % "ideal" + "  mapping: [1, 1]\n", ["chip.mapping[1]", "tile 1 is given twice"]),
    "gains-length": (RESISTIVE % "hidden: [4], amplifier_gains: [1]", ["blocks[0].amplifier_gains", "2 values; got 1"]),
    "hardtanh": (DIGITAL % "[{op: hardtanh, lo: 1, hi: 0}]", ["model.blocks[0].ops[0].hi", "greater than lo"]),
    "betas-length": ("training: {optimizer: {betas: [0.9]}}", ["training.optimizer.betas", "exactly 2"]),
    "no-blocks": ("model: {blocks: []}", ["model.blocks", "at least one block"]),
    "no-ops": (DIGITAL % "[]", ["model.blocks[0].ops", "at least one op"]),
    "schema-version": ("schema_version: 3", ["schema_version", "reads schema version 2, got 3"]),
    # YAML and top level
    "syntax": ("seed: 1\ndata: {batch_size: 3\n", ["YAML syntax error", "line 3"]),
    "duplicate-key": ("seed: 1\ndata: {}\nseed: 2\n", ["line 3", "'seed' is given twice"]),
    "bad-tag": ("seed: !!float abc", ["invalid YAML"]),
    "bad-tag-empty": ("seed: !!float ''", ["invalid YAML"]),
    "bad-tag-bool": ("seed: !!bool maybe", ["invalid YAML"]),
    "bad-date": ("seed: 2001-13-45", ["invalid YAML"]),
    "nul-byte": ("seed: 1\x00\n", ["invalid YAML", "control character U+0000 at character 8"]),
    "deep": ("[" * 3000, ["nested too deeply"]),
    "top-list": ("- 1\n- 2\n", ["top level must be a mapping", "got a list"]),
    "top-scalar": ("42", ["top level must be a mapping", "int 42"]),
    "word-is-no-file": ("configs_missing", ["no such file 'configs_missing'"]),
    "missing-yaml-file": ("does/not/exist.yaml", ["config file not found: does/not/exist.yaml"]),
}


@pytest.mark.parametrize(("text", "fragments"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_name_the_key_and_the_problem(text, fragments):
    message = raises_config_error(text)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize("source", [42, None, b"seed: 1"])
def test_source_of_wrong_type(source):
    assert "expected a config file path or YAML text" in raises_config_error(source)


def test_file_sources(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(MIXED)
    assert load_config(path) == load_config(str(path)) == load_config(MIXED)
    path.write_text("seed: -1\n")
    assert raises_config_error(path).startswith(f"{path}: seed: must be >= 0")
    assert "config file not found" in raises_config_error(tmp_path / "missing.yml")
    assert "cannot read config file" in raises_config_error(tmp_path)
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    assert "cannot read config file" in raises_config_error(tmp_path / "binary.yaml")


# ----------------------------------------------------------------------------------------- overrides

OVERRIDES = {
    "scalar": ("", ["training.beta=0.2"], "training.beta", 0.2),
    "nested": ("", ["training.optimizer.lr=1e-2"], "training.optimizer.lr", 0.01),
    "list-index-in-defaults": ("", ["model.blocks.0.hidden=[64, 32]"], "model.blocks.0.hidden", [64, 32]),
    "keeps-other-defaults": ("", ["model.blocks.0.outputs=2"], "model.blocks.0.hidden", [256]),
    "list-index-in-file": (MIXED, ["model.blocks.1.outputs=4"], "model.blocks.1.outputs", 4),
    "tile-default": (MIXED, ["chip.tile.diode.model=ideal"], "chip.tile.diode.model", "ideal"),
    "op-in-file": (MIXED, ["model.blocks.0.ops.5.out_features=7"], "model.blocks.0.ops.5.out_features", 7),
    "over-file-value": (MIXED, ["seed=3"], "seed", 3),
    "last-wins": ("", ["seed=1", "seed=2"], "seed", 2),
    "append": ("", ["model.blocks.1={kind: digital, ops: [{op: relu}]}"], "model.blocks.1.ops.0.op", "relu"),
    "null": (MIXED, ["data.n_train=null"], "data.n_train", None),
    "empty-is-null": (MIXED, ["data.n_train="], "data.n_train", None),
    "equals-in-value": ("", ["data.path=/a=b"], "data.path", "/a=b"),
    "whole-section": ("", ["solver={tol: 1e-3}"], "solver.tol", 1e-3),
}


@pytest.mark.parametrize(("text", "overrides", "key", "expected"), OVERRIDES.values(), ids=OVERRIDES.keys())
def test_overrides(text, overrides, key, expected):
    assert get(load_config(text, overrides), key) == expected


BAD_OVERRIDES = {
    "no-equals": (["seed"], ["override 'seed' is not of the form key=value"]),
    "empty-key": (["=3"], ["not of the form key=value"]),
    "empty-segment": (["a..b=3"], ["not of the form key=value"]),
    "bad-segment": (["a b=3"], ["not of the form key=value"]),
    "bad-yaml": (["seed=[1"], ["override 'seed=[1'", "YAML syntax error"]),
    "index-out-of-range": (["model.blocks.5.hidden=[1]"], ["index 5 is out of range", "model.blocks has 1 item"]),
    "key-into-list": (["model.blocks.x=1"], ["model.blocks is a list", "by index"]),
    "key-into-scalar": (["seed.x=1"], ["seed is int 0, which has no keys"]),
    "unknown-key": (["sed=1"], ["sed: unknown key", "did you mean 'seed'"]),
    "unknown-nested": (["model.blokcs.0.hidden=[1]"], ["model.blokcs", "did you mean 'blocks'"]),
    "bad-value": (["training.beta=-1"], ["training.beta: must be > 0"]),
    "huge-value": (["training.beta=1e30"], ["training.beta: must be > 0 and <= 10"]),
    "switch-kind": (["model.blocks.0.kind=digital"], ["model.blocks[0].hidden", "unknown key"]),
    "not-a-string": ([42], ["override 42"]),
    "string-not-list": ("seed=1", ["overrides must be a list of strings"]),
    "not-iterable": (3, ["overrides must be a list of strings"]),
}


@pytest.mark.parametrize(("overrides", "fragments"), BAD_OVERRIDES.values(), ids=BAD_OVERRIDES.keys())
def test_bad_overrides(overrides, fragments):
    message = raises_config_error("", overrides)
    for fragment in fragments:
        assert fragment in message


def test_overrides_do_not_mutate_the_input():
    data = {"model": {"blocks": [{"kind": "analog"}]}}  # schema version 1: migrated, on a copy
    assert config_from_dict(data, ["model.blocks.0.outputs=3"]).model.blocks[0].kind == "resistive"
    assert data == {"model": {"blocks": [{"kind": "analog"}]}}


# ------------------------------------------------------------------------------------ property test

_KEY_NAMES = sorted({name for cls in _schema_classes(Config) for name in schema_fields(cls)})
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["analog", "resistive", "digital", "linear", "ideal", "1e-5", "yes", "float64", ""]),
)
_GARBAGE = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(_KEY_NAMES), st.text(max_size=6)), inner, max_size=3),
    ),
    max_leaves=8,
)


def _places(node, prefix=()):
    """Every (container, key, dotted path) in plain data."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield node, key, (*prefix, str(key))
        yield from _places(child, (*prefix, str(key)))


@st.composite
def _mutated(draw):
    data = to_dict(load_config(draw(st.sampled_from(["", MIXED]))))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_places(data))
        if not places:
            break
        container, key, _ = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["delete", "rename", "replace", "wrap", "null", "huge"]))
        if action == "delete":
            del container[key]
        elif action == "rename" and isinstance(container, dict):
            container[key + draw(st.sampled_from(["s", "_", "X"]))] = container.pop(key)
        elif action == "wrap":
            container[key] = [container[key]]
        else:
            container[key] = {"null": None, "huge": 10**400}.get(action) if action != "replace" else draw(_GARBAGE)
    paths = [".".join(path) for _, _, path in _places(data)] or ["seed"]
    flow = functools.partial(yaml.safe_dump, default_flow_style=True)
    override = st.builds(lambda path, value: f"{path}={flow(value).strip()}", st.sampled_from(paths), _GARBAGE)
    overrides = draw(st.lists(st.one_of(override, st.text(max_size=15)), max_size=2))
    return data, overrides


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=_mutated(), as_text=st.booleans())
def test_hostile_input_raises_only_config_error(case, as_text):
    data, overrides = case
    try:
        config = load_config(yaml.safe_dump(data), overrides) if as_text else config_from_dict(data, overrides)
    except ConfigError:
        return
    assert load_config(dump_config(config)) == config


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40))
def test_arbitrary_text_raises_only_config_error(text):
    try:
        assert isinstance(load_config(text), Config)
    except ConfigError:
        pass


# -------------------------------------------------------------------------------------------- docs


def test_reference_doc_matches_schema():
    assert REFERENCE_DOC.read_text() == reference.render(), (
        "docs/config-reference.md is stale: run `python -m cosim.config.reference > docs/config-reference.md`"
    )


def test_reference_doc_has_a_table_per_dataclass_and_every_key():
    text = reference.render()
    for cls in _schema_classes(Config):
        assert f"(`{cls.__name__}`)" in text
    for key in ("`chip.tile.diode.temperature_K`", "`model.blocks[].ops[].out_features`", "`solver.threads`"):
        assert key in text
    assert math.isclose(yaml.safe_load(text.split("```yaml\n")[1].split("```")[0])["solver"]["tol"], 1e-5)
    assert schema.SCHEMA_VERSION == 2
