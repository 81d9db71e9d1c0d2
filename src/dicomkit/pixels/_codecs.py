"""The codec registry: transfer syntax UID -> frame decoder / encoder.

A :class:`CodecRegistry` is an instance (no module-level mutable state): the default one is
built on first use by :func:`default_registry`, and every decoding or encoding call accepts its
own ``registry=``. RLE and Deflated Image Frame Compression are built in; the JPEG family, JPEG
2000, HTJ2K and JPEG XL use ``imagecodecs`` from the optional extra ``dicomkit[codecs]``.

A decoder returns one frame ``(rows, columns[, samples])`` *and the photometric
interpretation of what it returns*: JPEG codecs convert YCbCr to RGB themselves, JPEG 2000
undoes its multiple-component transform; recording that is what keeps a later YBR -> RGB step
from being applied twice.
"""

from __future__ import annotations

import functools
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from dicomkit.dictionary import uids
from dicomkit.errors import MissingCodecError, PixelDataError
from dicomkit.pixels import _native as native
from dicomkit.pixels import _rle as rle
from dicomkit.pixels import _syntax as ts
from dicomkit.pixels._info import PixelDataWarning, PixelInfo

#: decode(frame bytes, info) -> (frame array, photometric interpretation of the array)
Decoder = Callable[[bytes, PixelInfo], tuple[np.ndarray, str]]
#: encode(frame array (rows, columns[, samples]), info) -> frame bytes
Encoder = Callable[[np.ndarray, PixelInfo], bytes]

EXTRA_HINT = "pip install 'dicomkit[codecs]'"


@dataclass(frozen=True, slots=True)
class Codec:
    decode: Decoder | None = None
    encode: Encoder | None = None
    #: what the encoder writes as Photometric Interpretation for a given input one
    encoded_photometric: Callable[[str], str] | None = None


class CodecRegistry:
    """Decoders and encoders by transfer syntax UID. ``CodecRegistry()`` has the built-in
    codecs; ``CodecRegistry(builtin=False)`` starts empty."""

    def __init__(self, *, builtin: bool = True, frozen: bool = False) -> None:
        self._codecs: dict[str, Codec] = {}
        if builtin:
            for uid, codec in _builtin().items():
                self._codecs[uid] = codec
        self._frozen = frozen

    def copy(self) -> CodecRegistry:
        """A registry of your own (not frozen) starting with these codecs."""
        new = CodecRegistry(builtin=False)
        new._codecs = dict(self._codecs)
        return new

    def register(
        self,
        uid: str,
        *,
        decode: Decoder | None = None,
        encode: Encoder | None = None,
        encoded_photometric: Callable[[str], str] | None = None,
    ) -> None:
        """Add or replace the codec of a transfer syntax."""
        if self._frozen:
            raise PixelDataError(
                "the default codec registry is shared and read-only: register "
                "on default_registry().copy() and pass it as registry="
            )
        old = self._codecs.get(uid, Codec())
        self._codecs[uid] = Codec(
            decode or old.decode,
            encode or old.encode,
            encoded_photometric or old.encoded_photometric,
        )

    def decoder(self, uid: str) -> Decoder:
        """The decoder for ``uid``; ``PixelDataError`` names the syntax when there is none."""
        codec = self._codecs.get(uid)
        if codec is None or codec.decode is None:
            raise PixelDataError(
                f"no decoder for transfer syntax {uid} ({ts.lookup(uid).keyword or 'unknown'})"
            )
        return codec.decode

    def encoder(self, uid: str) -> Encoder:
        """The encoder for ``uid``; ``PixelDataError`` names the syntax when there is none."""
        codec = self._codecs.get(uid)
        if codec is None or codec.encode is None:
            raise PixelDataError(
                f"no encoder for transfer syntax {uid} ({ts.lookup(uid).keyword or 'unknown'})"
            )
        return codec.encode

    def photometric_after_encoding(self, uid: str, photometric: str) -> str:
        """The Photometric Interpretation the encoder for ``uid`` gives frames that had
        ``photometric`` (unchanged unless the codec says otherwise)."""
        codec = self._codecs.get(uid)
        if codec is None or codec.encoded_photometric is None:
            return photometric
        return codec.encoded_photometric(photometric)

    def can_decode(self, uid: str) -> bool:
        """True when a decoder is registered for the transfer syntax ``uid``."""
        return uid in self._codecs and self._codecs[uid].decode is not None

    def can_encode(self, uid: str) -> bool:
        """True when an encoder is registered for the transfer syntax ``uid``."""
        return uid in self._codecs and self._codecs[uid].encode is not None

    def decoders(self) -> list[str]:
        """The transfer syntax UIDs that can be decoded, sorted."""
        return sorted(u for u, c in self._codecs.items() if c.decode is not None)

    def encoders(self) -> list[str]:
        """The transfer syntax UIDs that can be encoded, sorted."""
        return sorted(u for u, c in self._codecs.items() if c.encode is not None)


