"""Reading the space from a function's source: literal, pattern, dynamic, conflict, no source."""

from __future__ import annotations

import inspect

import pytest

import hpdeco
from hpdeco import SpaceError, hp
from hpdeco.space import Choice, Float, Int

N_MAX = 4


@hpdeco.tunable
def build(n_inputs: int = 8) -> dict:
    """Builds a fake model description."""
    layers = []
    for i in range(hp.Int("layers", 1, 3, default=2)):
        layers.append(hp.Int(f"units_{i}", 16, 256, step=16))
    lr = hp.Float("lr", 1e-4, 1e-2, sampling="log")
    width = hp.Int("width", 1, N_MAX)  # not a literal: dynamic
    act = hp.Choice("activation", ["relu", "tanh"])
    return {"layers": layers, "lr": lr, "width": width, "act": act, "n": n_inputs}


def test_literal_pattern_and_dynamic_entries() -> None:
    space = build.space
    assert space.params["layers"] == Int("layers", 1, 3, default_value=2)
    assert space.params["lr"] == Float("lr", 1e-4, 1e-2, sampling="log")
    assert space.params["activation"] == Choice("activation", ("relu", "tanh"))
    pattern = space["units_{i}"]
    assert pattern.pattern and pattern.param == Int("units_{i}", 16, 256, step=16)
    assert "units_{i}" not in space.params  # patterns are confirmed as trials run
    width = space["width"]
    assert width.param is None and width.dynamic == ("max_value",)
    with open(__file__, encoding="utf-8") as file:
        source = file.read().splitlines()
    line = next(i for i, text in enumerate(source, 1) if 'hp.Int("layers"' in text)
    assert space["layers"].lineno == line
    assert space["layers"].where == f"test_static.py:{line}"


def test_printing_the_space_gives_a_table() -> None:
    text = str(build.space)
    lines = text.splitlines()
    assert lines[0].split() == ["name", "type", "values", "sampling", "default", "at"]
    assert any(line.startswith("units_{i}") and line.endswith("pattern") for line in lines)
    assert any("dynamic: max_value" in line for line in lines)
    assert any(line.startswith("lr") and "log" in line for line in lines)


def test_decorating_keeps_name_doc_signature_and_behaviour() -> None:
    assert build.__name__ == "build"
    assert build.__doc__ == "Builds a fake model description."
    assert inspect.signature(build) == inspect.signature(build.__wrapped__)
    assert list(inspect.signature(build).parameters) == ["n_inputs"]
    out = build(3)
    assert out == {"layers": [16, 16], "lr": 1e-4, "width": 1, "act": "relu", "n": 3}


def test_conflicting_literal_declarations_fail_at_decoration_with_file_and_line() -> None:
    with pytest.raises(
        SpaceError,
        match=r"'units' is declared twice.*test_static\.py:\d+.*"
        r"test_static\.py:\d+",
    ):

        @hpdeco.tunable
        def conflicting() -> int:
            a = hp.Int("units", 16, 256)
            b = hp.Int("units", 16, 128)
            return a + b


def test_bad_literal_specification_fails_at_decoration_with_location() -> None:
    with pytest.raises(SpaceError, match=r"test_static\.py:\d+: hyperparameter 'lr'.*log"):

        @hpdeco.tunable
        def bad() -> float:
            return hp.Float("lr", 0.0, 1.0, sampling="log")


def test_same_declaration_twice_is_one_entry() -> None:
    @hpdeco.tunable
    def twice() -> str:
        a = hp.Choice("act", ["relu", "tanh"])
        b = hp.Choice("act", ["relu", "tanh"])
        return a + b

    assert [e.name for e in twice.space] == ["act"]


def test_aliases_and_module_access_are_recognised() -> None:
    @hpdeco.tunable
    def aliased() -> int:
        return hpdeco.hp.Int("depth", 1, 4) + hp.Boolean("bias", default=True)

    assert set(aliased.space.params) == {"depth", "bias"}


def test_no_source_means_an_empty_space_and_no_error() -> None:
    namespace: dict = {"hp": hp}
    exec("def made():\n    return hp.Int('k', 1, 5)\n", namespace)
    made = hpdeco.tunable(namespace["made"])
    assert len(made.space) == 0
    assert "discovered as trials run" in str(made.space)
    assert made() == 1


def test_kerastuner_style_hp_argument_is_read_too() -> None:
    @hpdeco.tunable
    def kt_style(hp) -> int:
        return hp.Int("units", 32, 512, step=32)

    assert kt_style.space.params["units"] == Int("units", 32, 512, step=32)
    assert kt_style(hp) == 32
