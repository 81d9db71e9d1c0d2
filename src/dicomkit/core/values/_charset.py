"""Specific Character Set (0008,0005): text bytes <-> str (PS3.5 6.1, PS3.3 C.12.1.1.2).

Two families of character sets:

* Without code extensions (one value): ``ISO_IR 6`` (the default repertoire), ``ISO_IR 100`` ...
  ``ISO_IR 203``, ``ISO_IR 13``, ``ISO_IR 192`` (UTF-8), ``GB18030``, ``GBK``. One Python codec
  decodes the whole value.
* With ISO 2022 code extensions (``ISO 2022 IR nnn`` terms, possibly several): escape sequences
  designate a coded character set into G0 (bytes 0x21-0x7E) or G1 (bytes 0xA1-0xFE, invoked
  in GR) -- PS3.5 6.1.2.5 and Annexes H (Japanese), I (Korean), K (Chinese IR 58).

Rules implemented for code extensions (PS3.5 6.1.2.5.3): the value starts in the state of value 1
of (0008,0005) (or ISO-IR 6 when value 1 is empty); that initial state is active again before
each line or form feed and other control characters, before each ``\\`` value delimiter (VRs of
VM > 1) and before each ``^`` and ``=`` of a person name. The decoder resets its state at those
points; the encoder writes the escape sequences needed to get back there.

Decoding is lenient: undecodable bytes never raise, they decode with a fallback (latin-1 for the
default repertoire, U+FFFD otherwise) and a logged warning. Encoding text a character set
cannot represent raises :class:`~dicomkit.errors.CharsetError` -- except for the default
repertoire, which falls back to latin-1 symmetrically with decoding.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dicomkit.errors import CharsetError

log = logging.getLogger(__name__)

#: Text VRs whose bytes follow (0008,0005) (PS3.5 6.1.2.3); others use the default repertoire.
_CHARSET_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})

# -- one-value character sets: DICOM defined term -> Python codec ---------------------------
_SINGLE: dict[str, str] = {
    "ISO_IR 6": "ascii",
    "ISO_IR 100": "latin_1",
    "ISO_IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3",
    "ISO_IR 110": "iso8859_4",
    "ISO_IR 144": "iso8859_5",
    "ISO_IR 127": "iso8859_6",
    "ISO_IR 126": "iso8859_7",
    "ISO_IR 138": "iso8859_8",
    "ISO_IR 148": "iso8859_9",
    "ISO_IR 203": "iso8859_15",
    "ISO_IR 166": "iso8859_11",
    "ISO_IR 13": "shift_jis",
    "ISO_IR 192": "utf_8",
    "GB18030": "gb18030",
    "GBK": "gbk",
}
#: Character sets that forbid code extensions: they are used alone even if listed with others.
_NO_EXTENSIONS = frozenset({"ISO_IR 192", "GB18030", "GBK"})


# -- ISO 2022 graphic sets ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _GSet:
    """A coded character set that an escape sequence designates into G0 or G1."""

    name: str  # short id, e.g. "ascii", "latin1", "jisx0208"
    g: int  # 0 = G0 (GL bytes), 1 = G1 (GR bytes)
    escape: bytes  # the designating escape sequence
    codec: str  # Python codec decoding bytes of this set (with ASCII in GL for G1 sets)
    multibyte: bool


def _g1_latin(name: str, final: str, codec: str) -> _GSet:
    return _GSet(name, 1, b"\x1b-" + final.encode(), codec, False)


_ASCII = _GSet("ascii", 0, b"\x1b(B", "ascii", False)
_ROMAN = _GSet("jisx0201-roman", 0, b"\x1b(J", "ascii", False)
_KATAKANA = _GSet("jisx0201-katakana", 1, b"\x1b)I", "shift_jis", False)
_JISX0208 = _GSet("jisx0208", 0, b"\x1b$B", "euc_jp", True)
_JISX0212 = _GSet("jisx0212", 0, b"\x1b$(D", "euc_jp", True)
_KSX1001 = _GSet("ksx1001", 1, b"\x1b$)C", "euc_kr", True)
_GB2312 = _GSet("gb2312", 1, b"\x1b$)A", "gb2312", True)

#: ISO 2022 defined term -> the sets it designates (G0 and/or G1) in its initial state.
_ISO2022: dict[str, tuple[_GSet, ...]] = {
    "ISO 2022 IR 6": (_ASCII,),
    "ISO 2022 IR 100": (_ASCII, _g1_latin("latin1", "A", "latin_1")),
    "ISO 2022 IR 101": (_ASCII, _g1_latin("latin2", "B", "iso8859_2")),
    "ISO 2022 IR 109": (_ASCII, _g1_latin("latin3", "C", "iso8859_3")),
    "ISO 2022 IR 110": (_ASCII, _g1_latin("latin4", "D", "iso8859_4")),
    "ISO 2022 IR 144": (_ASCII, _g1_latin("cyrillic", "L", "iso8859_5")),
    "ISO 2022 IR 127": (_ASCII, _g1_latin("arabic", "G", "iso8859_6")),
    "ISO 2022 IR 126": (_ASCII, _g1_latin("greek", "F", "iso8859_7")),
    "ISO 2022 IR 138": (_ASCII, _g1_latin("hebrew", "H", "iso8859_8")),
    "ISO 2022 IR 148": (_ASCII, _g1_latin("latin5", "M", "iso8859_9")),
    "ISO 2022 IR 203": (_ASCII, _g1_latin("latin9", "b", "iso8859_15")),
    "ISO 2022 IR 166": (_ASCII, _g1_latin("thai", "T", "iso8859_11")),
    "ISO 2022 IR 13": (_ROMAN, _KATAKANA),
    "ISO 2022 IR 87": (_JISX0208,),
    "ISO 2022 IR 159": (_JISX0212,),
    "ISO 2022 IR 149": (_KSX1001,),
    "ISO 2022 IR 58": (_GB2312,),
}

#: Every escape sequence we understand -> the set it designates.
_BY_ESCAPE: dict[bytes, _GSet] = {s.escape: s for sets in _ISO2022.values() for s in sets}
_BY_ESCAPE[b"\x1b$@"] = _JISX0208  # JIS C 6226-1978, seen in old Japanese data
_BY_ESCAPE[b"\x1b(I"] = _KATAKANA  # katakana designated to G0 (lenient)

_ESCAPE_RE = re.compile(rb"\x1b(?:\$[()]?|[()\-])[\x40-\x7e]")

#: Control characters before which the initial state is active again.
_CONTROLS = "\t\n\f\r"


def _delimiters(vr: str) -> str:
    if vr == "PN":
        return _CONTROLS + "\\^="
    if vr in ("LT", "ST", "UT", "UR"):
        return _CONTROLS
    return _CONTROLS + "\\"


def _delim_pattern(chars: str) -> re.Pattern[bytes]:
    return re.compile(b"[" + re.escape(chars.encode("ascii")) + b"]")


_DELIM_PN = _delim_pattern(_delimiters("PN"))
_DELIM_TEXT = _delim_pattern(_delimiters("LT"))
_DELIM_MULTI = _delim_pattern(_delimiters("LO"))


def _delim_re(vr: str) -> re.Pattern[bytes]:
    if vr == "PN":
        return _DELIM_PN
    if vr in ("LT", "ST", "UT", "UR"):
        return _DELIM_TEXT
    return _DELIM_MULTI


def _normalise_term(term: str) -> str:
    """Map a (0008,0005) value to a defined term, tolerating common misspellings."""
    t = term.strip().upper()
    if t in _SINGLE or t in _ISO2022 or t == "":
        return t
    compact = re.sub(r"[\s_\-]+", " ", t)
    m = re.fullmatch(r"ISO ?2022 ?IR ?(\d+)", compact)
    if m:
        return f"ISO 2022 IR {int(m.group(1))}"
    m = re.fullmatch(r"ISO ?IR ?(\d+)", compact)
    if m:
        return f"ISO_IR {int(m.group(1))}"
    if compact in ("UTF8", "UTF 8"):
        return "ISO_IR 192"
    return t


class Charsets:
    """The character sets of a data set, from the value of Specific Character Set (0008,0005).

    Immutable and hashable; build one with :meth:`from_value` (cached).
    """

    __slots__ = ("_codec", "_extended", "_initial", "_sets", "is_default", "terms")

    terms: tuple[str, ...]
    _codec: str
    _initial: tuple[_GSet | None, _GSet | None]
    _extended: bool
    _sets: tuple[_GSet, ...]
    is_default: bool

    def __reduce__(self) -> tuple[Any, ...]:
        return (Charsets, (self.terms,))

    def __init__(self, terms: Iterable[str] = ()) -> None:
        norm = tuple(_normalise_term(t) for t in terms)
        while len(norm) > 1 and norm[-1] == "":
            norm = norm[:-1]
        if norm == ("",):
            norm = ()
        object.__setattr__(self, "terms", norm)
        codec = "ascii"
        extended = False
        initial: tuple[_GSet | None, _GSet | None] = (_ASCII, None)
        sets: list[_GSet] = []
        special = [t for t in norm if t in _NO_EXTENSIONS]
        if special:
            if len(norm) > 1:
                log.warning(
                    "Specific Character Set %r: %s does not allow code extensions; using it alone",
                    list(norm),
                    special[0],
                )
            codec = _SINGLE[special[0]]
        elif len(norm) == 1 and norm[0] in _SINGLE:
            codec = _SINGLE[norm[0]]
        elif len(norm) == 1 and norm[0] not in _ISO2022:
            log.warning("unknown Specific Character Set %r: decoding leniently", norm[0])
        elif norm:
            extended = True
            for i, term in enumerate(norm):
                key = term
                if key == "":
                    key = "ISO 2022 IR 6"
                elif key.startswith("ISO_IR "):
                    key = "ISO 2022 IR " + key[7:]  # lenient: non-2022 term in a 2022 list
                if key not in _ISO2022:
                    log.warning("unknown Specific Character Set term %r: ignored", term)
                    continue
                term_sets = _ISO2022[key]
                if i == 0:
                    g0 = next((s for s in term_sets if s.g == 0 and not s.multibyte), _ASCII)
                    g1 = next((s for s in term_sets if s.g == 1), None)
                    initial = (g0, g1)
                sets.extend(s for s in term_sets if s not in sets)
            if _ASCII not in sets:
                sets.insert(0, _ASCII)
        object.__setattr__(self, "_codec", codec)
        object.__setattr__(self, "_extended", extended)
        object.__setattr__(self, "_initial", initial)
        object.__setattr__(self, "_sets", tuple(sets))
        object.__setattr__(self, "is_default", codec == "ascii" and not extended)

    @classmethod
    def from_value(cls, value: Any) -> Charsets:
        """From the value of (0008,0005): ``None``, ``"ISO_IR 100"``, ``["", "ISO 2022 IR 87"]``,
        or a backslash-separated string."""
        if value is None:
            return DEFAULT_CHARSETS
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        if isinstance(value, str):
            terms: tuple[str, ...] = tuple(value.split("\\"))
        else:
            terms = tuple("" if v is None else str(v) for v in value)
        return _cached(terms)

    # -- immutability / identity ------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Charsets is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Charsets) and other.terms == self.terms

    def __hash__(self) -> int:
        return hash(self.terms)

    def __repr__(self) -> str:
        return f"Charsets({list(self.terms)!r})"

    @property
    def value(self) -> str | list[str] | None:
        """The (0008,0005) value this was made from (``None`` for the default)."""
        if not self.terms:
            return None
        return self.terms[0] if len(self.terms) == 1 else list(self.terms)

    @property
    def uses_code_extensions(self) -> bool:
        return self._extended

    # -- decoding -----------------------------------------------------------------------------
    def decode(self, raw: bytes | bytearray | memoryview, vr: str = "LO") -> str:
        """Decode the bytes of one text value (all its backslash-separated parts)."""
        if not isinstance(raw, bytes):
            raw = bytes(raw)
        if vr not in _CHARSET_VRS:
            try:
                return raw.decode("ascii")
            except UnicodeDecodeError:
                pass  # not ASCII: try the data set's character set, leniently
        if self._extended:
            if raw.isascii() and b"\x1b" not in raw:
                return raw.decode("ascii")
            return self._decode_2022(raw, vr)
        codec = self._codec
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            if codec == "ascii":
                log.debug("non-ASCII bytes with the default character set: decoded as latin-1")
                return raw.decode("latin_1")
            log.warning(
                "bytes not valid in %s (%s): undecodable bytes replaced", list(self.terms), codec
            )
            return raw.decode(codec, "replace")

    def _decode_2022(self, raw: bytes, vr: str) -> str:
        init0, init1 = self._initial
        g0: _GSet = init0 or _ASCII
        g1 = init1
        out: list[str] = []
        pos = 0
        delim = _delim_re(vr)
        for m in _ESCAPE_RE.finditer(raw):
            if m.start() > pos:
                g0, g1 = self._decode_run(raw[pos : m.start()], g0, g1, delim, out)
            gset = _BY_ESCAPE.get(m.group())
            if gset is None:
                log.warning("unknown escape sequence %r in %s text", m.group(), vr)
            elif gset.g == 0:
                g0 = gset
            else:
                g1 = gset
            pos = m.end()
        if pos < len(raw):
            self._decode_run(raw[pos:], g0, g1, delim, out)
        return "".join(out)

    def _decode_run(
        self, chunk: bytes, g0: _GSet, g1: _GSet | None, delim: re.Pattern[bytes], out: list[str]
    ) -> tuple[_GSet, _GSet | None]:
        """Decode bytes free of escape sequences; returns the state after them."""
        init0 = self._initial[0] or _ASCII
        init1 = self._initial[1]
        while chunk:
            if g0.multibyte:
                # G0 holds a 94x94 set: GL bytes come in pairs; a control character ends it.
                m = re.search(rb"[\x00-\x1f]", chunk)
                part, rest = (chunk, b"") if m is None else (chunk[: m.start()], chunk[m.start() :])
                out.append(_decode_multibyte_g0(part, g0, g1))
                if m is None:
                    return g0, g1
                out.append(rest[:1].decode("ascii"))
                chunk = rest[1:]
                g0, g1 = init0, init1
                continue
            m = delim.search(chunk)
            part = chunk if m is None else chunk[: m.start()]
            if part:
                out.append(_decode_single(part, g1))
            if m is None:
                return g0, g1
            out.append(chr(chunk[m.start()]))
            chunk = chunk[m.start() + 1 :]
            g0, g1 = init0, init1
        return g0, g1

    # -- encoding -----------------------------------------------------------------------------
    def encode(self, text: str, vr: str = "LO") -> bytes:
        """Encode one text value (its parts joined with backslashes), without padding."""
        if text.isascii():
            return text.encode("ascii")
        if vr not in _CHARSET_VRS and self.is_default:
            return text.encode("latin_1", "strict") if _is_latin1(text) else self._fail(text)
        if self._extended:
            return self._encode_2022(text, vr)
        codec = self._codec
        try:
            return text.encode(codec)
        except UnicodeEncodeError:
            if codec == "ascii" and _is_latin1(text):
                log.debug("non-ASCII text with the default character set: encoded as latin-1")
                return text.encode("latin_1")
            return self._fail(text)

    def _fail(self, text: str) -> bytes:
        bad = next((c for c in text if not self._can_encode(c)), "?")
        hint = (
            " (set SpecificCharacterSet, e.g. to 'ISO_IR 192' for UTF-8)" if self.is_default else ""
        )
        raise CharsetError(
            f"cannot encode {bad!r} (U+{ord(bad):04X}) of {text!r} with "
            f"character set {list(self.terms) or ['ISO_IR 6']}{hint}"
        )

    def _can_encode(self, ch: str) -> bool:
        if self._extended:
            return ch.isascii() or any(_encode_char(s, ch) is not None for s in self._sets)
        try:
            ch.encode(self._codec)
            return True
        except UnicodeEncodeError:
            return False

    def _encode_2022(self, text: str, vr: str) -> bytes:
        # Greedy: each character goes to the set already invoked if it can, else to the first
        # listed set that can, after that set's escape sequence. Decoders that forget the G1
        # designation after a G0 escape are common, so a non-initial G1 set is designated
        # again after any G0 escape (a few bytes more, still valid ISO 2022).
        init0 = self._initial[0] or _ASCII
        init1 = self._initial[1]
        ascii0 = init0 if not init0.multibyte else _ASCII
        g0, g1 = init0, init1
        g1_marked = True
        delims = _delimiters(vr)
        out = bytearray()

        def restore() -> None:
            nonlocal g0, g1, g1_marked
            if g0 is not init0:
                out.extend(init0.escape)
            if g1 is not init1 and init1 is not None:
                out.extend(init1.escape)
            g0, g1, g1_marked = init0, init1, True

        def set_g0(gset: _GSet) -> None:
            nonlocal g0, g1_marked
            out.extend(gset.escape)
            g0, g1_marked = gset, False

        for ch in text:
            if ch in delims:
                restore()
                out.append(ord(ch))
                continue
            if ch.isascii():
                if g0.multibyte:
                    set_g0(ascii0)
                out.append(ord(ch))
                continue
            target: _GSet | None = None
            enc: bytes | None = None
            if g1 is not None:
                enc = _encode_char(g1, ch)
                target = g1 if enc is not None else None
            if enc is None and g0.multibyte:
                enc = _encode_char(g0, ch)
                target = g0 if enc is not None else None
            if enc is None:
                for gset in self._sets:
                    enc = _encode_char(gset, ch)
                    if enc is not None:
                        target = gset
                        break
            if enc is None or target is None:
                self._fail(text)
                raise AssertionError("unreachable")
            if target.g == 0:
                if g0 is not target:
                    set_g0(target)
            else:
                if g0.multibyte:
                    set_g0(ascii0)
                if g1 is not target or (not g1_marked and g1 is not init1):
                    out.extend(target.escape)
                    g1, g1_marked = target, True
            out.extend(enc)
        restore()
        return bytes(out)


def _is_latin1(text: str) -> bool:
    return all(ord(c) < 256 for c in text)


def _decode_single(part: bytes, g1: _GSet | None) -> str:
    """Bytes with a single-byte G0 (ASCII / JIS X 0201 roman) and ``g1`` in GR."""
    codec = g1.codec if g1 is not None else "ascii"
    try:
        return part.decode(codec)
    except UnicodeDecodeError:
        if codec == "ascii":
            return part.decode("latin_1")
        log.warning("bytes not valid in %s: replaced", g1.name if g1 else "ascii")
        return part.decode(codec, "replace")


def _decode_multibyte_g0(part: bytes, g0: _GSet, g1: _GSet | None) -> str:
    """Bytes with JIS X 0208 / 0212 in G0: pairs of GL bytes, spaces, and GR bytes of G1."""
    out: list[str] = []
    for m in re.finditer(rb"([\x21-\x7e]+)|([\x20\x7f]+)|([\x80-\xff]+)", part):
        run = m.group()
        if m.group(1) is not None:
            if len(run) % 2:
                log.warning("odd number of bytes in %s text: last byte replaced", g0.name)
            high = bytes(b | 0x80 for b in run[: len(run) & ~1])
            if g0 is _JISX0212:
                high = b"".join(b"\x8f" + high[i : i + 2] for i in range(0, len(high), 2))
            out.append(high.decode("euc_jp", "replace"))
            if len(run) % 2:
                out.append("\ufffd")
        elif m.group(2) is not None:
            out.append(run.decode("ascii"))
        else:
            out.append(_decode_single(run, g1))
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def _encode_char(gset: _GSet, ch: str) -> bytes | None:
    """The bytes of ``ch`` (non-ASCII) in the set ``gset`` as invoked in DICOM, or None."""
    name = gset.name
    try:
        if name in ("ascii", "jisx0201-roman"):
            return None
        if name == "jisx0201-katakana":
            cp = ord(ch)
            return bytes([0xA1 + cp - 0xFF61]) if 0xFF61 <= cp <= 0xFF9F else None
        if name in ("jisx0208", "jisx0212"):
            enc = ch.encode("euc_jp")
            if name == "jisx0208" and len(enc) == 2 and enc[0] >= 0xA1:
                return bytes(b & 0x7F for b in enc)
            if name == "jisx0212" and len(enc) == 3 and enc[0] == 0x8F:
                return bytes(b & 0x7F for b in enc[1:])
            return None
        enc = ch.encode(gset.codec)
        if gset.multibyte:
            return enc if len(enc) == 2 and enc[0] >= 0xA1 and enc[1] >= 0xA1 else None
        return enc if len(enc) == 1 and enc[0] >= 0xA0 else None
    except UnicodeEncodeError:
        return None


@functools.lru_cache(maxsize=256)
def _cached(terms: tuple[str, ...]) -> Charsets:
    return Charsets(terms)


DEFAULT_CHARSETS = Charsets(())
"""The default character repertoire ISO-IR 6 (no (0008,0005)): decodes leniently."""

__all__ = ["DEFAULT_CHARSETS", "Charsets"]
