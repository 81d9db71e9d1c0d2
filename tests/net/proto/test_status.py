"""Status codes as data (PS3.7 Annex C)."""

from __future__ import annotations

import pytest

from dicomkit.net.proto import _status as s
from dicomkit.net.proto._status import Category


@pytest.mark.parametrize(
    ("code", "cat"),
    [
        (0x0000, Category.SUCCESS),
        (0x0001, Category.WARNING),
        (0xB000, Category.WARNING),
        (0xB006, Category.WARNING),
        (0xB007, Category.WARNING),
        (0xFF00, Category.PENDING),
        (0xFF01, Category.PENDING),
        (0xFE00, Category.CANCEL),
        (0xA700, Category.FAILURE),
        (0xA7FF, Category.FAILURE),
        (0xA900, Category.FAILURE),
        (0xA9AB, Category.FAILURE),
        (0xC000, Category.FAILURE),
        (0xCFFF, Category.FAILURE),
        (0xC123, Category.FAILURE),
        (0x0105, Category.FAILURE),
        (0x0106, Category.FAILURE),
        (0x0110, Category.FAILURE),
        (0x0111, Category.FAILURE),
        (0x0112, Category.FAILURE),
        (0x0117, Category.FAILURE),
        (0x0119, Category.FAILURE),
        (0x0120, Category.FAILURE),
        (0x0121, Category.FAILURE),
        (0x0122, Category.FAILURE),
        (0x0123, Category.FAILURE),
        (0x0124, Category.FAILURE),
        (0x0210, Category.FAILURE),
        (0x0211, Category.FAILURE),
        (0x0212, Category.FAILURE),
        (0xA801, Category.FAILURE),
        (0xB123, Category.WARNING),
        (0x1234, Category.UNKNOWN),
    ],
)
def test_categories(code: int, cat: Category) -> None:
    assert s.category(code) is cat
    assert s.status_info(code).category is cat


def test_predicates() -> None:
    assert s.is_success(0) and not s.is_success(1)
    assert s.is_pending(0xFF01) and not s.is_final(0xFF00) and s.is_final(0)
    assert s.is_cancel(0xFE00)
    assert s.is_failure(0xA700) and s.is_failure(0x1234) and not s.is_failure(0xB000)
    assert s.is_warning(0xB007)


def test_describe_gives_hex_and_the_services_words() -> None:
    assert s.describe(0xA700) == "0xA700 Refused: Out of Resources"
    assert s.describe(0xA700, "storage") == "0xA700 Refused: Out of Resources"
    assert s.describe(0x0122) == "0x0122 Refused: SOP Class not supported"
    # B000 means different things in different services (PS3.4 B.2.3, C.4.2, C.4.3)
    assert s.describe(0xB000, "storage") == "0xB000 Warning: Coercion of Data Elements"
    assert "one or more failures" in s.describe(0xB000, "move")
    assert "failures or warnings" in s.describe(0xB000, "get")
    # C000-CFFF: "Cannot understand" for C-STORE, "Unable to process" for C-FIND/MOVE/GET
    assert s.describe(0xC001, "storage") == "0xC001 Error: Cannot understand"
    assert s.describe(0xC001, "find") == "0xC001 Failed: Unable to process"
    assert s.describe(0x1234) == "0x1234 Unknown status code"


def test_service_for() -> None:
    assert s.service_for("C-STORE") == "storage"
    assert s.service_for("C-MOVE-RSP") == "move"
    assert s.service_for("N-ACTION", "1.2.840.10008.1.20.1") == "commitment"
    assert s.service_for("N-SET", "1.2.840.10008.3.1.2.3.3") == "mpps"
    assert s.service_for("N-CREATE", "1.2.840.10008.5.1.4.34.6.1") == "ups"
    assert s.service_for() is None
