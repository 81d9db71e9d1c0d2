"""IS and DS values (PS3.5 Table 6.2-1)."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.core.values._numbers import DS, IS, format_ds
from dicomkit.errors import InvalidValueError

# the machine may be busy: no per-example deadline, no too-slow health check
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_is() -> None:
    v = IS(" 0012 ")
    assert v == 12 and isinstance(v, int)
    assert v.original == " 0012 " and str(v) == "0012" and v.to_text() == " 0012 "
    assert IS(5).original is None and IS(5).to_text() == "5"
    assert IS("1.0") == 1  # lenient
    assert IS(3.0) == 3
    for bad in ("1.5", "abc", 1.5, None):
        with pytest.raises(InvalidValueError):
            IS(bad)
    with pytest.raises(InvalidValueError):
        IS(2**31).to_text()


def test_ds() -> None:
    v = DS("1.50 ")
    assert v == 1.5 and isinstance(v, float)
    assert str(v) == "1.50" and v.to_text() == "1.50 "
    assert DS(0.1).to_text() == "0.1"
    assert repr(DS("2")) == "DS('2')"
    with pytest.raises(InvalidValueError):
        DS("one")


@pytest.mark.parametrize("value", [IS("007"), DS("1.50"), IS(3), DS(0.25)])
def test_copy_and_pickle_keep_original(value: IS | DS) -> None:
    for clone in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
        assert clone == value and type(clone) is type(value)
        assert clone.original == value.original


@pytest.mark.parametrize(
    "value,text",
    [
        (0.0, "0"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (1 / 3, "0.33333333333333"),
        (1e20, "1e+20"),
        (123456789012345678, "1.23456789012e17"),
        (-1.5e-300, "-1.5e-300"),
        (10**15, "1000000000000000"),
    ],
)
def test_format_ds(value: float, text: str) -> None:
    assert format_ds(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
@RELAXED
def test_format_ds_fits(value: float) -> None:
    text = format_ds(value)
    assert len(text) <= 16
    assert float(text) == pytest.approx(value, rel=1e-7, abs=1e-300)


def test_format_ds_rejects_non_finite() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(InvalidValueError):
            format_ds(bad)
