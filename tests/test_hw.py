"""Hardware models: the bundled chips, the loader, every validation rule, and `snncc hw`."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from snncc.cli import main
from snncc.errors import HardwareModelError, SnnccError
from snncc.hw import (
    CoreSpec,
    DeviceSpec,
    EnergySpec,
    HardwareModel,
    NeuronSpec,
    NocSpec,
    TimingSpec,
    available,
    load_hw,
)
from snncc.hw._load import _bundled_dir
from snncc.hw._schema import SECTIONS
from tests.conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BUNDLED = ["dynapse", "loihi", "loihi-calibrated", "loihi-nahuku32", "loihi-pohoiki768",
           "pcm-crossbar", "truenorth"]


def raw(name: str = "loihi") -> dict[str, Any]:
    """The parsed TOML of a bundled file, to mutate."""
    return tomllib.loads((_bundled_dir() / f"{name}.toml").read_text())


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(HardwareModelError) as info:
        HardwareModel.from_dict(data, path="x.toml")
    return str(info.value)


# --- the bundled models ---------------------------------------------------------------------


def test_available_lists_the_bundled_models() -> None:
    assert available() == BUNDLED


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_loads_and_round_trips(name: str) -> None:
    hw = load_hw(name)
    assert hw.name == name and hw.path == f"{name}.toml"
    assert load_hw(name) is hw  # cached
    data = json.loads(json.dumps(hw.to_dict(), allow_nan=False))
    assert HardwareModel.from_dict(data, path=hw.path) == hw
    assert hw.n_cores == hw.n_tiles * hw.cores_per_tile
    assert (hw.device is not None) == (hw.core.kind == "crossbar")


def test_every_bundled_number_has_a_source_comment() -> None:
    for name in BUNDLED:
        text = (_bundled_dir() / f"{name}.toml").read_text()
        for line in text.splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key = line.split("=")[0].strip()
                if key not in {"name", "description", "kind", "model", "topology"}:
                    assert "#" in line, f"{name}: {line!r} has no source"


def test_loihi_numbers() -> None:
    hw = load_hw("loihi")
    assert (hw.grid, hw.n_tiles, hw.n_cores, hw.n_chips) == ((8, 4), 32, 128, 1)
    assert hw.core == CoreSpec(neurons=1024, input_axons=4096, synapses=131072, weight_bits=8,
                               fanout=4096, fanin_per_neuron=0, fanin_split=True, kind="digital")
    assert hw.energy.synop_J == pytest.approx(23.6e-12)
    assert (hw.energy.hop_ew_J, hw.energy.hop_ns_J) == (3.0e-12, 4.0e-12)
    assert hw.energy.static_core_W * hw.n_cores == pytest.approx(0.104)
    assert hw.timing.barrier_s == pytest.approx(465e-9) and hw.noc.packet_bits == 32
    cal = load_hw("loihi-calibrated")
    assert cal.core == hw.core and cal.energy.synop_J == pytest.approx(35.5e-12)
    assert cal.energy.packet_out_J == pytest.approx(111e-12)


def test_other_chips_numbers() -> None:
    tn = load_hw("truenorth")
    assert tn.n_cores == 4096 and tn.core.fanout == 1 and not tn.core.fanin_split
    assert tn.neuron.tick_s == 1e-3 and tn.core.synapses == 256 * 256
    big = load_hw("loihi-nahuku32")
    assert (big.n_chips, big.grid, big.n_cores) == (32, (32, 32), 4096)
    assert big.timing.interchip_link_cycles > 0 and big.energy.interchip_hop_J > 0
    dyn = load_hw("dynapse")
    assert (dyn.n_chips, dyn.n_cores, dyn.core.fanin_per_neuron, dyn.core.fanout) == (4, 16, 64, 4)
    pcm = load_hw("pcm-crossbar")
    assert pcm.device is not None and pcm.core.kind == "crossbar"
    assert (pcm.device.rows, pcm.device.cols, pcm.n_cores) == (128, 128, 1024)
    assert pcm.device.endurance_cycles == 1e9 and pcm.device.cell_read_J == 1.8e-15


def test_geometry_numbering() -> None:
    hw = load_hw("loihi-nahuku32")  # 4 x 8 chips of 8 x 4 tiles, 4 cores per tile
    assert hw.tile_of_core(0) == 0 and hw.tile_of_core(7) == 1
    assert hw.tile_xy(0) == (0, 0) and hw.tile_xy(33) == (1, 1) and hw.tile_xy(1023) == (31, 31)
    assert hw.chip_of_tile(0) == 0 and hw.chip_of_tile(8) == 1
    assert hw.chip_of_tile(4 * 32 + 9) == 4 + 1  # x = 9, y = 4: chip (1, 1)
    assert hw.chip_of_tile(1023) == 31
    chips = {hw.chip_of_tile(t) for t in range(hw.n_tiles)}
    assert chips == set(range(32))


def test_models_are_frozen() -> None:
    hw = load_hw("loihi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        hw.core.neurons = 5  # type: ignore[misc]


def test_schema_matches_dataclasses() -> None:
    def names(cls: type) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    for section, cls in [("core", CoreSpec), ("neuron", NeuronSpec), ("timing", TimingSpec),
                         ("energy", EnergySpec), ("noc", NocSpec), ("device", DeviceSpec)]:
        assert set(SECTIONS[section]) == names(cls), section
        for key, spec in SECTIONS[section].items():  # the defaults agree too
            field = next(f for f in dataclasses.fields(cls) if f.name == key)
            if spec.required:
                assert field.default is dataclasses.MISSING, (section, key)
            else:
                assert field.default == spec.default, (section, key)
    top = names(HardwareModel) - {"path", "core", "neuron", "timing", "energy", "noc", "device"}
    assert top == set(SECTIONS["chip"]) | set(SECTIONS["geometry"])


def test_readme_documents_every_key() -> None:
    """hwmodels/README.md has a row per key, with the schema's unit and required-ness."""
    text = (ROOT / "hwmodels" / "README.md").read_text()
    for section, keys in SECTIONS.items():
        part = text.split(f"### `[{section}]`")[1].split("###")[0]
        rows = {cells[0].strip("` "): [c.strip() for c in cells]
                for line in part.splitlines() if line.startswith("| `")
                for cells in [re.split(r"(?<!\\)\|", line)[1:-1]]}
        assert set(rows) == set(keys), section
        for key, spec in keys.items():
            _, _, unit, default, _ = rows[key]
            assert unit == spec.unit, (section, key)
            assert (default == "required") == spec.required, (section, key)


