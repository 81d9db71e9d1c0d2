"""DA / TM / DT parsing and formatting, query ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from dicomkit.core.values._dates import (
    format_da,
    format_dt,
    format_tm,
    is_range,
    parse_da,
    parse_dt,
    parse_range,
    parse_tm,
    to_python,
)
from dicomkit.errors import InvalidValueError


def test_da() -> None:
    assert parse_da("20200131") == date(2020, 1, 31)
    assert parse_da("2020.01.31") == date(2020, 1, 31)
    assert format_da(date(2020, 1, 31)) == "20200131"
    for bad in ("2020013", "20201301", "abcdefgh", ""):
        with pytest.raises(InvalidValueError):
            parse_da(bad)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("12", time(12)),
        ("1230", time(12, 30)),
        ("123005", time(12, 30, 5)),
        ("123005.1", time(12, 30, 5, 100000)),
        ("123005.123456", time(12, 30, 5, 123456)),
        ("12:30:05", time(12, 30, 5)),
        ("235960", time(23, 59, 59)),
        (" 0700 ", time(7)),
    ],
)
def test_tm(text: str, expected: time) -> None:
    assert parse_tm(text) == expected


def test_tm_bad_and_format() -> None:
    for bad in ("1", "2500", "12a", "126000"):
        with pytest.raises(InvalidValueError):
            parse_tm(bad)
    assert format_tm(time(1, 2, 3)) == "010203"
    assert format_tm(time(1, 2, 3, 5)) == "010203.000005"


def test_dt() -> None:
    assert parse_dt("2020") == datetime(2020, 1, 1)
    assert parse_dt("202002") == datetime(2020, 2, 1)
    assert parse_dt("20200131123000.5") == datetime(2020, 1, 31, 12, 30, 0, 500000)
    aware = parse_dt("20200131123000+0100")
    assert aware.utcoffset() == timedelta(hours=1)
    assert parse_dt("2020-0530").utcoffset() == -timedelta(hours=5, minutes=30)
    assert format_dt(aware) == "20200131123000+0100"
    assert format_dt(datetime(2020, 1, 31, tzinfo=UTC)) == "20200131000000+0000"
    for bad in ("20", "2020+2500", "20201341"):
        with pytest.raises(InvalidValueError):
            parse_dt(bad)


def test_ranges() -> None:
    assert parse_range("20200101-20201231") == (date(2020, 1, 1), date(2020, 12, 31))
    assert parse_range("20200101-") == (date(2020, 1, 1), None)
    assert parse_range("-20201231") == (None, date(2020, 12, 31))
    assert parse_range("20200101") == (date(2020, 1, 1), date(2020, 1, 1))
    assert parse_range("0800-1200", "TM") == (time(8), time(12))
    tz = timezone(timedelta(hours=-5))
    assert parse_range("20200101-0500", "DT") == (datetime(2020, 1, 1, tzinfo=tz),) * 2
    assert parse_range("20200101-0500-", "DT") == (datetime(2020, 1, 1, tzinfo=tz), None)
    assert parse_range("2020-2021", "DT") == (datetime(2020, 1, 1), datetime(2021, 1, 1))
    assert is_range("2020-2021", "DT") and not is_range("20200101-0500", "DT")
    with pytest.raises(InvalidValueError):
        parse_range("-", "DA")
    with pytest.raises(InvalidValueError):
        parse_range("x-y", "DA")
    with pytest.raises(InvalidValueError):
        parse_range("1-2", "CS")


def test_to_python() -> None:
    assert to_python("20200101", "DA") == date(2020, 1, 1)
    assert to_python(["0800", ""], "TM") == [time(8), None]
    assert to_python("", "DT") is None
