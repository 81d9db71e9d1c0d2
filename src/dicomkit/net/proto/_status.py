"""DIMSE status codes for the protocol layer: the categories and meanings of
:mod:`dicomkit.dictionary.statuses` (PS3.7 Annex C and PS3.4, generated from the standard),
re-exported where the DIMSE machinery looks for them. Constants are in
:mod:`dicomkit.dictionary.status_codes`.
"""

from __future__ import annotations

from dicomkit.dictionary.statuses import (
    Category,
    StatusInfo,
    category,
    describe,
    is_cancel,
    is_failure,
    is_final,
    is_pending,
    is_success,
    is_warning,
    service_for,
    status_info,
)

__all__ = [
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