def test_defaults_apply() -> None:
    data = raw("pcm-crossbar")
    for section, key in [("geometry", "chips"), ("core", "fanout"), ("core", "kind"),
                         ("noc", "routing_entries"), ("device", "leakage_beta_per_K")]:
        del data[section][key]
    data["core"]["kind"] = "crossbar"
    hw = HardwareModel.from_dict(data)
    assert hw.chips == (1, 1) and hw.core.fanout == 0 and hw.noc.routing_entries == 0
    assert hw.device is not None and hw.device.leakage_beta_per_K == 0.01


def test_ints_are_accepted_as_floats() -> None:
    data = raw()
    data["energy"]["synop_J"] = 0
    data["timing"]["clock_hz"] = 1_000_000_000
    hw = HardwareModel.from_dict(data)
    assert isinstance(hw.energy.synop_J, float) and hw.timing.clock_hz == 1e9


# --- loading files and names ----------------------------------------------------------------


def test_load_from_path_and_pathlike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = (_bundled_dir() / "truenorth.toml").read_text()
    p = tmp_path / "mine.toml"
    p.write_text(src.replace('name = "truenorth"', 'name = "mine"'))
    assert load_hw(p).name == "mine" and load_hw(str(p)).path == str(p)
    monkeypatch.chdir(tmp_path)
    assert load_hw("mine.toml").name == "mine"


