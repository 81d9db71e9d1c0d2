"""Radiation dose SR reader (TID 10001 Projection X-Ray Radiation Dose, TID 10011 CT Radiation
Dose): the accumulated totals and one row per irradiation event, as a table.

:func:`ct_dose_summary` gives the CT summary (TID 10012 totals, TID 10013 rows: protocol,
target region, acquisition type, CTDIvol, DLP, phantom, event UID);
:func:`projection_dose_summary` the projection X-ray one (TID 10002/10004 totals, TID 10003
rows: event type, protocol, plane, DAP, dose at the reference point, event UID);
:func:`dose_events` the events of either template with every numeric/text/code leaf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dicomkit.errors import InvalidValueError
from dicomkit.sr._code import Code
from dicomkit.sr._codes import DCM
from dicomkit.sr._document import Document
from dicomkit.sr._model import ContentItem

__all__ = [
    "CTDoseSummary",
    "ProjectionDoseSummary",
    "ct_dose_summary",
    "dose_events",
    "format_table",
    "projection_dose_summary",
]

_XRAY_EVENT = DCM.IrradiationEventXRayData

CT_COLUMNS = (
    "Protocol",
    "Target Region",
    "Acquisition Type",
    "CTDIvol (mGy)",
    "DLP (mGy.cm)",
    "Phantom",
    "Irradiation Event UID",
)


@dataclass
class CTDoseSummary:
    """TID 10011 summary: totals and one row per CT Acquisition (see :data:`CT_COLUMNS`)."""

    total_dlp: float | None
    events: int | None
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def table(self) -> list[tuple[str, ...]]:
        """Header row then data rows."""
        return [CT_COLUMNS, *self.rows]


def _root(doc: Document | ContentItem) -> ContentItem:
    root = doc.root if isinstance(doc, Document) else doc
    if root.concept != DCM.XRayRadiationDoseReport:
        raise InvalidValueError(
            f"not a radiation dose report: the title is {root.concept or 'missing'} "
            f"(expected {DCM.XRayRadiationDoseReport})"
        )
    return root


def _text(item: ContentItem | None) -> str:
    if item is None:
        return ""
    v = item.value
    if isinstance(v, Code):
        return v.meaning
    return "" if v is None else str(v)


def _float(item: ContentItem | None) -> float | None:
    if item is None or item.value is None:
        return None
    try:
        return float(item.value)
    except (TypeError, ValueError):
        return None


def ct_dose_summary(doc: Document | ContentItem) -> CTDoseSummary:
    """The CT dose summary of a TID 10011 report."""
    root = _root(doc)
    acc = root.find(DCM.CTAccumulatedDoseData, recursive=False)
    total = _float(acc.find(DCM.CTDoseLengthProductTotal, recursive=False)) if acc else None
    n = _float(acc.find(DCM.TotalNumberOfIrradiationEvents, recursive=False)) if acc else None
    summary = CTDoseSummary(total, None if n is None else int(n))
    for event in root.find_all(DCM.CTAcquisition, recursive=False):
        dose = event.find(DCM.CTDose, recursive=False)
        ctdi = _float(dose.find(DCM.MeanCTDIvol)) if dose else None
        dlp = _float(dose.find(DCM.DLP)) if dose else None
        summary.rows.append(
            (
                _text(event.find(DCM.AcquisitionProtocol, recursive=False)),
                _text(event.find(DCM.TargetRegion, recursive=False)),
                _text(event.find(DCM.CTAcquisitionType, recursive=False)),
                "" if ctdi is None else f"{ctdi:g}",
                "" if dlp is None else f"{dlp:g}",
                _text(dose.find(DCM.CTDIwPhantomType) if dose else None),
                _text(event.find(DCM.IrradiationEventUID, recursive=False)),
            )
        )
    return summary


PROJECTION_COLUMNS = (
    "Event Type",
    "Protocol",
    "Acquisition Plane",
    "DAP (Gy.m2)",
    "Dose (RP) (Gy)",
    "Irradiation Event UID",
)


@dataclass
class ProjectionDoseSummary:
    """TID 10001 summary: the accumulated totals (TID 10002/10004) by concept meaning and
    one row per Irradiation Event X-Ray Data (TID 10003; see :data:`PROJECTION_COLUMNS`)."""

    totals: dict[str, str] = field(default_factory=dict)
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def table(self) -> list[tuple[str, ...]]:
        """Header row then data rows."""
        return [PROJECTION_COLUMNS, *self.rows]


def projection_dose_summary(doc: Document | ContentItem) -> ProjectionDoseSummary:
    """The summary of a TID 10001 Projection X-Ray Radiation Dose report."""
    root = _root(doc)
    summary = ProjectionDoseSummary()
    for acc in root.find_all(DCM.AccumulatedXRayDoseData, recursive=False):
        it = acc.walk()
        next(it)
        for _, item in it:
            if item.value_type == "NUM" and item.concept is not None:
                units = f" {item.units.value}" if item.units is not None else ""
                summary.totals.setdefault(item.concept.meaning, f"{_text(item)}{units}")
    for event in root.find_all(_XRAY_EVENT, recursive=False):
        dap = _float(event.find(DCM.DoseAreaProduct, recursive=False))
        rp = _float(event.find(DCM.DoseRP, recursive=False))
        summary.rows.append(
            (
                _text(event.find(DCM.IrradiationEventType, recursive=False)),
                _text(event.find(DCM.AcquisitionProtocol, recursive=False)),
                _text(event.find(DCM.AcquisitionPlane, recursive=False)),
                "" if dap is None else f"{dap:g}",
                "" if rp is None else f"{rp:g}",
                _text(event.find(DCM.IrradiationEventUID, recursive=False)),
            )
        )
    return summary


def dose_events(doc: Document | ContentItem) -> list[dict[str, str]]:
    """Every irradiation event (CT Acquisition, Irradiation Event X-Ray Data) as a dict of
    concept meaning -> value (units appended for NUM), nested leaves included."""
    root = _root(doc)
    rows: list[dict[str, str]] = []
    for event in root.children:
        if event.concept not in (DCM.CTAcquisition, _XRAY_EVENT):
            continue
        row: dict[str, str] = {}
        it = event.walk()
        next(it)
        for _, item in it:
            if item.value_type in ("CONTAINER", "") or item.concept is None:
                continue
            value = _text(item)
            if item.value_type == "NUM" and item.units is not None:
                value = f"{value} {item.units.value}"
            row.setdefault(item.concept.meaning, value)
        rows.append(row)
    return rows


def format_table(rows: list[tuple[str, ...]]) -> str:
    """Rows as an aligned plain-text table (the first row is the header)."""
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
