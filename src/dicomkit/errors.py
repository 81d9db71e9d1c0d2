"""The dicomkit error hierarchy: one rooted tree.

::

    DicomError
    ├── InvalidDicomError            malformed file or data set bytes (carries offset, tag)
    │   └── TruncatedDataError       input ended before a declared length
    ├── InvalidValueError(ValueError) a value that does not fit its VR / VM
    ├── CharsetError                 undecodable or unencodable text for the character set
    ├── DictionaryError(KeyError)    unknown tag or keyword
    ├── PixelDataError               pixel data that cannot be decoded / encoded
    │   └── MissingCodecError        a codec that needs an optional extra
    ├── ValidationError              an IOD that breaks the standard's rules
    ├── NetworkError
    │   ├── ProtocolError            PDU / state machine violation
    │   │   ├── LocalProtocolError   we were asked to do something illegal
    │   │   └── RemoteProtocolError  the peer sent something illegal
    │   ├── AssociationRejected      A-ASSOCIATE-RJ (result, source, reason)
    │   ├── AssociationAborted       A-ABORT / A-P-ABORT (source, reason)
    │   ├── TransportError           socket-level failure, timeout
    │   │   └── NetworkTimeout
    │   └── DimseError               a DIMSE failure; carries the status
    └── ArchiveError                 store / index failures of the archive node

Standard-library errors are translated at the boundary (e.g. ``OSError`` from a socket
becomes :class:`TransportError`, ``struct.error`` becomes :class:`InvalidDicomError`).
"""

from __future__ import annotations


class DicomError(Exception):
    """Root of every error dicomkit raises on purpose."""


class InvalidDicomError(DicomError):
    """Malformed DICOM bytes. ``offset`` is the byte offset, ``tag`` the element (int)."""

    def __init__(self, message: str, *, offset: int | None = None, tag: int | None = None) -> None:
        self.offset = offset
        self.tag = tag
        where = []
        if tag is not None:
            where.append(f"tag ({tag >> 16:04X},{tag & 0xFFFF:04X})")
        if offset is not None:
            where.append(f"offset {offset}")
        full = f"{message} at {', '.join(where)}" if where else message
        super().__init__(full)
        self.message = message


class TruncatedDataError(InvalidDicomError):
    """The input ended before a declared length was satisfied."""


class InvalidValueError(DicomError, ValueError):
    """A value that does not fit its VR or VM."""


class CharsetError(DicomError, ValueError):
    """Text that cannot be decoded or encoded with the Specific Character Set."""


class DictionaryError(DicomError, KeyError):
    """An unknown tag or keyword."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0]) if self.args else ""


class PixelDataError(DicomError):
    """Pixel data that cannot be decoded or encoded."""


class MissingCodecError(PixelDataError):
    """A transfer syntax whose codec needs an optional extra (``pip install dicomkit[codecs]``)."""


class ValidationError(DicomError):
    """An IOD or module that breaks the standard's rules."""


class NetworkError(DicomError):
    """Base of all networking errors."""


class ProtocolError(NetworkError):
    """A violation of the upper-layer protocol (PS3.8) or DIMSE (PS3.7)."""


class LocalProtocolError(ProtocolError):
    """We were asked to do something the protocol does not allow in this state."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something illegal (malformed PDU, unexpected PDU for the state)."""


class AssociationRejected(NetworkError):
    """A-ASSOCIATE-RJ: ``result`` (1 permanent, 2 transient), ``source`` and ``reason``."""

    def __init__(self, message: str, *, result: int = 0, source: int = 0, reason: int = 0) -> None:
        super().__init__(message)
        self.result = result
        self.source = source
        self.reason = reason


class AssociationAborted(NetworkError):
    """A-ABORT or A-P-ABORT: ``source`` and ``reason`` as in PS3.8 9.3.8."""

    def __init__(self, message: str, *, source: int = 0, reason: int = 0) -> None:
        super().__init__(message)
        self.source = source
        self.reason = reason


class TransportError(NetworkError):
    """Socket-level failure: connection refused or reset, TLS failure."""


class NetworkTimeout(TransportError):
    """A connect, ACSE, DIMSE or idle timeout expired."""


class DimseError(NetworkError):
    """A DIMSE operation that ended in failure; ``status`` is the DIMSE status code."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ArchiveError(DicomError):
    """Failures of the archive node's store or index."""


__all__ = [
    "ArchiveError",
    "AssociationAborted",
    "AssociationRejected",
    "CharsetError",
    "DicomError",
    "DictionaryError",
    "DimseError",
    "InvalidDicomError",
    "InvalidValueError",
    "LocalProtocolError",
    "MissingCodecError",
    "NetworkError",
    "NetworkTimeout",
    "PixelDataError",
    "ProtocolError",
    "RemoteProtocolError",
    "TransportError",
    "TruncatedDataError",
    "ValidationError",
]