def test_file_errors(tmp_path: Path) -> None:
    def err(arg: Any) -> str:
        with pytest.raises(HardwareModelError) as info:
            load_hw(arg)
        return str(info.value)

    assert err(tmp_path / "none.toml") == f"{tmp_path / 'none.toml'}: no such file"
    assert err("x/loihi.toml") == "x/loihi.toml: no such file (the bundled model is " \
                                  "load_hw('loihi'))"
    assert err(tmp_path) == f"{tmp_path}: is a folder, not a .toml file"
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[chip]\nname = "caf\xe9"\n')
    assert err(bad) == f"{bad}: not UTF-8 text (bad byte at offset 18)"
    syntax = tmp_path / "syntax.toml"
    syntax.write_text("[chip]\nname = \"a\"\n[core\nneurons = 3\n")
    message = err(syntax)
    assert message.startswith(f"{syntax}: invalid TOML: ") and "line 3" in message
    long = tmp_path / "long.toml"
    long.write_text("a = " + "9" * 5000 + "\n")
    assert err(long) == f"{long}: invalid TOML: an integer has too many digits"
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert err(deep).startswith(f"{deep}: invalid TOML: ")
    assert err(5) == "load_hw: expected a model name or a path (got int)"
    assert err("a\x00.toml") == "'a\\x00.toml': not a valid file name"


def test_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(HardwareModelError) as info:
        load_hw("loihy")
    assert str(info.value) == ("loihy: unknown hardware model (did you mean 'loihi'?); available: "
                               + ", ".join(BUNDLED) + " (or give the path of a .toml file)")


def test_error_is_a_value_error_and_snncc_error() -> None:
    with pytest.raises(ValueError):
        load_hw("nope")
    assert issubclass(HardwareModelError, SnnccError)


def test_message_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "chip.toml"
    p.write_text((_bundled_dir() / "loihi.toml").read_text().replace("neurons = 1024",
                                                                     "nurons = 1024"))
    with pytest.raises(HardwareModelError) as info:
        load_hw(p)
    assert str(info.value) == (f"{p}: core.nurons: unknown key (did you mean 'neurons'?); "
                               f"{p}: core.neurons: missing (neurons per core (crossbar columns))")


# --- one test per rule ----------------------------------------------------------------------


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    section, key = dotted.split(".")
    data[section][key] = value
    return data


@pytest.mark.parametrize(("key", "value", "problem"), [
    # types
    ("core.neurons", True, "must be an integer (got true)"),
    ("core.neurons", 1024.0, "must be an integer (got 1024.0)"),
    ("core.neurons", "1024", "must be an integer (got '1024')"),
    ("energy.synop_J", "23.6 pJ", "must be a number (got '23.6 pJ')"),
    ("energy.synop_J", False, "must be a number (got false)"),
    ("energy.synop_J", [1], "must be a number (got [1])"),
    ("energy.synop_J", {"a": 1}, "must be a number (got a table {a})"),
    ("noc.multicast", 1, "must be true or false (got 1)"),
    ("chip.name", 5, "must be a string (got 5)"),
    ("geometry.mesh", [8], "must be [x, y], two integers (got [8])"),
    ("geometry.mesh", [8, 4.0], "must be [x, y], two integers (got [8, 4.0])"),
    ("geometry.mesh", "8x4", "must be [x, y], two integers (got '8x4')"),
    ("geometry.mesh", [8, 0], "must be [x, y], two integers in [1, 2147483647] (got [8, 0])"),
    # values
    ("energy.synop_J", math.nan, "must be finite (got nan)"),
    ("timing.barrier_s", math.inf, "must be finite (got inf)"),
    ("core.synapses", 2**40, "is too large (at most 2147483647) (got 1099511627776)"),
    pytest.param("core.synapses", 10**5000, "is too large (at most 2147483647) (got an integer "
                 "of 16610 bits)", id="huge-int"),
    pytest.param("energy.synop_J", -(10**400), "must be finite (got a negative integer of 1329 "
                 "bits)", id="huge-float"),
    ("core.neurons", 0, "must be positive (got 0)"),
    ("core.fanout", -1, "must be >= 0 (got -1)"),
    ("core.weight_bits", 65, "must be in [1, 64] (got 65)"),
    ("neuron.threshold_bits", -1, "must be in [0, 64] (got -1)"),
    ("energy.hop_ew_J", -3e-12, "must be >= 0 (got -3e-12)"),
    ("timing.clock_hz", 0, "must be positive (got 0)"),
    ("neuron.model", "izhikevich", "must be one of 'lif', 'if' (got 'izhikevich')"),
    ("core.kind", "analog", "must be one of 'digital', 'crossbar' (got 'analog')"),
    ("noc.routing", "west-first", "must be one of 'xy' (got 'west-first')"),
    ("noc.topology", "torus", "must be one of 'mesh' (got 'torus')"),
])
def test_key_rules(key: str, value: Any, problem: str) -> None:
    assert error_of(_set(raw(), key, value)) == f"x.toml: {key}: {problem}"


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("device.thermal_kappa", 1.0, "must be in [0, 1) (got 1.0)"),
    ("device.read_voltage_V", 0.0, "must be positive (got 0.0)"),
    ("device.endurance_exponent", -2, "must be >= 0 (got -2)"),
])
def test_device_key_rules(key: str, value: Any, problem: str) -> None:
    assert error_of(_set(raw("pcm-crossbar"), key, value)) == f"x.toml: {key}: {problem}"