@functools.lru_cache(maxsize=1)
def default_registry() -> CodecRegistry:
    """The shared, read-only registry with the built-in codecs, created on first use. Register
    your own codecs on ``default_registry().copy()`` and pass that as ``registry=``."""
    return CodecRegistry(frozen=True)


# -- helpers ---------------------------------------------------------------------------------


def _imagecodecs(what: str) -> ModuleType:
    try:
        import imagecodecs
    except ImportError:
        raise MissingCodecError(f"decoding {what} needs imagecodecs: {EXTRA_HINT}") from None
    return imagecodecs


def _call(name: str, what: str, *args: Any, **kw: Any) -> Any:
    mod = _imagecodecs(what)
    fn = getattr(mod, name, None)
    if fn is None:
        raise MissingCodecError(f"{what} needs imagecodecs with {name}: {EXTRA_HINT}")
    try:
        return fn(*args, **kw)
    except Exception as exc:  # imagecodecs raises its own per-codec error classes
        if exc.__class__.__name__.endswith("Error") or isinstance(exc, (ValueError, RuntimeError)):
            raise PixelDataError(f"{what}: {exc}") from exc
        raise


def _shape(arr: np.ndarray, info: PixelInfo, planar: bool = False) -> np.ndarray:
    """Codec output -> ``(rows, columns[, samples])``."""
    a = np.asarray(arr)
    r, c, s = info.rows, info.columns, info.samples_per_pixel
    if a.ndim == 3 and s == 1 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 3 and planar and a.shape[0] == s and a.shape[1:] == (r, c):
        a = a.transpose(1, 2, 0)
    if a.shape[:2] != (r, c):
        if a.size == r * c * s:
            a = a.reshape(info.frame_shape)
        elif a.size < r * c * s and a.ndim >= 2 and a.shape[2:] == info.frame_shape[2:]:
            # A frame smaller than Rows x Columns (narrower, as some writers encode): its
            # samples fill the frame in order and the rest is zero, as DCMTK's decoder leaves
            # it; said with a warning.
            warnings.warn(
                f"the compressed frame is {a.shape[1]} x {a.shape[0]} pixels, smaller than "
                f"Columns x Rows {c} x {r}: its samples fill the frame in order, the rest is "
                "zeros (as DCMTK does)",
                PixelDataWarning,
                stacklevel=4,
            )
            padded = np.zeros(info.frame_shape, dtype=a.dtype)
            padded.reshape(-1)[: a.size] = a.reshape(-1)
            a = padded
        else:
            raise PixelDataError(
                f"the codec returned a {a.shape} frame, {info.frame_shape} expected"
            )
    return a


# -- RLE and deflate (built in) ---------------------------------------------------------------


