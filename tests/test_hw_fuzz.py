"""Fuzzing the hardware loader: mutated chip files load or raise HardwareModelError, nothing else.

The mutations work on the text of the bundled files (deleted, inserted, duplicated or swapped
lines and characters, values replaced by values of every TOML type) and on the parsed dicts
(any key set to any TOML value), so both the TOML layer and the validator are exercised.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snncc.errors import HardwareModelError
from snncc.hw import HardwareModel, available, load_hw
from snncc.hw._load import _bundled_dir
from snncc.hw._schema import SECTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TEXTS = {name: (_bundled_dir() / f"{name}.toml").read_text() for name in available()}
NAMES = sorted(TEXTS)

FUZZ = settings(max_examples=250, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

VALUE_TEXTS = ["0", "-1", "1", "2147483648", "99999999999999999999999", "1.5", "-0.0", "1e999",
               "nan", "-inf", "true", "false", '"lif"', '"crossbar"', '"x"', "''", "[1, 2]",
               "[0, 4]", "[1]", "[]", "[[1, 2]]", "{}", "{a = 1}", "1979-05-27", "07:32:00",
               '"""', "[", "= =", "0x10", "1_000", "+5", "9" * 5000, "-" + "9" * 40]
GARBAGE = st.sampled_from(["[", "]", "=", '"', "#", "\n", "[core]", "[[noc]]", "\x00", "é",
                           "neurons = 5\n", "[device]\nrows = 1\n", "a.b.c = 1\n", "\\"])


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hw-fuzz")


def _load_text(text: str, folder: Path) -> HardwareModel | None:
    path = folder / "fuzz.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        hw = load_hw(path)
    except HardwareModelError as exc:
        assert "\n" not in str(exc)
        return None
    json.dumps(hw.to_dict(), allow_nan=False)  # a loaded model is always JSON-able
    assert hw.n_cores >= 1 and hw.core.neurons >= 1
    return hw


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = TEXTS[draw(st.sampled_from(NAMES))].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "value", "garbage", "cut",
                                   "chars"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {draw(st.sampled_from(VALUE_TEXTS))}\n"
        elif op == "garbage":
            pos = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + draw(GARBAGE) + lines[i][pos:]
        elif op == "cut":
            lines = lines[:i]
        else:
            lines[i] = draw(st.text(max_size=12))
        if not lines:
            break
    return "".join(lines)


@FUZZ
@given(text=mutated())
def test_mutated_text(fuzz_dir: Path, text: str) -> None:
    _load_text(text, fuzz_dir)


@FUZZ
@given(data=st.binary(max_size=64))
def test_random_bytes(fuzz_dir: Path, data: bytes) -> None:
    path = fuzz_dir / "bytes.toml"
    path.write_bytes(data)
    try:
        load_hw(path)
    except HardwareModelError:
        pass


TOML_VALUES = st.recursive(
    st.none().map(lambda _: "") | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.datetimes().map(lambda d: d) | st.dates() | st.times()
    | st.sampled_from(["lif", "if", "digital", "crossbar", "mesh", "xy", -(2**64)])
    | st.integers(0, 3).map(lambda n: 10 ** (5000 + n)),  # repr() of such an int fails
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=6)
KEYS = [(s, k) for s, keys in SECTIONS.items() for k in keys]


@FUZZ
@given(name=st.sampled_from(NAMES),
       edits=st.lists(st.tuples(st.sampled_from(KEYS), TOML_VALUES | st.just(...)), max_size=4),
       extra=st.none() | st.tuples(st.text(max_size=6), TOML_VALUES))
def test_mutated_fields(name: str, edits: list[tuple[tuple[str, str], Any]],
                        extra: tuple[str, Any] | None) -> None:
    data: dict[str, Any] = tomllib.loads(TEXTS[name])
    for (section, key), value in edits:
        table = data.setdefault(section, {})
        if not isinstance(table, dict):
            continue
        if value is ...:
            table.pop(key, None)
        else:
            table[key] = value
    if extra is not None:
        data[extra[0]] = extra[1]
    try:
        hw = HardwareModel.from_dict(data, path="fuzz.toml")
    except HardwareModelError as exc:
        assert str(exc).startswith("fuzz.toml: ") and "\n" not in str(exc)
        return
    assert HardwareModel.from_dict(hw.to_dict(), path="fuzz.toml") == hw


def test_fuzz_values_cover_every_toml_type() -> None:
    """The value pool itself parses to every TOML type (so the text fuzzer reaches them)."""
    kinds = set()
    for v in VALUE_TEXTS:
        try:
            kinds.add(type(tomllib.loads(f"a = {v}")["a"]))
        except ValueError:  # TOMLDecodeError, or Python's limit on integer digits
            kinds.add(tomllib.TOMLDecodeError)
    assert {int, float, bool, str, list, dict, datetime.date, datetime.time,
            tomllib.TOMLDecodeError} <= kinds
