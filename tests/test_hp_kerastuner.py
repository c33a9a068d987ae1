"""KerasTuner 1.4.8's hyperparameter test cases (hyperparameters_test.py and hp_types/*),
ported to hpdeco: the same inputs and expected values, through ``hpdeco.keras_tuner``
(``kt.HyperParameters()`` containers) and hpdeco's specifications. Where hpdeco
deliberately differs, the test says so and checks hpdeco's behaviour."""

from __future__ import annotations

import pytest

import hpdeco
import hpdeco.keras_tuner as kt
from hpdeco import hp
from hpdeco.errors import HpdecoError, SpaceError
from hpdeco.space import Boolean, Choice, Fixed, Float, Int

# -- HyperParameters (hyperparameters_test.py) ------------------------------------------------


def test_values_get_and_missing_name() -> None:
    hps = kt.HyperParameters()
    assert hps.values == {} and hps.space == []
    hps.Choice("choice", [1, 2, 3], default=2)
    assert hps.values == {"choice": 2}
    assert [p.name for p in hps.space] == ["choice"]
    hps.values["choice"] = 3
    assert hps.get("choice") == 3
    with pytest.raises(KeyError, match="does not exist") as info:
        hps.get("wrong")
    assert isinstance(info.value, HpdecoError)


def test_name_scope() -> None:
    hps = kt.HyperParameters()
    hps.Choice("choice", [1, 2, 3], default=2)
    with hps.name_scope("scope1"):
        hps.Choice("choice", [4, 5, 6], default=5)
        with hps.name_scope("scope2"):
            hps.Choice("choice", [7, 8, 9], default=8)
        hps.Int("range", min_value=0, max_value=10, step=1, default=0)
    assert hps.values == {
        "choice": 2,
        "scope1/choice": 5,
        "scope1/scope2/choice": 8,
        "scope1/range": 0,
    }


def test_parent_name() -> None:
    hps = kt.HyperParameters()
    hps.Choice("a", [1, 2, 3], default=2)
    b1 = hps.Int("b", 0, 10, parent_name="a", parent_values=1, default=5)
    b2 = hps.Int("b", 0, 100, parent_name="a", parent_values=2, default=4)
    assert b1 is None
    assert b2 == 4
    assert hps.values == {"a": 2, "b": 4}


def test_conditional_scope() -> None:
    hps = kt.HyperParameters()
    hps.Choice("choice", [1, 2, 3], default=2)
    for _ in range(2):  # declared, then retrieved: the same answers
        with hps.conditional_scope("choice", [1, 3]):
            assert hps.Choice("child_choice", [4, 5, 6]) is None
        with hps.conditional_scope("choice", 2):
            assert hps.Choice("child_choice", [7, 8, 9]) == 7
    assert hps.values == {"choice": 2, "child_choice": 7}
    with pytest.raises(ValueError, match=r"not_defined_hp.*defined"):
        with hps.conditional_scope("not_defined_hp", 2):
            hps.Choice("child_choice", [7, 8, 9])


def test_is_active() -> None:
    hps = kt.HyperParameters()
    hps.Choice("choice", [1, 2, 3], default=3)
    with hps.conditional_scope("choice", [1, 3]):
        hps.Choice("child_choice", [4, 5, 6])
    with hps.conditional_scope("choice", 2):
        hps.Choice("child_choice2", [7, 8, 9])
    hps.values["child_choice2"] = 7  # a value put in by hand does not make it active
    assert hps.is_active("child_choice")
    assert not hps.is_active("child_choice2")


def test_build_with_conditional_scope_same_name_two_ranges() -> None:
    def build_model(hps: kt.HyperParameters) -> dict:
        model = hps.Choice("model", ["v1", "v2"])
        with hps.conditional_scope("model", "v1"):
            v1 = {"layers": hps.Int("layers", 1, 3), "units": hps.Int("units", 16, 32)}
        with hps.conditional_scope("model", "v2"):
            v2 = {"layers": hps.Int("layers", 2, 4), "units": hps.Int("units", 32, 64)}
        return v1 if model == "v1" else v2

    hps = kt.HyperParameters()
    assert build_model(hps) == {"layers": 1, "units": 16}
    assert hps.values == {"model": "v1", "layers": 1, "units": 16}


def test_same_name_as_condition_is_refused() -> None:
    hps = kt.HyperParameters()
    hps.Choice("a", [1, 2, 3], default=3)
    with pytest.raises(ValueError, match="cannot have the same name"):
        with hps.conditional_scope("a", [1, 3]):
            hps.Choice("a", [4, 5, 6], default=6)


