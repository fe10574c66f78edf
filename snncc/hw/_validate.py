"""Validation of a parsed hardware file against the schema, and the cross-field rules.

Every problem is reported as one line ``FILE: KEY: problem (got X)``; all problems of a file are
collected and raised together as one :class:`~snncc.errors.HardwareModelError` (joined by ``"; "``,
so the message stays on one line).
"""

from __future__ import annotations

import datetime
import difflib
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

from snncc.errors import HardwareModelError
from snncc.hw._schema import INT_MAX, OPTIONAL_SECTIONS, SECTIONS, Key
from snncc.hw.model import (
    CoreSpec,
    DeviceSpec,
    EnergySpec,
    HardwareModel,
    NeuronSpec,
    NocSpec,
    TimingSpec,
)

__all__ = ["build", "one_line", "show_value"]

_SPECS: dict[str, type] = {"core": CoreSpec, "neuron": NeuronSpec, "timing": TimingSpec,
                           "energy": EnergySpec, "noc": NocSpec, "device": DeviceSpec}


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """Escape control characters (newlines in quoted TOML keys) so a message stays one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _key(name: Any) -> str:
    """A key as written in TOML: bare when it can be, else quoted."""
    if not isinstance(name, str):  # from_dict() may be given any key
        return show_value(name)
    return name if _BARE_KEY.fullmatch(name) else repr(name)


def show_value(value: Any, limit: int = 40, _depth: int = 0) -> str:
    """Render a parsed TOML value as it would be written in the file, shortened to ``limit``."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, Mapping):
        text = "a table {" + ", ".join(map(_key, list(value)[:8])) + "}"
    elif isinstance(value, list | tuple):
        inner = (show_value(v, limit, _depth + 1) for v in value[:8])
        text = "[...]" if _depth > 2 else "[" + ", ".join(inner) + "]"
    elif isinstance(value, datetime.date | datetime.time):
        text = value.isoformat()
    elif isinstance(value, int) and value.bit_length() > 128:  # repr() fails past 4300 digits
        text = f"{'a negative' if value < 0 else 'an'} integer of {value.bit_length()} bits"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _range_text(key: Key) -> str:
    if key.hi is None:
        if (key.lo == 0 and key.lo_open) or (key.kind == "int" and key.lo == 1):
            return "must be positive"
        return f"must be {'>' if key.lo_open else '>='} {key.lo:g}"
    lo, hi = key.lo if key.lo is not None else -math.inf, key.hi
    return f"must be in {'(' if key.lo_open else '['}{lo:g}, {hi:g}{')' if key.hi_open else ']'}"


def _in_range(key: Key, v: float) -> bool:
    if key.lo is not None and (v <= key.lo if key.lo_open else v < key.lo):
        return False
    return key.hi is None or (v < key.hi if key.hi_open else v <= key.hi)