def decode_rle(data: bytes, info: PixelInfo, *, accelerated: bool = True) -> tuple[np.ndarray, str]:
    """RLE Lossless, ours; ``accelerated=False`` keeps PackBits in numpy even when imagecodecs
    is installed (register ``functools.partial(decode_rle, accelerated=False)`` for that)."""
    if info.bits_allocated == 1:
        # One segment of the frame's bits packed eight to a byte (PS3.5 8.1.1, G.2).
        npix = info.rows * info.columns * info.samples_per_pixel
        packed = rle.decode_frame(data, 1, (npix + 7) // 8, 1, 8, accelerated=accelerated)
        one = info.replace(number_of_frames=1, transfer_syntax=uids.ExplicitVRLittleEndian)
        return native.unpack_frame(packed.tobytes(), one, 0), info.photometric_interpretation
    frame = rle.decode_frame(
        data,
        info.rows,
        info.columns,
        info.samples_per_pixel,
        info.bits_allocated,
        accelerated=accelerated,
    )
    if info.samples_per_pixel == 1:
        frame = frame[..., 0]
    return native.fix_bits(frame, info), info.photometric_interpretation


def encode_rle(frame: np.ndarray, info: PixelInfo) -> bytes:
    if info.bits_allocated == 1:
        packed = np.packbits(frame.astype(bool).reshape(-1), bitorder="little")
        return rle.encode_frame(packed.reshape(1, -1), 8)
    return rle.encode_frame(frame, info.bits_allocated)


def decode_deflate(data: bytes, info: PixelInfo) -> tuple[np.ndarray, str]:
    """Deflated Image Frame Compression: each frame is a deflated native frame."""
    try:
        raw = zlib.decompressobj(-zlib.MAX_WBITS).decompress(data)
    except zlib.error:
        try:
            raw = zlib.decompress(data)
        except zlib.error as exc:
            raise PixelDataError(f"deflated frame: {exc}") from None
    one = info.replace(number_of_frames=1, transfer_syntax=uids.ExplicitVRLittleEndian)
    return native.unpack_frame(raw, one, 0), info.photometric_interpretation


def encode_deflate(frame: np.ndarray, info: PixelInfo) -> bytes:
    one = info.replace(number_of_frames=1, transfer_syntax=uids.ExplicitVRLittleEndian)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return comp.compress(native.pack(frame, one)) + comp.flush()


def decode_uncompressed(data: bytes, info: PixelInfo) -> tuple[np.ndarray, str]:
    one = info.replace(number_of_frames=1, transfer_syntax=uids.ExplicitVRLittleEndian)
    return native.unpack_frame(data, one, 0), info.photometric_interpretation


# -- imagecodecs-backed codecs ----------------------------------------------------------------


def _jpeg_sof(data: bytes) -> int:
    """The SOF marker of a JPEG stream (0xC0..0xCF), 0 when none is found."""
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return 0


def decode_jpeg(data: bytes, info: PixelInfo) -> tuple[np.ndarray, str]:
    """JPEG baseline / extended (8 and 12 bit) and lossless (processes 14, SV1)."""
    sof = _jpeg_sof(data)
    if sof in (0xC3, 0xC7):  # lossless: no colour transform is applied
        try:
            arr = _call("jpeg8_decode", "JPEG lossless", data)
        except PixelDataError:
            arr = _call("ljpeg_decode", "JPEG lossless", data)
        return native.fix_bits(_shape(arr, info), info), info.photometric_interpretation
    arr = _call("jpeg8_decode", "JPEG", data)
    photometric = info.photometric_interpretation
    if info.samples_per_pixel == 3 and photometric.startswith("YBR"):
        photometric = "RGB"  # libjpeg converts YCbCr to RGB
    return native.fix_bits(_shape(arr, info), info), photometric


def decode_jpegls(data: bytes, info: PixelInfo) -> tuple[np.ndarray, str]:
    arr = _call("jpegls_decode", "JPEG-LS", data)
    return native.fix_bits(_shape(arr, info), info), info.photometric_interpretation


def decode_j2k(data: bytes, info: PixelInfo) -> tuple[np.ndarray, str]:
    arr = _call("jpeg2k_decode", "JPEG 2000", data)
    photometric = info.photometric_interpretation
    if photometric in ("YBR_ICT", "YBR_RCT"):
        photometric = "RGB"  # the decoder undid the multiple-component transform
    return native.fix_bits(_shape(arr, info), info), photometric


def decode_htj2k(data: bytes, info: PixelInfo) -> tuple[np.ndarray, str]:
    try:
        arr = _call("jpeg2k_decode", "HTJ2K", data)
    except PixelDataError:
        arr = _call("htj2k_decode", "HTJ2K", data)
    photometric = info.photometric_interpretation
    if photometric in ("YBR_ICT", "YBR_RCT"):
        photometric = "RGB"
    return native.fix_bits(_shape(arr, info), info), photometric


def decode_jpegxl(data: bytes, info: PixelInfo) -> tuple[np.ndarray, str]:
    arr = _call("jpegxl_decode", "JPEG XL", data)
    photometric = info.photometric_interpretation
    if info.samples_per_pixel == 3 and photometric.startswith("YBR"):
        photometric = "RGB"
    return native.fix_bits(_shape(arr, info), info), photometric


def _unsigned(frame: np.ndarray, info: PixelInfo) -> np.ndarray:
    """Signed samples as the unsigned BitsStored-bit patterns lossless codecs store."""
    if frame.dtype.kind == "i":
        mask = (1 << info.bits_stored) - 1
        return (frame.astype(np.int64) & mask).astype(frame.dtype.str.replace("i", "u"))
    return frame


def encode_jpegls(frame: np.ndarray, info: PixelInfo) -> bytes:
    # imagecodecs writes the precision P of the container (8 or 16 bits), so signed samples
    # keep their full two's complement pattern: decoders that sign-extend from Bits Stored
    # and those that reinterpret the container both get the right values.
    a = np.ascontiguousarray(frame)
    if a.dtype.kind == "i":
        a = a.view(a.dtype.str.replace("i", "u"))
    if a.dtype.itemsize > 2:
        raise PixelDataError("JPEG-LS encodes at most 16 bits per sample")
    return bytes(_call("jpegls_encode", "JPEG-LS", a, level=0))


def encode_j2k(frame: np.ndarray, info: PixelInfo) -> bytes:
    a = np.ascontiguousarray(frame)
    if a.dtype.itemsize > 2:
        raise PixelDataError("JPEG 2000 encodes at most 16 bits per sample here")
    return bytes(
        _call(
            "jpeg2k_encode",
            "JPEG 2000",
            a,
            level=0,
            codecformat="J2K",
            reversible=True,
            mct=False,
            bitspersample=info.bits_stored,
        )
    )


def encode_jpeg_lossless(frame: np.ndarray, info: PixelInfo) -> bytes:
    a = np.ascontiguousarray(_unsigned(frame, info))
    if a.dtype.itemsize > 2:
        raise PixelDataError("JPEG lossless encodes at most 16 bits per sample")
    return bytes(
        _call(
            "jpeg8_encode",
            "JPEG lossless",
            a,
            lossless=True,
            predictor=1,
            bitspersample=info.bits_stored,
            colorspace="RGB" if a.ndim == 3 else None,
        )
    )


def encode_htj2k(frame: np.ndarray, info: PixelInfo) -> bytes:
    a = np.ascontiguousarray(frame)
    return bytes(_call("htj2k_encode", "HTJ2K", a, reversible=True))


def _builtin() -> dict[str, Codec]:
    jpeg = Codec(decode_jpeg)
    j2k = Codec(decode_j2k)
    codecs = {
        uids.RLELossless: Codec(decode_rle, encode_rle),
        uids.DeflatedImageFrameCompression: Codec(decode_deflate, encode_deflate),
        uids.EncapsulatedUncompressedExplicitVRLittleEndian: Codec(decode_uncompressed),
        uids.JPEGBaseline8Bit: jpeg,
        uids.JPEGExtended12Bit: jpeg,
        uids.JPEGLossless: Codec(decode_jpeg, encode_jpeg_lossless),
        uids.JPEGLosslessSV1: Codec(decode_jpeg, encode_jpeg_lossless),
        uids.JPEGLSLossless: Codec(decode_jpegls, encode_jpegls),
        uids.JPEGLSNearLossless: Codec(decode_jpegls),
        uids.JPEG2000Lossless: Codec(decode_j2k, encode_j2k),
        uids.JPEG2000: j2k,
        uids.JPEG2000MCLossless: j2k,
        uids.JPEG2000MC: j2k,
        uids.HTJ2KLossless: Codec(decode_htj2k, encode_htj2k),
        uids.HTJ2KLosslessRPCL: Codec(decode_htj2k),
        uids.HTJ2K: Codec(decode_htj2k),
        uids.JPEGXLLossless: Codec(decode_jpegxl),
        uids.JPEGXLJPEGRecompression: Codec(decode_jpegxl),
        uids.JPEGXL: Codec(decode_jpegxl),
    }
    return codecs