def test_nested_conditional_scopes_and_name_scopes() -> None:
    hps = kt.HyperParameters()
    a = hps.Choice("a", [1, 2, 3], default=3)
    with hps.conditional_scope("a", [1, 3]):
        b = hps.Choice("b", [4, 5, 6], default=6)
        with hps.conditional_scope("b", 6):
            c = hps.Choice("c", [7, 8, 9])
            with hps.name_scope("d"):
                e = hps.Choice("e", [10, 11, 12])
    with hps.conditional_scope("a", 2):
        f = hps.Choice("f", [13, 14, 15])
        with hps.name_scope("g"):
            h = hps.Int("h", 0, 10)
    assert hps.values == {"a": 3, "b": 6, "c": 7, "d/e": 10}
    assert (a, b, c, e) == (3, 6, 7, 10)
    assert f is None and h is None


def test_get_with_conditional_scopes() -> None:
    hps = kt.HyperParameters()
    hps.Choice("a", [1, 2, 3], default=2)
    assert hps.get("a") == 2
    with hps.conditional_scope("a", 2):
        hps.Fixed("b", 4)
        assert hps.get("b") == 4
        assert hps.get("a") == 2
    with hps.conditional_scope("a", 3):
        hps.Fixed("b", 5)
        assert hps.get("b") == 4
    assert hps.get("b") == 4


def test_dict_methods() -> None:
    hps = kt.HyperParameters()
    hps.Int("a", 0, 10, default=3)
    hps.Choice("b", [1, 2], default=2)
    with hps.conditional_scope("b", 1):
        hps.Float("c", -10, 10, default=3)
        with pytest.raises(ValueError, match="is currently inactive"):
            hps["c"]
    with hps.conditional_scope("b", 2):
        hps.Float("c", -30, -20, default=-25)
    assert hps["a"] == 3
    assert hps["b"] == 2
    assert hps["c"] == -25
    with pytest.raises(KeyError, match="does not exist"):
        hps["d"]
    assert "a" in hps and "b" in hps and "c" in hps
    assert "d" not in hps


def test_populated_value_and_default() -> None:
    hps = kt.HyperParameters()
    hps.values["hp_name"] = "hp_value"
    choices = ["hp_value", "hp_value_default"]
    assert hps.Choice("hp_name", choices, default="hp_value_default") == "hp_value"
    fresh = kt.HyperParameters()
    assert fresh.Choice("hp_name", choices, default="hp_value_default") == "hp_value_default"


def test_global_hp_speaks_the_container_api_outside_trials() -> None:
    """hpdeco.hp itself takes the same calls (its bookkeeping is per trial, or shared
    outside trials); a redeclaration with another default still returns that default
    (hpdeco's rule: outside a search each call returns its own default)."""
    assert hp.Choice("kt_port_act", ["relu", "tanh"]) == "relu"
    assert hp.Choice("kt_port_act", ["relu", "tanh"], default="tanh") == "tanh"
    with hp.conditional_scope("kt_port_act", "tanh"):
        assert hp.Int("kt_port_units", 1, 4, default=2) == 2
    with hp.conditional_scope("kt_port_act", "relu"):
        assert hp.Int("kt_port_other", 1, 4) is None
    assert hp["kt_port_units"] == 2 and "kt_port_other" not in hp


# -- Int (hp_types/int_hp_test.py) -------------------------------------------------------------


def test_int_sampling_arg() -> None:
    assert Int("i", 0, 10, sampling="linear").sampling == "linear"
    with pytest.raises(ValueError, match="sampling='invalid' is unknown"):
        Int("j", 0, 10, sampling="invalid")
    with pytest.raises(ValueError, match="min_value=1 is greater than max_value=0"):
        Int("k", 1, 0, sampling="linear")
    with pytest.raises(ValueError, match="must be > 0 with sampling='log'"):
        Int("k", -10, -1, sampling="log")
    with pytest.raises(ValueError, match="must be > 1 with sampling='log'"):
        Int("k", 1, 10, step=1, sampling="log")


def test_int_default_and_range() -> None:
    assert Int("rg", 5, 9, step=1, default_value=6).default == 6
    assert Int("rg", 5, 9, step=1).default == 5
    assert Int("rg", 2, 32, step=2, sampling="log").grid() == (2, 4, 8, 16, 32)
    rg = Int("rg", 2, 32, step=2, sampling="log")
    assert rg.to_unit(4) == pytest.approx(0.3)  # KerasTuner's value_to_prob(4) = 0.3
    assert rg.from_unit(0.3) == 4


