"""The DIMSE status table (PS3.7 Annex C, PS3.4) and DimseError.from_status."""

from __future__ import annotations

import pytest

from dicomkit.dictionary import status_codes
from dicomkit.dictionary._statuses import STATUSES
from dicomkit.dictionary.statuses import SERVICES, Category, describe, status_info
from dicomkit.errors import (
    DimseCancelled,
    DimseCannotUnderstand,
    DimseDataSetMismatch,
    DimseError,
    DimseMoveDestinationUnknown,
    DimseOutOfResources,
    DimseRefused,
)


def test_every_row_is_well_formed() -> None:
    for service, low, high, cat, keyword, meaning, citation in STATUSES:
        assert service in ("", *SERVICES)
        assert 0 <= low <= high <= 0xFFFF and keyword.isidentifier() and meaning
        assert citation.startswith(("PS3.4", "PS3.7"))
        assert status_info(low, service or None).category == Category(cat)
        assert getattr(status_codes, keyword) == low


def test_annex_c_fixed_codes_come_from_the_standard() -> None:
    # PS3.7 C.5.21, C.5.6, C.5.25, C.4.2, C.3.1: read from the DocBook, not typed in
    assert status_codes.ProcessingFailure == 0x0110
    assert status_codes.SOPClassNotSupported == 0x0122
    assert status_codes.NotAuthorized == 0x0124
    assert status_codes.AttributeListWarning == 0x0107
    assert status_codes.Cancel == 0xFE00
    assert status_info(0x0110).citation == "PS3.7 C.5.21"


def test_unable_to_process_is_the_c000_range_not_0110() -> None:
    """C-FIND/C-MOVE/C-GET: 'Failed: Unable to process' is C000-CFFF (PS3.4 C.4);
    0110 'Processing failure' is the general DIMSE-N failure (PS3.7 C.5.21)."""
    assert status_codes.UnableToProcess == 0xC000
    for service in ("find", "move", "get"):
        for code in (0xC000, 0xC001, 0xCFFF):
            info = status_info(code, service)
            assert info.keyword == "UnableToProcess" and info.category is Category.FAILURE
    assert status_info(0xC001, "storage").keyword == "CannotUnderstand"
    assert status_info(0x0110).keyword == "ProcessingFailure"


@pytest.mark.parametrize(
    ("code", "service", "words"),
    [
        (0xA700, "storage", "0xA700 Refused: Out of Resources"),
        (0xA7F0, "storage", "0xA7F0 Refused: Out of Resources"),
        (0xB000, "storage", "0xB000 Warning: Coercion of Data Elements"),
        (0xB000, "move", "0xB000 Warning: Sub-operations complete, one or more failures"),
        (0xA702, "get", "0xA702 Refused: Out of Resources, unable to perform sub-operations"),
        (0xA801, "move", "0xA801 Refused: Move Destination unknown"),
        (0xA900, "find", "0xA900 Error: Identifier does not match SOP Class"),
        (0xA900, "storage", "0xA900 Error: Data Set does not match SOP Class"),
        (0xC310, "ups", "0xC310 Failed: The UPS is not yet in the IN PROGRESS state"),
        (0xC310, None, "0xC310 Error: Cannot understand"),
        (0x0131, "commitment", "0x0131 Failure: Duplicate transaction UID"),
        (0x1234, None, "0x1234 Unknown status code"),
    ],
)
def test_words_per_service(code: int, service: str | None, words: str) -> None:
    assert describe(code, service) == words


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (0xA700, DimseOutOfResources),
        (0xA702, DimseOutOfResources),
        (0xA900, DimseDataSetMismatch),
        (0xC000, DimseCannotUnderstand),
        (0xC123, DimseCannotUnderstand),
        (0x0110, DimseCannotUnderstand),
        (0xA801, DimseMoveDestinationUnknown),
        (0x0122, DimseRefused),
        (0xFE00, DimseCancelled),
        (0x1234, DimseError),
    ],
)
def test_from_status_picks_the_subclass(code: int, kind: type[DimseError]) -> None:
    exc = DimseError.from_status(code, "move", what="C-MOVE", error_comment="disk full")
    assert type(exc) is kind and isinstance(exc, DimseError)
    assert exc.status == code and exc.service == "move" and exc.error_comment == "disk full"
    assert str(exc).startswith(f"C-MOVE failed: 0x{code:04X} ") and str(exc).endswith("(disk full)")


def test_from_status_message_has_the_services_words() -> None:
    exc = DimseError.from_status(0xA700, "storage", what="C-STORE")
    assert str(exc) == "C-STORE failed: 0xA700 Refused: Out of Resources"
