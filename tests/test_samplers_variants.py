"""bench/variants.py's sampler variants replace the default sampler, whatever its name
(they replaced "tpe", which stopped being the default when "auto" became it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import hpdeco.samplers as samplers
from hpdeco.samplers import RandomSampler, TPESampler, resolve_sampler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import variants


@pytest.mark.parametrize(
    ("variant", "expected", "multivariate"),
    [
        ("tpe", TPESampler, True),
        ("tpe-independent", TPESampler, False),
        ("random", RandomSampler, None),
    ],
)
def test_sampler_variants_replace_the_default(
    monkeypatch: pytest.MonkeyPatch, variant: str, expected: type, multivariate: bool | None
) -> None:
    monkeypatch.setattr(samplers, "SAMPLERS", dict(samplers.SAMPLERS))
    variants.apply(variant)
    chosen = resolve_sampler(None, seed=1)
    assert isinstance(chosen, expected)
    if multivariate is not None:
        assert chosen.multivariate is multivariate