def test_int_log_without_step_round_trip() -> None:
    rg = Int("rg", 2, 32, sampling="log")
    assert rg.from_unit(rg.to_unit(4)) == 4


def test_int_non_integral_float_is_refused_integral_float_accepted() -> None:
    with pytest.raises(ValueError, match="must be an integer"):
        Int("j", 0.5, 10)
    assert hp.Int("units", 32.0, 512.0) == 32
    assert Int("units", 32.0, 512.0, step=32.0) == Int("units", 32, 512, step=32)


@pytest.mark.parametrize(
    ("spec", "values"),
    [
        (Int("int", 2, 8, 2), [2, 4, 6, 8]),
        (Int("int", 2, 8, 2, sampling="log"), [2, 4, 8]),
        (Int("int", 2, 4), [2, 3, 4]),
        (Int("int", 2, 20), list(range(2, 21))),
        (Float("float", 2, 8, 2), [2.0, 4.0, 6.0, 8.0]),
        (Float("float", 0.1, 100.0, 10, sampling="log"), [0.1, 1.0, 10.0, 100.0]),
    ],
)
def test_values_with_step(spec: Int | Float, values: list) -> None:
    assert list(spec.values) == values
    assert all(type(v) is type(values[0]) for v in spec.values)


@pytest.mark.parametrize(
    "spec",
    [
        Int("int", 2, 1024, sampling="log"),
        Float("float", 2, 4),
        Float("float", 2, 20),
        Float("float", 2, 1024, sampling="log"),
    ],
)
def test_values_without_step_are_ten(spec: Int | Float) -> None:
    assert len(spec.values) == 10
    assert list(spec.values) == sorted(spec.values)  # KerasTuner: a set's order
    assert all(spec.contains(v) for v in spec.values)


def test_sampling_none_is_linear_and_case_is_ignored() -> None:
    assert Int("int", 2, 4, sampling=None).sampling == "linear"  # type: ignore[arg-type]
    assert Float("f", 1e-4, 1e-2, sampling="LOG").sampling == "log"
    assert hp.Float("lr", 1e-4, 1e-2, sampling="LOG") == 1e-4


# -- Float (hp_types/float_hp_test.py) ----------------------------------------------------------


def test_float_defaults() -> None:
    assert Float("linear", 0.5, 9.5, step=0.1, default_value=9.0).default == 9.0
    assert Float("linear", 0.5, 6.5, default_value=2.0).default == 2.0
    assert Float("linear", 0.5, 9.5, step=0.1).default == 0.5


def test_float_linear_value_to_prob_no_step() -> None:
    rg = Float("rg", 1.0, 11.0)
    assert rg.to_unit(4.5) == pytest.approx(0.35)
    assert rg.from_unit(0.35) == pytest.approx(4.5)


def test_float_log_with_step() -> None:
    rg = Float("rg", 0.01, 100, step=10, sampling="log")
    assert rg.grid() == (0.01, 0.1, 1.0, 10.0, 100.0)
    assert rg.to_unit(0.1) == pytest.approx(0.3)
    assert rg.from_unit(0.3) == 0.1


def test_float_reverse_log_with_step() -> None:
    rg = Float("rg", 0.01, 100, step=10, sampling="reverse_log")
    assert rg.grid() == (100.0, 99.91, 99.01, 90.01, 0.01)  # KerasTuner's index order
    assert rg.to_unit(99.91) == pytest.approx(0.3)
    assert rg.from_unit(0.3) == pytest.approx(99.91)
    assert rg.contains(90.01) and not rg.contains(50.0)


def test_zero_length_interval() -> None:
    f = Float("f", 2, 2)
    assert f.from_unit(0.7) == 2
    assert f.to_unit(2) == 0.5


def test_log_and_reverse_log_end_points() -> None:
    f = Float("f", 1e-3, 1e3, sampling="log")
    assert f.to_unit(1e-3) == 0 and f.to_unit(1) == pytest.approx(0.5)
    assert f.to_unit(1e3) == pytest.approx(1)
    assert f.from_unit(0.5) == pytest.approx(1)
    r = Float("f", 1e-3, 1e3, sampling="reverse_log")
    assert r.to_unit(1e-3) == pytest.approx(0)
    assert 0 < r.to_unit(1) < 1 and r.from_unit(r.to_unit(1)) == pytest.approx(1)


# -- Choice, Boolean, Fixed ---------------------------------------------------------------------


