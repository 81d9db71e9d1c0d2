"""Person Name (PN) values (PS3.5 6.2.1).

A PN value has up to three component groups separated by ``=``: alphabetic, ideographic and
phonetic; each group has up to five components separated by ``^``: family name, given name,
middle name, name prefix, name suffix. :class:`PersonName` is a ``str`` (the text exactly as
read, so ``str(pn)`` and ``pn == "DOE^JOHN"`` behave as expected) with accessors for the parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit.core.values._charset import Charsets

_COMPONENTS = ("family_name", "given_name", "middle_name", "name_prefix", "name_suffix")


class PersonName(str):
    """A DICOM person name, e.g. ``PersonName("Yamada^Tarou=山田^太郎=やまだ^たろう")``."""

    __slots__ = ()

    def __new__(cls, value: Any = "") -> PersonName:  # noqa: PYI034
        if isinstance(value, PersonName):
            return value
        if value is None:
            value = ""
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = bytes(value).decode("latin_1")
        return str.__new__(cls, value)

    @classmethod
    def from_components(
        cls,
        family_name: str = "",
        given_name: str = "",
        middle_name: str = "",
        name_prefix: str = "",
        name_suffix: str = "",
        *,
        ideographic: str | PersonName = "",
        phonetic: str | PersonName = "",
    ) -> PersonName:
        """Build a name from its alphabetic components (and optional ideographic / phonetic
        groups, given as ``^``-joined text); trailing empty components are left out."""
        for part in (family_name, given_name, middle_name, name_prefix, name_suffix):
            if any(c in part for c in "^=\\"):
                raise ValueError(f"a name component may not contain ^, = or \\: {part!r}")
        alpha = _join("^", [family_name, given_name, middle_name, name_prefix, name_suffix])
        return cls(_join("=", [alpha, str(ideographic), str(phonetic)]))

    # -- groups -----------------------------------------------------------------------------
    @property
    def groups(self) -> tuple[str, str, str]:
        """(alphabetic, ideographic, phonetic); missing groups are ``""``."""
        parts = str.split(self, "=", 2)
        parts += [""] * (3 - len(parts))
        return parts[0], parts[1], parts[2]

    @property
    def alphabetic(self) -> str:
        """The alphabetic component group (before the first ``=``)."""
        return self.groups[0]

    @property
    def ideographic(self) -> str:
        """The ideographic component group (between the first and second ``=``)."""
        return self.groups[1]

    @property
    def phonetic(self) -> str:
        """The phonetic component group (after the second ``=``)."""
        return self.groups[2]

    def components(self, group: int = 0) -> tuple[str, str, str, str, str]:
        """The five components of a group (0 alphabetic, 1 ideographic, 2 phonetic)."""
        parts = self.groups[group].split("^", 4)
        parts += [""] * (5 - len(parts))
        return parts[0], parts[1], parts[2], parts[3], parts[4]

    @property
    def family_name(self) -> str:
        """The family name: the first ``^``-separated component of the alphabetic group."""
        return self.components()[0]

    @property
    def given_name(self) -> str:
        """The given name: the second component of the alphabetic group."""
        return self.components()[1]

    @property
    def middle_name(self) -> str:
        """The middle name: the third component of the alphabetic group."""
        return self.components()[2]

    @property
    def name_prefix(self) -> str:
        """The name prefix (e.g. ``Dr``): the fourth component of the alphabetic group."""
        return self.components()[3]

    @property
    def name_suffix(self) -> str:
        """The name suffix (e.g. ``Jr``): the fifth component of the alphabetic group."""
        return self.components()[4]

    def family_comma_given(self) -> str:
        """``"Family, Given"`` of the alphabetic group."""
        return f"{self.family_name}, {self.given_name}"

    def formatted(self, fmt: str) -> str:
        """``fmt`` with ``{family_name}``, ``{given_name}`` ... of the alphabetic group."""
        return fmt.format(**dict(zip(_COMPONENTS, self.components(), strict=True)))

    def encode(self, charsets: Charsets | str | None = None, errors: str = "strict") -> bytes:
        """The bytes of this name with ``charsets`` (escape sequences per group as needed,
        PS3.5 6.1.2.5.3), without padding. Given a codec name it behaves as ``str.encode``."""
        if isinstance(charsets, str):
            return str.encode(self, charsets, errors)
        if charsets is None:
            from dicomkit.core.values._charset import DEFAULT_CHARSETS

            charsets = DEFAULT_CHARSETS
        return charsets.encode(str(self), "PN")

    def __repr__(self) -> str:
        return f"PersonName({str.__repr__(self)})"


def _join(sep: str, parts: list[str]) -> str:
    while parts and not parts[-1]:
        parts.pop()
    return sep.join(parts)


__all__ = ["PersonName"]
