"""Every validation rule of the hp.* specifications, and defaults outside a search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hpdeco import SpaceError, hp
from hpdeco.space import Boolean, Choice, Fixed, Float, Int, param_from_dict


def test_defaults_outside_a_search() -> None:
    assert hp.Int("units", 16, 256, step=16) == 16
    assert hp.Int("layers", 1, 3, default=2) == 2
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == 1e-4
    assert hp.Float("rate", 0.1, 0.5, default=0.3) == 0.3
    assert hp.Choice("act", ["relu", "tanh"]) == "relu"
    assert hp.Choice("act", ["relu", "tanh"], default="tanh") == "tanh"
    assert hp.Boolean("dropout") is False
    assert hp.Boolean("dropout", default=True) is True
    assert hp.Fixed("epochs", 10) == 10


def test_spec_errors_are_value_errors_naming_parameter_value_and_rule() -> None:
    with pytest.raises(ValueError, match=r"'units'.*min_value=10.*greater than max_value=5"):
        hp.Int("units", 10, 5)
    assert issubclass(SpaceError, ValueError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hp.Int("u", 10, 5), "greater than max_value"),
        (lambda: hp.Float("lr", 0.0, 1.0, sampling="log"), "must be > 0 with sampling='log'"),
        (lambda: hp.Float("lr", -1.0, 1.0, sampling="reverse_log"), "must be > 0"),
        (lambda: hp.Int("u", 1, 10, step=0), "step=0 must be > 0"),
        (lambda: hp.Float("r", 0.0, 1.0, step=-0.1), "step=-0.1 must be > 0"),
        (lambda: hp.Int("u", 1, 64, step=1, sampling="log"), "must be > 1 with sampling='log'"),
        (lambda: hp.Int("u", 1, 10, sampling="cubic"), "sampling='cubic' is unknown"),
        (lambda: hp.Choice("c", []), "must be a non-empty list"),
        (lambda: hp.Choice("c", ["a", 1]), "mix types"),
        (lambda: hp.Choice("c", [1, 2.5]), "mix types"),
        (lambda: hp.Choice("c", [True, 1]), "mix types"),
        (lambda: hp.Choice("c", ["a", "a"]), "repeat a value"),
        (lambda: hp.Choice("c", "abc"), "must be a non-empty list"),
        (lambda: hp.Choice("c", [[1], [2]]), "only int, float, str or bool"),
        (lambda: hp.Choice("c", ["a", "b"], ordered=True), "needs int or float values"),
        (lambda: hp.Int("u", 1, 10, default=11), "default=11 is not a value"),
        (lambda: hp.Int("u", 0, 100, step=10, default=15), "default=15 is not a value"),
        (lambda: hp.Float("r", 0.0, 1.0, default=2.0), "default=2.0 is not a value of 0.0 .. 1.0"),
        (lambda: hp.Choice("c", ["a", "b"], default="z"), "default='z' is not among"),
        (lambda: hp.Boolean("b", default="yes"), "must be True or False"),
        (lambda: hp.Int(3, 1, 10), "name=3 must be a non-empty string"),
        (lambda: hp.Float("", 1.0, 2.0), "name='' must be a non-empty string"),
        (lambda: hp.Int("u", 1.5, 10), "min_value=1.5 must be an integer"),
        (lambda: hp.Int("u", True, 10), "min_value=True must be an integer"),
        (lambda: hp.Float("r", 0.0, math.inf), "max_value=inf must be a finite"),
        (lambda: hp.Float("r", "0", 1.0), "min_value='0' must be a finite"),
        (lambda: hp.Fixed("f", [1, 2]), "must be an int, float, str or bool"),
    ],
)
def test_each_bad_specification_is_rejected(call, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        call()


def test_numpy_scalars_are_accepted_as_plain_numbers() -> None:
    param = Int("u", np.int64(1), np.int64(8))
    assert type(param.min_value) is int
    assert Choice("c", [np.float32(0.5), np.float32(1.5)]).values == (0.5, 1.5)


def test_int_range_is_inclusive_and_stepped() -> None:
    param = Int("u", 16, 64, step=16)
    assert param.grid() == (16, 32, 48, 64)
    assert [param.from_unit(u) for u in (0.0, 0.3, 0.6, 0.99, 1.0)] == [16, 32, 48, 64, 64]
    assert param.contains(48) and not param.contains(40) and not param.contains(80)


def test_log_step_is_a_factor_as_in_kerastuner() -> None:
    param = Int("units", 32, 512, step=2, sampling="log")
    assert param.grid() == (32, 64, 128, 256, 512)
    assert param.contains(128) and not param.contains(100)


def test_log_float_is_uniform_in_log_space() -> None:
    param = Float("lr", 1e-4, 1e-2, sampling="log")
    assert param.from_unit(0.5) == pytest.approx(1e-3)
    assert param.to_unit(1e-3) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    draws = np.array([param.from_unit(u) for u in rng.random(4000)])
    below = np.mean(draws < 1e-3)
    assert 0.45 < below < 0.55  # linear sampling would put only ~9% below 1e-3


def test_reverse_log_concentrates_near_the_maximum() -> None:
    param = Float("momentum", 1e-3, 1.0, sampling="reverse_log")
    assert param.from_unit(0.0) == pytest.approx(1e-3)
    assert param.from_unit(1.0) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    draws = np.array([param.from_unit(u) for u in rng.random(4000)])
    assert np.mean(draws > 0.5) > 0.85  # linear sampling would give 0.5
    for u in (0.1, 0.5, 0.9):
        assert param.to_unit(param.from_unit(u)) == pytest.approx(u)


def test_int_log_without_step_covers_the_end_values() -> None:
    param = Int("units", 1, 4, sampling="log")
    seen = {param.from_unit(u) for u in np.linspace(0, 1, 200)}
    assert seen == {1, 2, 3, 4}


def test_stepped_float_values_are_tidy() -> None:
    param = Float("rate", 0.1, 0.5, step=0.1)
    assert param.grid() == (0.1, 0.2, 0.3, 0.4, 0.5)
    with pytest.raises(SpaceError, match="without a step has no grid"):
        Float("lr", 0.0, 1.0).grid()


def test_choice_keeps_types_apart() -> None:
    param = Choice("c", [1, 2, 3])
    assert param.ordered is True
    assert param.contains(2) and not param.contains(2.0) and not param.contains(True)
    assert Choice("s", ["a", "b"]).ordered is False


def test_specs_survive_a_round_trip_through_the_store_format() -> None:
    specs = [
        Int("u", 16, 256, 16, "linear", 32),
        Float("lr", 1e-4, 1e-2, None, "log", None),
        Choice("c", ("a", "b"), None, "b"),
        Boolean("flag", default_value=True),
        Fixed("epochs", 5),
    ]
    for spec in specs:
        assert param_from_dict(spec.to_dict()) == spec


def test_changes_name_each_field() -> None:
    old, new = Int("u", 16, 256, step=16), Int("u", 16, 128, step=16)
    assert old.changes(new) == ["max_value 256 -> 128"]
    assert old.changes(Float("u", 16, 256)) == ["type Int -> Float"]