def test_unknown_section_and_keys() -> None:
    data = raw()
    data["nocc"] = {}
    assert error_of(data) == "x.toml: nocc: unknown section (did you mean 'noc'?)"
    data = _set(raw(), "core.nurons", 1)
    assert error_of(data) == "x.toml: core.nurons: unknown key (did you mean 'neurons'?)"
    data = _set(raw(), "core.synop_J", 1e-12)
    assert error_of(data) == "x.toml: core.synop_J: unknown key (it belongs in [energy])"
    data = _set(raw(), "core.zzz", 1)
    assert error_of(data) == "x.toml: core.zzz: unknown key"
    data = _set(raw(), "core.a\nb", {"c\nd": 1})  # quoted TOML keys may hold newlines
    assert error_of(data) == "x.toml: core.'a\\nb': unknown key"
    data = _set(raw(), "chip.name", {"c\nd": 1})
    assert error_of(data) == "x.toml: chip.name: must be a string (got a table {'c\\nd'})"


def test_missing_and_malformed_sections() -> None:
    data = raw()
    del data["timing"]
    assert error_of(data) == "x.toml: timing: missing section [timing]"
    data = raw()
    data["noc"] = 3
    assert error_of(data) == "x.toml: noc: must be a table [noc] (got 3)"
    data = raw()
    del data["core"]["fanin_split"]
    assert error_of(data) == ("x.toml: core.fanin_split: missing (a neuron's fan-in may be split "
                              "across cores as dendritic partial sums)")
    with pytest.raises(HardwareModelError, match=r"^x.toml: must be a table of sections"):
        HardwareModel.from_dict([1, 2], path="x.toml")  # type: ignore[arg-type]


def test_every_problem_in_one_line() -> None:
    data = _set(_set(raw(), "core.neurons", 0), "energy.synop_J", -1)
    assert error_of(data) == ("x.toml: core.neurons: must be positive (got 0); "
                              "x.toml: energy.synop_J: must be >= 0 (got -1)")


def _pcm(**changes: Any) -> dict[str, Any]:
    data = raw("pcm-crossbar")
    for dotted, value in changes.items():
        _set(data, dotted.replace("__", "."), value)
    return data


