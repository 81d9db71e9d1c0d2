"""General purpose Media Storage Application Profiles (PS3.11) and conforming files to them.

A profile fixes the transfer syntaxes the files of a File-set may use (PS3.11 Annex D and the
general purpose DVD / BD / USB profiles that follow it):

- STD-GEN-CD, STD-GEN-DVD-RAM: Explicit VR Little Endian only;
- STD-GEN-DVD-JPEG, STD-GEN-BD-JPEG, STD-GEN-USB-JPEG: also JPEG Baseline (1.2.840.10008.1.2.4.50),
  JPEG Extended (.51) and JPEG Lossless SV1 (.70);
- STD-GEN-DVD-J2K, STD-GEN-BD-J2K, STD-GEN-USB-J2K: also JPEG 2000 (.90 lossless, .91).

:func:`plan_syntax` decides what a file in a given syntax needs: nothing, a lossless
re-encoding to Explicit VR Little Endian (implicit VR, big endian and deflated files), a
decompression (compressed files the profile does not allow, when a decoder is installed), an
optional lossless compression (``compress`` with a JPEG / JPEG 2000 profile), or a refusal
with the reason. :func:`conform` writes the converted copy.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dicomkit.dictionary import syntaxes, uids
from dicomkit.errors import DicomError

__all__ = ["PROFILES", "Plan", "Profile", "conform", "get_profile", "plan_syntax"]

EXPLICIT_LE = uids.ExplicitVRLittleEndian
_NATIVE = syntaxes.NATIVE  # implicit / explicit, either byte order, deflated
_JPEG = frozenset({uids.JPEGBaseline8Bit, uids.JPEGExtended12Bit, uids.JPEGLosslessSV1})
_J2K = frozenset({uids.JPEG2000Lossless, uids.JPEG2000})


@dataclass(frozen=True, slots=True)
class Profile:
    """One application profile: its transfer syntaxes, and the lossless compressed syntax
    ``compress`` encodes to (None when the profile has no compression)."""

    name: str
    title: str
    syntaxes: frozenset[str]
    lossless: str | None = None


def _profiles() -> dict[str, Profile]:
    plain = frozenset({EXPLICIT_LE})
    out = {
        "STD-GEN-CD": Profile("STD-GEN-CD", "General Purpose CD-R Interchange", plain),
        "STD-GEN-DVD-RAM": Profile(
            "STD-GEN-DVD-RAM", "General Purpose Interchange on DVD-RAM Media", plain
        ),
    }
    for media, title in (("DVD", "DVD"), ("BD", "BD"), ("USB", "USB and Flash Memory")):
        out[f"STD-GEN-{media}-JPEG"] = Profile(
            f"STD-GEN-{media}-JPEG",
            f"General Purpose {title} Interchange with JPEG",
            plain | _JPEG,
            uids.JPEGLosslessSV1,
        )
        out[f"STD-GEN-{media}-J2K"] = Profile(
            f"STD-GEN-{media}-J2K",
            f"General Purpose {title} Interchange with JPEG 2000",
            plain | _J2K,
            uids.JPEG2000Lossless,
        )
    return out


#: The profiles :func:`~dicomkit.media._fileset.create_dicomdir` can make, by name.
PROFILES: dict[str, Profile] = _profiles()


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (case-insensitive), or a :class:`DicomError` listing them."""
    got = PROFILES.get(name.strip().upper())
    if got is None:
        raise DicomError(
            f"unknown media profile {name!r}: use one of {', '.join(PROFILES)} (PS3.11)"
        )
    return got


@dataclass(frozen=True, slots=True)
class Plan:
    """What an instance needs to join a File-set of some profile: ``target`` is the transfer
    syntax it will have (None: refused), ``convert`` whether the file must be re-encoded,
    ``reason`` the words for a log line or a refusal."""

    target: str | None
    convert: bool
    reason: str = ""


def _name(uid: str) -> str:
    from dicomkit.dictionary import uid_info

    info = uid_info(uid)
    return f"{info.name} ({uid})" if info is not None else uid


def plan_syntax(
    ts: str,
    profile: Profile,
    *,
    has_pixels: bool,
    compress: bool = False,
    registry: Any = None,
) -> Plan:
    """Decide how a file in transfer syntax ``ts`` joins a File-set of ``profile``."""
    # compress: native images, and compressed ones the profile does not allow (decoded first)
    wants = compress and has_pixels and profile.lossless is not None
    if wants and (ts in _NATIVE or (ts not in profile.syntaxes and _can(registry, "decode", ts))):
        lossless = str(profile.lossless)
        return Plan(lossless, True, f"compressed to {_name(lossless)}")
    if ts in profile.syntaxes:
        return Plan(ts, False)
    if ts in _NATIVE:
        return Plan(EXPLICIT_LE, True, f"{_name(ts)} re-encoded as Explicit VR Little Endian")
    if not has_pixels:
        return Plan(EXPLICIT_LE, True, f"{_name(ts)} re-encoded as Explicit VR Little Endian")
    if _can(registry, "decode", ts):
        return Plan(EXPLICIT_LE, True, f"{_name(ts)} decompressed to Explicit VR Little Endian")
    return Plan(
        None,
        False,
        f"its transfer syntax {_name(ts)} is not allowed by {profile.name} and no decoder is "
        "installed to convert it (install the codec extra, or choose a profile that allows it)",
    )


def _can(registry: Any, what: str, ts: str) -> bool:
    if registry is None:
        from dicomkit.pixels._codecs import default_registry

        registry = default_registry()
    return bool(registry.can_decode(ts) if what == "decode" else registry.can_encode(ts))


def can_compress(profile: Profile, registry: Any = None) -> str | None:
    """Why ``compress`` cannot be used with ``profile`` (None when it can)."""
    if profile.lossless is None:
        return f"{profile.name} allows no compression"
    if not _can(registry, "encode", profile.lossless):
        return (
            f"no encoder for {_name(profile.lossless)} is installed "
            "(install the codec extra: pip install 'dicomkit[codecs]')"
        )
    return None


def conform(src: Path, dest: Path, target: str, registry: Any = None) -> str:
    """Write ``src`` to ``dest`` in transfer syntax ``target`` (a new file; the source is not
    touched). A compression that fails for this image (an encoder refusing its bit depth ...)
    falls back to Explicit VR Little Endian, which every profile allows. Returns the transfer
    syntax written."""
    import dicomkit
    from dicomkit.errors import PixelDataError
    from dicomkit.pixels._encode import compress, decompress
    from dicomkit.pixels._info import PIXEL_TAGS

    ds = dicomkit.read(src)
    source = str(ds.transfer_syntax or EXPLICIT_LE)
    if any(t in ds for t in PIXEL_TAGS):
        encapsulated = syntaxes.get(source).encapsulated
        if target != EXPLICIT_LE and target != source:
            try:
                compress(ds, target, registry=registry)
            except PixelDataError:
                ds = dicomkit.read(src)
                target = EXPLICIT_LE
                if encapsulated:
                    decompress(ds, registry=registry)
        elif encapsulated and target == EXPLICIT_LE:
            decompress(ds, registry=registry)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        dicomkit.write(ds, tmp, transfer_syntax=target)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
