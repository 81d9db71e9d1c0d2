"""DIMSE status codes as data (PS3.7 Annex C, with the service-specific codes of PS3.4).

Every DIMSE response carries a Status (0000,0900). Its *category* decides what happens next:
success and warning end an operation well, pending promises more responses (C-FIND, C-GET,
C-MOVE), cancel ends it after a C-CANCEL-RQ, and failure ends it badly. A code that is not
listed is classified by its range (PS3.7 C.1-C.5): A000-AFFF and C000-CFFF are failures,
B000-BFFF warnings, FF00/FF01 pending, FE00 cancel, anything else unknown (treated as failure
by :func:`is_failure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """The five status types of PS3.7 Annex C (plus UNKNOWN for codes outside them)."""

    SUCCESS = "success"
    WARNING = "warning"
    PENDING = "pending"
    CANCEL = "cancel"
    FAILURE = "failure"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """One status code with its category, short keyword and meaning."""

    code: int
    category: Category
    keyword: str
    meaning: str

    def __str__(self) -> str:
        return f"0x{self.code:04X} {self.category.value}: {self.meaning}"


# Named codes. A value that differs by service (e.g. A700 for storage vs Q/R) is given the
# general meaning; the per-range fallbacks below cover the rest of each block.
SUCCESS = 0x0000
WARNING_OPTIONAL_ATTRIBUTES_NOT_SUPPORTED = 0x0001
ATTRIBUTE_LIST_ERROR = 0x0107
ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116
COERCION_OF_DATA_ELEMENTS = 0xB000
ELEMENTS_DISCARDED = 0xB006
DATASET_DOES_NOT_MATCH_SOP_CLASS_WARNING = 0xB007
PENDING = 0xFF00
PENDING_WARNING = 0xFF01
CANCEL = 0xFE00
NO_SUCH_ATTRIBUTE = 0x0105
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_SOP_INSTANCE = 0x0112
NO_SUCH_EVENT_TYPE = 0x0113
NO_SUCH_ARGUMENT = 0x0114
INVALID_ARGUMENT_VALUE = 0x0115
INVALID_OBJECT_INSTANCE = 0x0117
NO_SUCH_SOP_CLASS = 0x0118
CLASS_INSTANCE_CONFLICT = 0x0119
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
SOP_CLASS_NOT_SUPPORTED = 0x0122
NO_SUCH_ACTION_TYPE = 0x0123
NOT_AUTHORIZED = 0x0124
DUPLICATE_INVOCATION = 0x0210
UNRECOGNIZED_OPERATION = 0x0211
MISTYPED_ARGUMENT = 0x0212
RESOURCE_LIMITATION = 0x0213
OUT_OF_RESOURCES = 0xA700
OUT_OF_RESOURCES_NUMBER_OF_MATCHES = 0xA701
OUT_OF_RESOURCES_SUB_OPERATIONS = 0xA702
MOVE_DESTINATION_UNKNOWN = 0xA801
DATASET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
CANNOT_UNDERSTAND = 0xC000
IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS = 0xA900
UNABLE_TO_PROCESS = 0xC001
SUB_OPERATIONS_COMPLETE_WITH_FAILURES = 0xB000

_S, _W, _P, _C, _F = (
    Category.SUCCESS,
    Category.WARNING,
    Category.PENDING,
    Category.CANCEL,
    Category.FAILURE,
)

#: code -> (category, keyword, meaning). PS3.7 C.1-C.5 and PS3.4 (B.2.3, C.4, GG, H, J, P ...).
STATUSES: dict[int, tuple[Category, str, str]] = {
    0x0000: (_S, "Success", "Success"),
    0x0001: (
        _W,
        "OptionalAttributesNotSupported",
        "Requested optional attributes are not supported",
    ),
    0x0107: (_W, "AttributeListError", "Attribute list error"),
    0x0116: (_W, "AttributeValueOutOfRange", "Attribute value out of range"),
    0xB000: (
        _W,
        "CoercionOfDataElements",
        "Coercion of data elements / sub-operations complete, one or more failures",
    ),
    0xB006: (_W, "ElementsDiscarded", "Elements discarded"),
    0xB007: (_W, "DataSetDoesNotMatchSOPClass", "Data set does not match SOP class"),
    0xB101: (
        _W,
        "SpecifiedSynchronizationFrameOfReferenceUIDNotSupported",
        "Specified Synchronization Frame of Reference UID does not match SOP",
    ),
    0xFF00: (_P, "Pending", "Pending: matches or sub-operations are continuing"),
    0xFF01: (_P, "PendingWarning", "Pending: one or more optional keys were not supported"),
    0xFE00: (_C, "Cancel", "Cancelled: operation terminated due to a cancel request"),
    0x0105: (_F, "NoSuchAttribute", "No such attribute"),
    0x0106: (_F, "InvalidAttributeValue", "Invalid attribute value"),
    0x0110: (_F, "ProcessingFailure", "Processing failure"),
    0x0111: (_F, "DuplicateSOPInstance", "Duplicate SOP instance"),
    0x0112: (_F, "NoSuchSOPInstance", "No such SOP instance"),
    0x0113: (_F, "NoSuchEventType", "No such event type"),
    0x0114: (_F, "NoSuchArgument", "No such argument"),
    0x0115: (_F, "InvalidArgumentValue", "Invalid argument value"),
    0x0117: (_F, "InvalidObjectInstance", "Invalid object instance"),
    0x0118: (_F, "NoSuchSOPClass", "No such SOP class"),
    0x0119: (_F, "ClassInstanceConflict", "Class-instance conflict"),
    0x0120: (_F, "MissingAttribute", "Missing attribute"),
    0x0121: (_F, "MissingAttributeValue", "Missing attribute value"),
    0x0122: (_F, "SOPClassNotSupported", "Refused: SOP class not supported"),
    0x0123: (_F, "NoSuchActionType", "No such action type"),
    0x0124: (_F, "NotAuthorized", "Refused: not authorized"),
    0x0210: (_F, "DuplicateInvocation", "Duplicate invocation"),
    0x0211: (_F, "UnrecognizedOperation", "Unrecognized operation"),
    0x0212: (_F, "MistypedArgument", "Mistyped argument"),
    0x0213: (_F, "ResourceLimitation", "Resource limitation"),
    0xA700: (_F, "OutOfResources", "Refused: out of resources"),
    0xA701: (
        _F,
        "OutOfResourcesNumberOfMatches",
        "Refused: out of resources, unable to calculate number of matches",
    ),
    0xA702: (
        _F,
        "OutOfResourcesSubOperations",
        "Refused: out of resources, unable to perform sub-operations",
    ),
    0xA801: (_F, "MoveDestinationUnknown", "Refused: move destination unknown"),
    0xA900: (
        _F,
        "DataSetDoesNotMatchSOPClass",
        "Error: data set / identifier does not match SOP class",
    ),
    0xC000: (_F, "CannotUnderstand", "Error: cannot understand"),
    0xC001: (_F, "UnableToProcess", "Failed: unable to process"),
    0xC100: (_F, "MoreThanOneMatchFound", "Failed: more than one match found"),
    0xC101: (_F, "ProcedureStepNotInProgress", "Failed: procedure step is not in progress"),
    0xC200: (
        _F,
        "UnableToSupportRequestedTemplate",
        "Failed: unable to support requested template",
    ),
    # Unified Procedure Step (PS3.4 Tables CC.2.1-2, CC.2.2-2, CC.2.3-2, CC.2.4-2, CC.2.5-4,
    # CC.2.6-1); the C3xx/B3xx codes mean these things only for UPS SOP classes.
    0xB300: (_W, "UPSCreatedWithModifications", "Warning: the UPS was created with modifications"),
    0xB301: (_W, "UPSDeletionLockNotGranted", "Warning: deletion lock not granted"),
    0xB304: (
        _W,
        "UPSAlreadyCanceled",
        "Warning: the UPS is already in the requested state of CANCELED",
    ),
    0xB305: (_W, "UPSCoercedInvalidValues", "Warning: coerced invalid values to valid values"),
    0xB306: (
        _W,
        "UPSAlreadyCompletedWarning",
        "Warning: the UPS is already in the requested state of COMPLETED",
    ),
    0xC300: (_F, "UPSMayNoLongerBeUpdated", "Failed: the UPS may no longer be updated"),
    0xC301: (
        _F,
        "UPSTransactionUIDNotCorrect",
        "Failed: the correct Transaction UID was not provided",
    ),
    0xC302: (_F, "UPSAlreadyInProgress", "Failed: the UPS is already IN PROGRESS"),
    0xC303: (
        _F,
        "UPSMayOnlyBecomeScheduledViaNCreate",
        "Failed: the UPS may only become SCHEDULED via N-CREATE, not N-SET or N-ACTION",
    ),
    0xC304: (
        _F,
        "UPSNotMetFinalStateRequirements",
        ("Failed: the UPS has not met final state requirements for the requested state change"),
    ),
    0xC307: (
        _F,
        "UPSDoesNotExist",
        (
            "Failed: specified SOP Instance UID does not exist or is not a UPS Instance "
            "managed by this SCP"
        ),
    ),
    0xC308: (_F, "UPSUnknownReceivingAET", "Failed: receiving AE title is unknown to this SCP"),
    0xC309: (_F, "UPSNotScheduled", "Failed: the provided value of UPS State was not SCHEDULED"),
    0xC310: (_F, "UPSNotInProgress", "Failed: the UPS is not yet in the IN PROGRESS state"),
    0xC311: (_F, "UPSAlreadyCompleted", "Failed: the UPS is already COMPLETED"),
    0xC312: (_F, "UPSPerformerCannotBeContacted", "Failed: the performer cannot be contacted"),
    0xC313: (_F, "UPSPerformerChoosesNotToCancel", "Failed: performer chooses not to cancel"),
    0xC314: (
        _F,
        "UPSActionNotAppropriate",
        "Failed: specified action not appropriate for specified instance",
    ),
    0xC315: (_F, "UPSEventReportsNotSupported", "Failed: SCP does not support Event Reports"),
    # Storage Commitment failure reason (PS3.4 J.3.2.1.1, Failure Reason (0008,1197))
    0x0131: (_F, "DuplicateTransactionUID", "Duplicate transaction UID"),
}

# Ranges (inclusive) for codes not listed above: (low, high, category, meaning).
_RANGES: tuple[tuple[int, int, Category, str], ...] = (
    (0xA700, 0xA7FF, _F, "Refused: out of resources"),
    (0xA900, 0xA9FF, _F, "Error: data set does not match SOP class"),
    (0xA000, 0xAFFF, _F, "Failure"),
    (0xC000, 0xCFFF, _F, "Error: cannot understand"),
    (0xB000, 0xBFFF, _W, "Warning"),
)


def status_info(code: int) -> StatusInfo:
    """Category, keyword and meaning of a status code; unlisted codes go by range."""
    known = STATUSES.get(code)
    if known is not None:
        return StatusInfo(code, known[0], known[1], known[2])
    for low, high, cat, meaning in _RANGES:
        if low <= code <= high:
            return StatusInfo(code, cat, "", meaning)
    return StatusInfo(code, Category.UNKNOWN, "", "Unknown status")


def category(code: int) -> Category:
    """The category of a status code (PS3.7 Annex C)."""
    return status_info(code).category


def is_success(code: int) -> bool:
    return code == 0x0000


def is_warning(code: int) -> bool:
    return category(code) is Category.WARNING


def is_pending(code: int) -> bool:
    return code in (0xFF00, 0xFF01)


def is_cancel(code: int) -> bool:
    return code == 0xFE00


def is_failure(code: int) -> bool:
    """True for failures and for codes no category claims (the safe reading)."""
    return category(code) in (Category.FAILURE, Category.UNKNOWN)


def is_final(code: int) -> bool:
    """True when no further response follows for the same request (not pending)."""
    return not is_pending(code)


def describe(code: int) -> str:
    """One line for logs and CLI output, e.g. ``0xA700 failure: Refused: out of resources``."""
    return str(status_info(code))


__all__ = [
    "STATUSES",
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
    "status_info",
]