@pytest.mark.parametrize(("data", "problem"), [
    (_set(raw(), "core.synapses", 1024 * 4096 + 1),
     "core.synapses: more than core.input_axons × core.neurons = 4194304 (got 4194305)"),
    (_set(raw(), "core.fanin_per_neuron", 5000),
     "core.fanin_per_neuron: more than core.input_axons = 4096 (got 5000)"),
    (_set(raw(), "core.kind", "crossbar"),
     "core.synapses: a crossbar core has core.input_axons × core.neurons = 4194304 cells "
     "(got 131072); x.toml: device: missing (core.kind is 'crossbar', which needs a [device] "
     "section)"),
    ({k: v for k, v in raw("pcm-crossbar").items() if k != "device"},
     "device: missing (core.kind is 'crossbar', which needs a [device] section)"),
    ({**raw(), "device": raw("pcm-crossbar")["device"]},
     "device: only crossbar chips have a [device] section (core.kind is 'digital')"),
    (_pcm(device__rows=64), "device.rows: must equal core.input_axons = 128 (got 64)"),
    (_pcm(device__cols=256), "device.cols: must equal core.neurons = 128 (got 256)"),
    (_pcm(device__cell_r_off_ohm=1e4),
     "device.cell_r_off_ohm: must be larger than device.cell_r_on_ohm = 10000 (got 10000)"),
    (_set(raw(), "noc.flits_per_spike", 3),
     "noc.flits_per_spike: must divide noc.packet_bits = 32 into equal flits (got 3)"),
    (_set(raw(), "noc.flits_per_spike", 64),
     "noc.flits_per_spike: must divide noc.packet_bits = 32 into equal flits (got 64)"),
    (_set(_set(raw(), "timing.router_cycles", 0), "timing.link_cycles", 0),
     "timing.link_cycles: a hop must take at least one cycle (router_cycles + link_cycles is 0)"),
    (_set(raw(), "geometry.chips", [2, 1]),
     "timing.interchip_link_cycles: a system of 2 chips needs it positive (got 0)"),
    (_set(_set(raw(), "geometry.chips", [2**16, 2**16]), "timing.interchip_link_cycles", 1),
     "geometry: the system has 549755813888 cores, more than the 2147483647 supported"),
])
def test_cross_field_rules(data: dict[str, Any], problem: str) -> None:
    assert error_of(copy.deepcopy(data)) == f"x.toml: {problem}"


def test_dataclass_variants_via_from_dict() -> None:
    data = load_hw("loihi").to_dict()
    data["geometry"]["chips"] = [2, 1]
    data["timing"]["interchip_link_cycles"] = 10
    two = HardwareModel.from_dict(data)
    assert two.n_cores == 256 and two.grid == (16, 4) and two.chip_of_tile(8) == 1


# --- the command line -----------------------------------------------------------------------


def test_cli_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hw", "list"]) == 0
    out = capsys.readouterr().out
    for name in BUNDLED:
        assert name in out
    assert re.search(r"truenorth\s+1\s+64×64\s+4,096\s+256\s+256\s+no\s+no", out)


def test_cli_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hw", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == BUNDLED
    loihi = rows[1]
    assert loihi == {"name": "loihi", "description": load_hw("loihi").description, "chips": 1,
                     "grid": [8, 4], "tiles": 32, "cores": 128, "neurons_per_core": 1024,
                     "axons_per_core": 4096, "fanin_split": True, "multicast": False}


def test_cli_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hw", "show", "loihi"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"energy\.synop_J\s+│\s+23\.6 │ pJ", out)
    assert re.search(r"timing\.barrier_s\s+│\s+465 │ ns", out)
    assert "noc.multicast" in out and "[x, y]" in out  # rich markup is escaped
    assert main(["hw", "show", "pcm-crossbar"]) == 0
    assert re.search(r"device\.cell_read_J\s+│\s+1\.8 │ fJ", capsys.readouterr().out)


def test_cli_show_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hw", "show", "dynapse", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == load_hw("dynapse").to_dict()
    p = tmp_path / "c.toml"
    p.write_text((_bundled_dir() / "dynapse.toml").read_text())
    assert main(["hw", "show", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["chip"]["name"] == "dynapse"


@pytest.mark.parametrize(("arg", "text", "message"), [
    ("nope", None, "nope: unknown hardware model"),
    ("bad.toml", "[chip\n", "bad.toml: invalid TOML: "),
    ("bad.toml", (ROOT / "hwmodels" / "loihi.toml").read_text().replace("= 1024", "= -1"),
     "bad.toml: core.neurons: must be positive (got -1)"),
])
def test_cli_show_errors(arg: str, text: str | None, message: str, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    if text is not None:
        Path(arg).write_text(text)
    assert main(["hw", "show", arg]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("snncc: error: " + message)


# --- packaging ------------------------------------------------------------------------------


def test_wheel_ships_every_package_and_the_chip_files() -> None:
    """pyproject lists the packages explicitly (hwmodels/ is mapped to snncc.hwmodels)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "snncc").rglob("__init__.py")}
    assert found | {"snncc.hwmodels"} == set(config["packages"]), "update pyproject packages"
    assert config["package-dir"] == {"snncc.hwmodels": "hwmodels"}
    assert "*.toml" in config["package-data"]["snncc.hwmodels"]
