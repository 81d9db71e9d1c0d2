"""Integer String (IS) and Decimal String (DS) values (PS3.5 6.2, Table 6.2-1).

``IS`` is an ``int`` and ``DS`` a ``float`` that remember the text they were read from
(``.original``), so that a value read and written back untouched keeps its exact bytes
(``"0001"``, ``" 1.50"``, ``"1E3"``). A value made from a number has ``original = None`` and is
formatted on write: IS as a plain integer, DS as the shortest text of at most 16 characters
that reads back as the same float where possible.
"""

from __future__ import annotations

import decimal
import math
from typing import Any

from dicomkit.errors import InvalidValueError

IS_MIN = -(2**31)
IS_MAX = 2**31 - 1
DS_MAX_LENGTH = 16


class IS(int):
    """An Integer String value: ``IS("12")``, ``IS(12)``; ``IS("1.0")`` is accepted leniently
    (an integral decimal), ``IS("1.5")`` raises :class:`InvalidValueError`."""

    original: str | None

    def __new__(cls, value: Any, original: str | None = None) -> IS:  # noqa: PYI034
        if isinstance(value, IS) and original is None:
            return value
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("ascii", "replace")
        if isinstance(value, str):
            text = value.strip(" \x00")
            try:
                number = int(text)
            except ValueError:
                number = _lenient_int(text, value)
            self = int.__new__(cls, number)
            self.original = value if original is None else original
            return self
        if isinstance(value, float):
            if not value.is_integer():
                raise InvalidValueError(f"IS value must be an integer, got {value!r}")
            value = int(value)
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(f"cannot make an IS value from {value!r}") from exc
        self = int.__new__(cls, number)
        self.original = original
        return self

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickle / copy keep the original text
        return (self.original if self.original is not None else int(self),)

    def __str__(self) -> str:
        return self.original.strip(" \x00") if self.original is not None else int.__repr__(self)

    def __repr__(self) -> str:
        return f"IS({str(self)!r})"

    def to_text(self) -> str:
        """The text to write: the original if there is one, else the formatted integer."""
        if self.original is not None:
            return self.original
        if not IS_MIN <= self <= IS_MAX:
            raise InvalidValueError(f"IS value {int(self)} outside [-2^31, 2^31-1]")
        return int.__repr__(self)


def _lenient_int(text: str, value: str) -> int:
    try:
        f = float(text)
    except ValueError:
        raise InvalidValueError(f"not an Integer String (IS): {value!r}") from None
    if not f.is_integer():
        raise InvalidValueError(f"IS value must be an integer, got {value!r}")
    return int(f)


class DS(float):
    """A Decimal String value: ``DS("1.50")`` keeps ``"1.50"``; ``DS(0.1)`` formats on write."""

    __slots__ = ("original",)
    original: str | None

    def __new__(cls, value: Any, original: str | None = None) -> DS:  # noqa: PYI034
        if isinstance(value, DS) and original is None:
            return value
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("ascii", "replace")
        if isinstance(value, str):
            text = value.strip(" \x00")
            try:
                number = float(text)
            except ValueError:
                raise InvalidValueError(f"not a Decimal String (DS): {value!r}") from None
            self = float.__new__(cls, number)
            self.original = value if original is None else original
            return self
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(f"cannot make a DS value from {value!r}") from exc
        self = float.__new__(cls, number)
        self.original = original
        return self

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (self.original if self.original is not None else float(self),)

    def __getstate__(self) -> None:
        return None

    def __str__(self) -> str:
        if self.original is not None:
            return self.original.strip(" \x00")
        return format_ds(float(self))

    def __repr__(self) -> str:
        return f"DS({str(self)!r})"

    def to_text(self) -> str:
        """The text to write: the original if there is one, else :func:`format_ds`."""
        if self.original is not None:
            return self.original
        return format_ds(float(self))


def fast_is(text: str) -> IS:
    """``IS(text)`` for the reader's hot path (falls back to the checking constructor)."""
    try:
        obj = int.__new__(IS, int(text))
    except ValueError:
        return IS(text)
    obj.original = text
    return obj


def fast_ds(text: str) -> DS:
    """``DS(text)`` for the reader's hot path (falls back to the checking constructor)."""
    try:
        obj = float.__new__(DS, float(text))
    except ValueError:
        return DS(text)
    obj.original = text
    return obj


def format_ds(value: float) -> str:
    """Format a number as a DS value of at most 16 characters (PS3.5 Table 6.2-1).

    Uses the shortest round-tripping text when it fits, otherwise the most precise
    ``%g``-style text that fits. NaN and infinity cannot be written as DS.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        if len(text) <= DS_MAX_LENGTH:
            return text
        value = float(value)
    if not math.isfinite(value):
        raise InvalidValueError(f"DS cannot hold {value!r}")
    text = repr(float(value))
    if text.endswith(".0") and len(text) > 2:
        text = text[:-2]
    if len(text) <= DS_MAX_LENGTH:
        return text
    for precision in range(DS_MAX_LENGTH, 0, -1):
        text = f"{value:.{precision}g}"
        if not math.isfinite(float(text)):  # rounded up past the largest float: truncate
            ctx = decimal.Context(prec=precision, rounding=decimal.ROUND_DOWN)
            text = f"{ctx.plus(decimal.Decimal(value)):g}".replace("E", "e").replace("+", "")
        if "e" in text:
            mantissa, exp = text.split("e")
            text = f"{mantissa}e{int(exp)}"
        if len(text) <= DS_MAX_LENGTH and math.isfinite(float(text)):
            return text
    raise InvalidValueError(f"cannot format {value!r} as DS in {DS_MAX_LENGTH} characters")


__all__ = ["DS", "IS", "fast_ds", "fast_is", "format_ds"]
