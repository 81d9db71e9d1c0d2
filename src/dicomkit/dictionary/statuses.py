"""DIMSE status codes (PS3.7 Annex C and the service classes of PS3.4), from the table generated
by ``tools/gen_dictionary.py`` (``_statuses.py``; constants in :mod:`.status_codes`).

Every DIMSE response carries a Status (0000,0900). Its *category* decides what happens next:
success and warning end an operation well, pending promises more responses (C-FIND, C-GET,
C-MOVE), cancel ends it after a C-CANCEL-RQ, failure ends it badly. The same code can mean
different things in different services (B000 is "Coercion of Data Elements" for C-STORE and
"Sub-operations complete, one or more failures" for C-MOVE), so lookups take the service::

    >>> from dicomkit.dictionary.statuses import describe
    >>> describe(0xA700, "storage")
    '0xA700 Refused: Out of Resources'
    >>> describe(0xB000, "move")
    '0xB000 Warning: Sub-operations complete, one or more failures'

A code no row lists goes by its range (PS3.7 C): Axxx and Cxxx failures, Bxxx warnings; any
other unlisted code is UNKNOWN (read as a failure by :func:`is_failure`).
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from dicomkit.dictionary import uids
from dicomkit.dictionary._statuses import STATUSES

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # cheaper to import (see dicomkit._dataclass)
    from dicomkit._dataclass import dataclass

__all__ = [
    "SERVICES",
    "Category",
    "StatusInfo",
    "category",
    "describe",
    "is_cancel",
    "is_failure",
    "is_final",
    "is_pending",
    "is_success",
    "is_warning",
    "service_for",
    "status_info",
]


class Category(StrEnum):
    """The five status types of PS3.7 Annex C, plus UNKNOWN for codes outside them."""

    SUCCESS = "success"
    WARNING = "warning"
    PENDING = "pending"
    CANCEL = "cancel"
    FAILURE = "failure"
    UNKNOWN = "unknown"


#: Service classes with codes of their own (PS3.4); ``None``/"" means only PS3.7 Annex C.
SERVICES: Final = (
    "storage", "find", "move", "get", "commitment", "mpps", "ups", "verification",
    "event-log", "relevant-patient", "media-creation", "rt-verification", "print",
)  # fmt: skip
_PREFIXES = (
    "Success", "Warning", "Pending", "Cancel", "Refused", "Error", "Failed", "Failure", "Unknown"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """One status code as a service class defines it."""

    code: int
    category: Category
    keyword: str
    meaning: str
    #: the service whose table gave the meaning ("" for PS3.7 Annex C)
    service: str = ""
    #: where the standard says so
    citation: str = ""

    @property
    def words(self) -> str:
        """The meaning, led by its category when the meaning does not say it already."""
        if self.meaning.startswith(_PREFIXES):
            return self.meaning
        return f"{self.category.value.capitalize()}: {self.meaning}"

    def __str__(self) -> str:
        return f"0x{self.code:04X} {self.words}"


# service -> rows (low, high, category, keyword, meaning, citation), narrowest range first
_BY_SERVICE: dict[str, list[tuple[int, int, Category, str, str, str]]] = {}
for _svc, _low, _high, _cat, _kw, _meaning, _cite in STATUSES:
    _BY_SERVICE.setdefault(_svc, []).append((_low, _high, Category(_cat), _kw, _meaning, _cite))
for _rows in _BY_SERVICE.values():
    _rows.sort(key=lambda r: r[1] - r[0])
del _svc, _low, _high, _cat, _kw, _meaning, _cite, _rows


def _find(code: int, service: str) -> StatusInfo | None:
    for low, high, cat, keyword, meaning, cite in _BY_SERVICE.get(service, ()):
        if low <= code <= high:
            return StatusInfo(code, cat, keyword, meaning, service, cite)
    return None


@lru_cache(maxsize=512)
def status_info(code: int, service: str | None = None) -> StatusInfo:
    """Category, keyword and meaning of ``code`` in ``service`` (one of :data:`SERVICES`, or
    ``None`` for the general meaning of PS3.7 Annex C)."""
    found = (_find(code, service) if service else None) or _find(code, "")
    return found or StatusInfo(code, Category.UNKNOWN, "", "Unknown status code")


def category(code: int, service: str | None = None) -> Category:
    """The category of a status code (PS3.7 Annex C)."""
    return status_info(code, service).category


def describe(code: int, service: str | None = None) -> str:
    """One line for logs, exceptions and CLI output: ``0xA700 Refused: Out of Resources``."""
    return str(status_info(code, service))


def is_success(code: int) -> bool:
    """0000: the operation completed."""
    return code == 0x0000


def is_warning(code: int, service: str | None = None) -> bool:
    """A warning of ``service`` (or of PS3.7 C when none is given)."""
    return category(code, service) is Category.WARNING


def is_pending(code: int) -> bool:
    """FF00/FF01: more responses follow."""
    return code in (0xFF00, 0xFF01)


def is_cancel(code: int) -> bool:
    """FE00: the operation was cancelled."""
    return code == 0xFE00


def is_failure(code: int, service: str | None = None) -> bool:
    """True for failures and for codes no category claims (the safe reading)."""
    return category(code, service) in (Category.FAILURE, Category.UNKNOWN)


def is_final(code: int) -> bool:
    """True when no further response follows for the same request (not pending)."""
    return not is_pending(code)


_BY_COMMAND: Final = {
    "C-STORE": "storage",
    "C-FIND": "find",
    "C-MOVE": "move",
    "C-GET": "get",
    "C-ECHO": "verification",
}
_UPS: Final = frozenset(
    {
        uids.UnifiedProcedureStepPush,
        uids.UnifiedProcedureStepWatch,
        uids.UnifiedProcedureStepPull,
        uids.UnifiedProcedureStepEvent,
        uids.UnifiedProcedureStepQuery,
        uids.UPSGlobalSubscriptionInstance,
        uids.UPSFilteredGlobalSubscriptionInstance,
    }
)
#: Print Management (PS3.4 H): the SOP classes of both Meta SOP classes, and the two Meta
#: classes themselves (the abstract syntax a request arrives on)
_PRINT: Final = frozenset(
    {
        uids.BasicFilmSession,
        uids.BasicFilmBox,
        uids.BasicGrayscaleImageBox,
        uids.BasicColorImageBox,
        uids.BasicGrayscalePrintManagementMeta,
        uids.BasicColorPrintManagementMeta,
        uids.PrintJob,
        uids.BasicAnnotationBox,
        uids.Printer,
        uids.PresentationLUT,
    }
)
_BY_SOP_CLASS: Final = {
    uids.ModalityPerformedProcedureStep: "mpps",
    **dict.fromkeys(_PRINT, "print"),
    uids.StorageCommitmentPushModel: "commitment",
    **dict.fromkeys(_UPS, "ups"),
    uids.ProceduralEventLogging: "event-log",
    uids.GeneralRelevantPatientInformationQuery: "relevant-patient",
    uids.BreastImagingRelevantPatientInformationQuery: "relevant-patient",
    uids.CardiacRelevantPatientInformationQuery: "relevant-patient",
    uids.MediaCreationManagement: "media-creation",
    uids.RTConventionalMachineVerification: "rt-verification",
    uids.RTIonMachineVerification: "rt-verification",
}


def service_for(command: str | None = None, sop_class: str | None = None) -> str | None:
    """The service whose status table applies to a message: by SOP class for the normalized
    services (UPS, MPPS, Storage Commitment, Print Management), else by command ("C-STORE", "C-MOVE-RSP" ...)."""
    if sop_class:
        found = _BY_SOP_CLASS.get(sop_class.rstrip("\x00 "))
        if found is not None:
            return found
    if command:
        return _BY_COMMAND.get(command.upper().removesuffix("-RSP").removesuffix("-RQ"))
    return None
