"""Transfer syntax conversion for sending: which syntaxes a data set can go out in, and the
conversion itself (PS3.5 A.4, PS3.4 B.4.1: an SCU or C-MOVE/C-GET SCP may send an instance in
another syntax as long as no information is lost the receiver relies on).

Shared by the storage SCU (:func:`dicomkit.services._storage.store`) and the Q/R SCP's
sub-operations (:mod:`dicomkit.services._qr_scp`):

- a native data set can be sent in any other native syntax, or compressed with a lossless
  encoder dicomkit has (:func:`lossless_encoders`);
- a compressed one can be decompressed to a native syntax when a decoder is available, and a
  lossless one re-encoded with another lossless encoder; lossy data is never re-compressed
  (each lossy step loses more), only decompressed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import Any

from dicomkit.dictionary import syntaxes
from dicomkit.dictionary.syntaxes import NATIVE
from dicomkit.dictionary.uids import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)
from dicomkit.errors import MissingCodecError

__all__ = [
    "NATIVE_ORDER",
    "alternatives",
    "convert",
    "is_lossless",
    "lossless_encoders",
    "pick",
    "proposed_lossless",
]

#: Native syntaxes a data set is converted to when the peer lacks its own, best first.
NATIVE_ORDER: tuple[str, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
)
#: Lossless compressed syntaxes, best first (among those an encoder is registered for).
_LOSSLESS_ORDER: tuple[str, ...] = (JPEGLSLossless, JPEG2000Lossless, JPEGLosslessSV1, RLELossless)


def _registry() -> Any:
    from dicomkit.pixels._codecs import default_registry

    return default_registry()


def is_lossless(ts: str) -> bool:
    """Whether data in ``ts`` is exact (a native syntax, or a lossless-only compressed one)."""
    if ts in NATIVE:
        return True
    found = syntaxes.lookup(ts)
    return found is not None and found.encapsulated and not found.lossy


def lossless_encoders() -> list[str]:
    """The lossless compressed syntaxes dicomkit can encode, best first."""
    reg = _registry()
    return [uid for uid in _LOSSLESS_ORDER if reg.can_encode(uid)]


def proposed_lossless() -> list[str]:
    """The lossless compressed syntaxes a storage SCU proposes as fallbacks, best first,
    decided without loading the pixel stack (numpy and the codecs cost ~140 ms at start-up, on
    every `dicomkit store`, while a peer takes these only when it refuses the file's own syntax
    and the native ones): RLE Lossless, whose encoder is dicomkit's own, always; the others
    when imagecodecs is installed. Should a codec still lack an encoder, :func:`convert` raises
    MissingCodecError for that file."""
    if importlib.util.find_spec("imagecodecs") is None:
        return [RLELossless]
    return list(_LOSSLESS_ORDER)


def alternatives(ts: str, *, compressed: bool = True) -> list[str]:
    """The syntaxes other than ``ts`` a data set stored in ``ts`` can be converted to, best
    first: the native ones (when ``ts`` is native or can be decoded), then -- with
    ``compressed`` and when the source is exact -- the lossless encoders."""
    if ts not in NATIVE and not _registry().can_decode(ts):
        return []
    out = [t for t in NATIVE_ORDER if t != ts]
    if compressed and is_lossless(ts):
        out += [t for t in lossless_encoders() if t != ts]
    return out


def convert(ds: Any, ts: str) -> Any:
    """``ds`` with its pixel data in ``ts`` (decoded, and encoded again for a compressed
    ``ts``), in place; returned for convenience. Raises
    :class:`~dicomkit.errors.MissingCodecError` when no codec can do it."""
    source = str(ds.transfer_syntax or ExplicitVRLittleEndian)
    if source == ts:
        return ds
    if ts in NATIVE:
        if source not in NATIVE:
            from dicomkit.pixels._encode import decompress

            decompress(ds)
        _set_syntax(ds, ts)
        return ds
    if not is_lossless(source) and not syntaxes.get(ts).lossy:
        raise MissingCodecError(
            f"{syntaxes.get(source).name} data cannot be sent as {syntaxes.get(ts).name}: "
            "re-encoding lossy pixel data would pass it off as exact; accept a native syntax"
        )
    from dicomkit.pixels._encode import compress

    if _has_pixels(ds):
        compress(ds, ts)
    else:
        _set_syntax(ds, ts)
    return ds


def pick(offered: Iterable[str], ts: str) -> str | None:
    """The syntax to send data stored in ``ts`` in, among ``offered`` (the accepted ones):
    ``ts`` itself, else the best of :func:`alternatives`; ``None`` when none fits."""
    have = set(offered)
    if ts in have:
        return ts
    return next((t for t in alternatives(ts) if t in have), None)


def _has_pixels(ds: Any) -> bool:
    from dicomkit.dictionary import tags

    return tags.PixelData in ds


def _set_syntax(ds: Any, ts: str) -> None:
    from dicomkit.pixels._encode import set_transfer_syntax

    set_transfer_syntax(ds, ts)