def _is_int(value: Any) -> bool:
    """An integer (numpy integers included), but not a bool: ``true`` is not a count."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check(key: Key, value: Any) -> tuple[Any, str | None]:
    """Check one value against its key; return (converted value, problem or None)."""
    got = f" (got {show_value(value)})"
    if key.kind == "bool":
        return value, None if isinstance(value, bool) else "must be true or false" + got
    if key.kind == "str":
        if not isinstance(value, str):
            return value, "must be a string" + got
        if key.choices and value not in key.choices:
            return value, "must be one of " + ", ".join(map(repr, key.choices)) + got
        return value, None
    if key.kind == "pair":
        if not (isinstance(value, list | tuple) and len(value) == 2
                and all(_is_int(v) for v in value)):
            return value, "must be [x, y], two integers" + got
        if not all(1 <= v <= INT_MAX for v in value):
            return value, f"must be [x, y], two integers in [1, {INT_MAX}]" + got
        return (int(value[0]), int(value[1])), None
    if key.kind == "int":
        if not _is_int(value):
            return value, "must be an integer" + got
        if abs(value) > INT_MAX:
            return value, f"is too large (at most {INT_MAX})" + got
        value = int(value)
    else:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return value, "must be a number" + got
        try:
            value = float(value)
        except OverflowError:  # an integer beyond the float range
            value = math.inf
        if not math.isfinite(value):
            return value, "must be finite" + got
    if not _in_range(key, value):
        return value, _range_text(key) + got
    return value, None


def _section(name: str, raw: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """Check the keys of one section; return its converted values (defaults filled in)."""
    keys = SECTIONS[name]
    for k in raw:
        if k not in keys:
            home = [s for s, ks in SECTIONS.items() if k in ks]
            hint = f" (it belongs in [{home[0]}])" if home else _suggest(_key(k), list(keys))
            problems.append(f"{name}.{_key(k)}: unknown key{hint}")
    values: dict[str, Any] = {}
    for k, key in keys.items():
        if k not in raw:
            if key.required:
                problems.append(f"{name}.{k}: missing ({key.doc})")
            else:
                values[k] = key.default
            continue
        value, problem = _check(key, raw[k])
        if problem:
            problems.append(f"{name}.{k}: {problem}")
        values[k] = value
    return values


def _cross(v: dict[str, dict[str, Any]], problems: list[str]) -> None:
    """The rules that relate keys of different sections (run once every key is valid)."""
    core, noc, timing = v["core"], v["noc"], v["timing"]
    cells = core["input_axons"] * core["neurons"]
    if core["synapses"] > cells:
        problems.append(f"core.synapses: more than core.input_axons × core.neurons = {cells} "
                        f"(got {core['synapses']})")
    if core["fanin_per_neuron"] > core["input_axons"]:
        problems.append(f"core.fanin_per_neuron: more than core.input_axons = "
                        f"{core['input_axons']} (got {core['fanin_per_neuron']})")
    if core["kind"] == "crossbar":
        if core["synapses"] != cells:
            problems.append(f"core.synapses: a crossbar core has core.input_axons × core.neurons "
                            f"= {cells} cells (got {core['synapses']})")
        if "device" not in v:
            problems.append("device: missing (core.kind is 'crossbar', which needs a [device] "
                            "section)")
    elif "device" in v:
        problems.append("device: only crossbar chips have a [device] section (core.kind is "
                        f"{core['kind']!r})")
    if core["kind"] == "crossbar" and "device" in v:
        dev = v["device"]
        for dk, ck in (("rows", "input_axons"), ("cols", "neurons")):
            if dev[dk] != core[ck]:
                problems.append(f"device.{dk}: must equal core.{ck} = {core[ck]} "
                                f"(got {dev[dk]})")
        if dev["cell_r_off_ohm"] <= dev["cell_r_on_ohm"]:
            problems.append(f"device.cell_r_off_ohm: must be larger than device.cell_r_on_ohm = "
                            f"{dev['cell_r_on_ohm']:g} (got {dev['cell_r_off_ohm']:g})")
    if noc["flits_per_spike"] > noc["packet_bits"] or noc["packet_bits"] % noc["flits_per_spike"]:
        problems.append(f"noc.flits_per_spike: must divide noc.packet_bits = {noc['packet_bits']} "
                        f"into equal flits (got {noc['flits_per_spike']})")
    if timing["router_cycles"] + timing["link_cycles"] < 1:
        problems.append("timing.link_cycles: a hop must take at least one cycle "
                        "(router_cycles + link_cycles is 0)")
    chips = v["geometry"]["chips"]
    if chips[0] * chips[1] > 1 and timing["interchip_link_cycles"] < 1:
        problems.append(f"timing.interchip_link_cycles: a system of {chips[0] * chips[1]} chips "
                        f"needs it positive (got {timing['interchip_link_cycles']})")
    mesh, per_tile = v["geometry"]["mesh"], v["geometry"]["cores_per_tile"]
    n_cores = chips[0] * chips[1] * mesh[0] * mesh[1] * per_tile
    if n_cores > INT_MAX:
        problems.append(f"geometry: the system has {n_cores} cores, more than the {INT_MAX} "
                        "supported")


def build(data: Mapping[str, Any], file: str) -> HardwareModel:
    """Validate a parsed hardware file and build the model.

    Args:
        data: The parsed TOML document (sections of keys).
        file: The file name used to prefix every message.

    Returns:
        The validated model.

    Raises:
        HardwareModelError: One line listing every problem found (``FILE: KEY: problem``).
    """
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise HardwareModelError(one_line(f"{file}: must be a table of sections "
                                          f"(got {show_value(data)})"))
    for s in data:
        if s not in SECTIONS:
            problems.append(f"{_key(s)}: unknown section{_suggest(_key(s), list(SECTIONS))}")
    values: dict[str, dict[str, Any]] = {}
    for s in SECTIONS:
        if s not in data:
            if s not in OPTIONAL_SECTIONS:
                problems.append(f"{s}: missing section [{s}]")
        elif not isinstance(data[s], Mapping):
            problems.append(f"{s}: must be a table [{s}] (got {show_value(data[s])})")
        else:
            values[s] = _section(s, data[s], problems)
    if not problems:
        _cross(values, problems)
    if problems:
        raise HardwareModelError(one_line("; ".join(f"{file}: {p}" for p in problems)))
    geo, chip = values["geometry"], values["chip"]
    specs = {s: _SPECS[s](**values[s]) for s in _SPECS if s in values}
    return HardwareModel(name=chip["name"], description=chip["description"], path=file,
                         chips=geo["chips"], mesh=geo["mesh"], cores_per_tile=geo["cores_per_tile"],
                         core=specs["core"], neuron=specs["neuron"], timing=specs["timing"],
                         energy=specs["energy"], noc=specs["noc"], device=specs.get("device"))
