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
    """A DIMSE operation that ended in failure; ``status`` is the DIMSE status code.

    :meth:`from_status` builds the subclass for a status (the asyncpg pattern): catch
    :class:`DimseOutOfResources`, :class:`DimseCannotUnderstand` ... or ``DimseError`` for all.
    """

    #: the statuses a subclass stands for: exact codes and (low, high) ranges
    codes: tuple[int | tuple[int, int], ...] = ()

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        service: str | None = None,
        error_comment: str = "",
        offending: tuple[int, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        #: the service class whose status table gave the meaning ("storage", "move" ...)
        self.service = service
        #: the peer's Error Comment (0000,0902), if any
        self.error_comment = error_comment
        #: the tags the peer named: Offending Element (0000,0901), then the Attribute
        #: Identifier List (0000,1005) of an N-SET / N-GET response
        self.offending = offending

    @classmethod
    def from_status(
        cls,
        status: int,
        service: str | None = None,
        *,
        what: str = "",
        error_comment: str = "",
        offending: tuple[int, ...] = (),
    ) -> DimseError:
        """The error for a failure ``status`` of ``service`` (see
        :mod:`dicomkit.dictionary.statuses`), its message naming ``what`` failed, the status
        in hex with the service's words for it, the ``offending`` tags the peer named and its
        Error Comment, e.g. ``C-STORE failed: 0xA700 Refused: Out of Resources (disk full)``
        or ``N-SET failed: 0x0106 Invalid Attribute Value: (0018,5100) Patient Position``."""
        from dicomkit.dictionary.statuses import describe

        text = describe(status, service)
        if offending:
            text += ": " + ", ".join(tag_words(t) for t in offending)
        message = (f"{what} failed: {text}" if what else text) + (
            f" ({error_comment})" if error_comment else ""
        )
        kind = _dimse_subclass(status)
        return kind(
            message,
            status=status,
            service=service,
            error_comment=error_comment,
            offending=offending,
        )


def tag_words(tag: int) -> str:
    """A tag with its name for messages: ``(0018,5100) Patient Position`` (the tag alone when
    the dictionary does not know it)."""
    from dicomkit.dictionary._lookup import entry_for_tag

    entry = entry_for_tag(tag)
    where = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    return f"{where} {entry.name}" if entry is not None and entry.name else where


class DimseCancelled(DimseError):
    """FE00: the operation was cancelled (PS3.7 C.3)."""

    codes = (0xFE00,)


class DimseOutOfResources(DimseError):
    """A7xx Refused: Out of Resources (PS3.7 C.5.5; A701/A702 in C-MOVE/C-GET), 0213
    Resource limitation."""

    codes = ((0xA700, 0xA7FF), 0x0213)


class DimseDataSetMismatch(DimseError):
    """A9xx Error: Data Set / Identifier does not match SOP Class (PS3.7 C.5.2)."""

    codes = ((0xA900, 0xA9FF),)


class DimseCannotUnderstand(DimseError):
    """Cxxx Error: Cannot understand (C-STORE) / Failed: Unable to process (C-FIND, C-MOVE,
    C-GET) (PS3.7 C.5.1; PS3.4 B.2.3, C.4), and 0110 Processing failure (PS3.7 C.5.21)."""

    codes = ((0xC000, 0xCFFF), 0x0110)


class DimseMoveDestinationUnknown(DimseError):
    """A801 Refused: Move Destination unknown (PS3.7 C.5.4)."""

    codes = (0xA801,)


class DimseRefused(DimseError):
    """The peer will not do it: 0122 SOP Class not supported, 0124 Not authorized, 0118 No
    such SOP Class (PS3.7 C.5.6, C.5.25, C.5.20)."""

    codes = (0x0122, 0x0124, 0x0118)


class DimseNoSuchInstance(DimseError):
    """0112 No such SOP Instance, 0117 Invalid SOP Instance (PS3.7 C.5.19, C.5.12)."""

    codes = (0x0112, 0x0117)


class DimseInvalidRequest(DimseError):
    """The request itself was wrong: attribute and argument errors, duplicate instances and
    invocations, unrecognized operations (PS3.7 C.5.7-C.5.18, C.5.23, C.5.24)."""

    codes = (
        (0x0105, 0x0106),
        0x0111,
        (0x0113, 0x0115),
        0x0119,
        (0x0120, 0x0121),
        0x0123,
        (0x0210, 0x0212),
    )


_DIMSE_SUBCLASSES: tuple[type[DimseError], ...] = (
    DimseCancelled,
    DimseOutOfResources,
    DimseDataSetMismatch,
    DimseCannotUnderstand,
    DimseMoveDestinationUnknown,
    DimseRefused,
    DimseNoSuchInstance,
    DimseInvalidRequest,
)


def _dimse_subclass(status: int) -> type[DimseError]:
    for kind in _DIMSE_SUBCLASSES:
        for c in kind.codes:
            if (c[0] <= status <= c[1]) if isinstance(c, tuple) else c == status:
                return kind
    return DimseError


class ArchiveError(DicomError):
    """Failures of the archive node's store or index."""


__all__ = [
    "ArchiveError",
    "AssociationAborted",
    "AssociationRejected",
    "CharsetError",
    "DicomError",
    "DictionaryError",
    "DimseCancelled",
    "DimseCannotUnderstand",
    "DimseDataSetMismatch",
    "DimseError",
    "DimseInvalidRequest",
    "DimseMoveDestinationUnknown",
    "DimseNoSuchInstance",
    "DimseOutOfResources",
    "DimseRefused",
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
    "tag_words",
]