def test_choice() -> None:
    assert Choice("choice", (1, 2, 3), default_value=2).default == 2
    assert Choice("choice", (1, 2, 3)).default == 1
    assert Choice("choice", (1, 2, 3)).to_unit(1) == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="default=4 is not among"):
        Choice("choice", (1, 2, 3), default_value=4)
    assert Choice("a", (0, 1, 2)).from_unit(1) == 2 and Choice("a", (0, 1, 2)).from_unit(0) == 0


@pytest.mark.parametrize(
    ("values", "ordered", "expected"),
    [
        ([1, 2, 3], True, True),
        ([1, 2, 3], False, False),
        ([1, 2, 3], None, True),
        (["a", "b", "c"], False, False),
        (["a", "b", "c"], None, False),
    ],
)
def test_choice_ordered(values: list, ordered: bool | None, expected: bool) -> None:
    assert Choice("choice", tuple(values), ordered).ordered is expected


def test_choice_invalid() -> None:
    with pytest.raises(ValueError, match="needs int or float values"):
        hp.Choice("a", ["a", "b"], ordered=True)
    with pytest.raises(ValueError, match="mix types"):  # KerasTuner: a TypeError
        hp.Choice("a", ["a", "b", 0])
    with pytest.raises(ValueError, match="may hold only int, float, str or bool"):
        hp.Choice("a", [{"a": 1}, {"a": 2}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="must be a non-empty list"):
        hp.Choice("a", [])


def test_boolean() -> None:
    assert Boolean("bool").default is False
    assert Boolean("bool", default_value=True).default is True
    assert hp.Boolean("bool", default=True) is True
    assert {Boolean("bool").to_unit(True), Boolean("bool").to_unit(False)} == {0.25, 0.75}


def test_fixed() -> None:
    for value in ("value", True, False, 1, 8.2):
        assert Fixed("fixed", value).default == value
    assert Fixed("fixed", 8.2).to_unit(8.2) == 0.5
    with pytest.raises(ValueError, match="must be an int, float, str or bool"):
        Fixed("fixed", None)  # type: ignore[arg-type]


# -- decoration ---------------------------------------------------------------------------------


def test_tunable_reads_conditional_branches_and_hps_argument() -> None:
    """The conditional-scope test's model decorates: one name in two branches with two
    ranges is kept apart, not refused, and the hp argument may have any name."""

    @hpdeco.tunable
    def build_model(hps):
        model = hps.Choice("model", ["v1", "v2"])
        with hps.conditional_scope("model", "v1"):
            v1 = hps.Int("layers", 1, 3)
        with hps.conditional_scope("model", "v2"):
            v2 = hps.Int("layers", 2, 4)
        with hps.name_scope("head"):
            hps.Int("units", 8, 16, parent_name="model", parent_values=["v1"])
        return v1 if model == "v1" else v2

    space = build_model.space
    assert "layers" in space.branched and "layers" not in space.params
    assert space.params["model"] == Choice("model", ("v1", "v2"))
    assert space.params["head/units"] == Int("head/units", 8, 16)


def test_conditional_branches_run_in_a_search(tmp_path) -> None:
    """In trials, the branch taken draws its own range; a name another branch declares with
    another range is stored apart (layers[model=v2]), so the study keeps one spec per name."""

    def build(hps: kt.HyperParameters) -> int:
        model = hps.Choice("model", ["v1", "v2"])
        with hps.conditional_scope("model", "v1"):
            v1 = hps.Int("layers", 1, 3)
        with hps.conditional_scope("model", "v2"):
            v2 = hps.Int("layers", 2, 4)
        assert hps.get("layers") == (v1 if model == "v1" else v2)
        return v1 if model == "v1" else v2

    with hpdeco.search(
        objective="score", direction="max", store=str(tmp_path / "s.db"), sampler="grid",
        max_trials=20, verbose=0,
    ) as search:  # fmt: skip
        for trial in search:
            trial.report(build(kt.HyperParameters()), step=1)
    seen = {(t.params["model"], t.value) for t in search.trials}
    assert seen == {("v1", 1), ("v1", 2), ("v1", 3), ("v2", 2), ("v2", 3), ("v2", 4)}
    assert search.space["layers"] == Int("layers", 1, 3)
    assert search.space["layers[model=v2]"] == Int("layers[model=v2]", 2, 4)
    search.close()


def test_decoration_errors_name_the_call() -> None:
    with pytest.raises(SpaceError, match="declared twice"):

        @hpdeco.tunable
        def build(hp):
            return hp.Int("a", 1, 3), hp.Int("a", 2, 4)
