"""Schema versions: older documents are migrated by the rename table, a current document using an old name is
refused with a message saying what to rename; and the config package's import structure (no cycles, a schema
that imports nothing of cosim but its errors)."""

import ast
import re
from pathlib import Path

import pytest

from cosim.config import SCHEMA_VERSION, config_from_dict, load_config, reference
from cosim.config.migrate import RENAMES
from cosim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "chip_configs").glob("*.yaml")) + sorted((ROOT / "tests" / "configs").glob("*.yaml"))
CONFIG_PACKAGE = ROOT / "cosim" / "config"


def as_version_1(text: str) -> str:
    """A current config file written as it was under schema version 1 (without a version)."""
    text = re.sub(r"^schema_version: 2\n", "", text, flags=re.M)
    return text.replace("kind: resistive", "kind: analog").replace("resistive_lr_scale", "analog_lr_scale")


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
@pytest.mark.parametrize("header", ["", "schema_version: 1\n"])
def test_version_1_documents_load_as_their_renamed_twins(path, header):
    text = path.read_text()
    old = header + as_version_1(text)
    assert old != text
    assert load_config(old) == load_config(path)


def test_migration_renames_keys_and_values():
    old = {"model": {"blocks": [{"kind": "digital", "ops": [{"op": "relu"}]}, {"kind": "analog", "outputs": 10}]},
           "training": {"optimizer": {"analog_lr_scale": 10}}}
    config = config_from_dict(old)
    assert [block.kind for block in config.model.blocks] == ["digital", "resistive"]
    assert config.training.optimizer.resistive_lr_scale == 10.0 and config.schema_version == SCHEMA_VERSION
    assert old["training"]["optimizer"] == {"analog_lr_scale": 10}  # the input is not modified


MIXED_NAMES = {
    "old-kind": ("schema_version: 2\nmodel: {blocks: [{kind: resistive}, {kind: analog}]}", [],
                 "model.blocks[1].kind: kind: analog became kind: resistive in schema version 2; rename it"),
    "old-key": ("schema_version: 2\ntraining: {optimizer: {analog_lr_scale: 3}}", [],
                "training.optimizer.analog_lr_scale: renamed to resistive_lr_scale in schema version 2; rename it"),
    "old-key-by-override": ("schema_version: 2", ["training.optimizer.analog_lr_scale=3"],
                            "training.optimizer.analog_lr_scale: renamed to resistive_lr_scale"),
    "old-key-by-override-on-old-file": ("model: {blocks: [{kind: analog}]}", ["model.blocks.0.kind=analog"],
                                        "model.blocks[0].kind: kind: analog became kind: resistive"),
    "both-names": ("schema_version: 1\ntraining: {optimizer: {analog_lr_scale: 3, resistive_lr_scale: 2}}", [],
                   "training.optimizer.analog_lr_scale: schema version 1 name of resistive_lr_scale, which is "
                   "given too; keep only resistive_lr_scale"),
    "future-version": ("schema_version: 3", [], "schema_version: this cosim reads schema version 2, got 3"),
}


@pytest.mark.parametrize(("text", "overrides", "message"), MIXED_NAMES.values(), ids=MIXED_NAMES.keys())
def test_current_documents_with_old_names_say_what_to_rename(text, overrides, message):
    with pytest.raises(ConfigError) as excinfo:
        load_config(text, overrides)
    assert message in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_rename_table_leads_from_old_names_to_current_keys():
    assert sorted(RENAMES) == list(range(2, SCHEMA_VERSION + 1))
    keys = set(re.findall(r"^\| `([^`]+)` \|", reference.render(), flags=re.M))
    for renames in RENAMES.values():
        for old, new in renames:
            old_key, new_key = old.partition(": ")[0], new.partition(": ")[0]
            assert new_key in keys
            assert old_key == new_key or old_key not in keys  # a value rename, or a key that is gone


def _cosim_imports(path: Path) -> set[str]:
    """The cosim modules a file imports (relative imports resolved inside cosim.config)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = f"cosim.config.{node.module}" if node.level else node.module
            found.add(module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("cosim")}


def test_schema_imports_nothing_of_cosim_but_its_errors_and_the_package_has_no_cycle():
    modules = {f"cosim.config.{p.stem}": _cosim_imports(p) for p in CONFIG_PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert modules["cosim.config.schema"] == {"cosim.errors"}
    assert all(name.startswith(("cosim.config", "cosim.errors")) for deps in modules.values() for name in deps)
    done: list[str] = []
    while len(done) < len(modules):  # topological order: each round takes the modules whose imports are done
        ready = [m for m, deps in modules.items() if m not in done and deps & modules.keys() <= set(done)]
        assert ready, f"import cycle among {sorted(set(modules) - set(done))}"
        done += ready
