"""Template conformance (PS3.16): the rules of TID 1500, TID 2010 and TID 2000 that a
program can check - mandatory rows present, value types and value sets where the template
fixes them.

:func:`template_problems` picks the template from the root's Content Template Sequence
(DCMR) or, failing that, from the document title.
"""

from __future__ import annotations

from dicomkit.sr._codes import CID, DCM, SCT, UMLS
from dicomkit.sr._constraints import Problem
from dicomkit.sr._model import ContentItem

__all__ = ["template_of", "template_problems"]

_REGIONS = (
    DCM.ImageRegion,
    DCM.ReferencedSegmentationFrame,
    DCM.VolumeSurface,
    DCM.ReferencedSegment,
)


def template_of(root: ContentItem) -> str | None:
    """The DCMR template identifier of the document ("1500", "2010", "2000" ...), from its
    Content Template Sequence or, failing that, its title."""
    if root.template is not None and root.template[0] == "DCMR":
        return root.template[1]
    if root.concept == DCM.ImagingMeasurementReport:
        return "1500"
    if root.concept is not None and (root.concept in CID[7010] or root.concept in CID[7011]):
        return "2010"
    return None


def _group_problems(g: ContentItem, pos: tuple[int, ...]) -> list[Problem]:
    out: list[Problem] = []
    names = [c.concept for c in g.children]
    for required, vt in (
        (DCM.TrackingIdentifier, "TEXT"),
        (DCM.TrackingUniqueIdentifier, "UIDREF"),
    ):
        found = [c for c in g.children if c.concept == required]
        if len(found) != 1:
            out.append(
                Problem(
                    pos,
                    f"Measurement Group needs one {required.meaning} (TID 4108), has {len(found)}",
                )
            )
        elif found[0].value_type != vt or found[0].relationship != "HAS OBS CONTEXT":
            out.append(Problem(pos, f"{required.meaning} must be HAS OBS CONTEXT {vt} (TID 4108)"))
    regions = [n for n in names if n in _REGIONS]
    if len(regions) > 1 and DCM.ReferencedSegment not in regions:
        out.append(
            Problem(pos, "Measurement Group has more than one region (TID 1410/1411 allow one)")
        )
    for i, c in enumerate(g.children, 1):
        if (
            c.value_type == "NUM"
            and c.relationship == "CONTAINS"
            and c.value is None
            and c.qualifier is None
        ):
            out.append(
                Problem(
                    (*pos, i), "a NUM without a value needs a Numeric Value Qualifier (TID 300)"
                )
            )
        if c.concept == SCT.FindingSite and c.value_type != "CODE":
            out.append(Problem((*pos, i), "Finding Site must be a CODE (TID 1419)"))
        if (
            c.concept == DCM.ImageRegion
            and c.value_type == "SCOORD"
            and not any(
                k.relationship == "SELECTED FROM" and k.value_type == "IMAGE" for k in c.children
            )
        ):
            out.append(
                Problem((*pos, i), "Image Region SCOORD must be SELECTED FROM an IMAGE (TID 1410)")
            )
    return out


def _tid1500(root: ContentItem) -> list[Problem]:
    out: list[Problem] = []
    if root.concept != DCM.ImagingMeasurementReport:
        out.append(Problem((1,), f"TID 1500 title must be {DCM.ImagingMeasurementReport}"))
    kids = root.children
    if not any(c.concept == DCM.LanguageOfContentItemAndDescendants for c in kids):
        out.append(
            Problem(
                (1,), "TID 1500 row 2: Language of Content Item and Descendants (TID 1204) missing"
            )
        )
    if not any(c.relationship == "HAS OBS CONTEXT" for c in kids):
        out.append(Problem((1,), "TID 1500 row 3: Observation Context (TID 1001) missing"))
    if not any(c.concept == DCM.ProcedureReported for c in kids):
        out.append(Problem((1,), "TID 1500 row 4: Procedure reported missing"))
    sections = (
        DCM.ImagingMeasurements,
        DCM.DerivedImagingMeasurements,
        UMLS.QualitativeEvaluations,
    )
    if not any(c.concept in sections for c in kids):
        out.append(
            Problem(
                (1,),
                "TID 1500: one of Imaging Measurements, Derived Imaging Measurements or Qualitative Evaluations is required",
            )
        )
    for i, section in enumerate(kids, 1):
        if section.concept != DCM.ImagingMeasurements:
            continue
        for j, g in enumerate(section.children, 1):
            if g.concept != DCM.MeasurementGroup or g.value_type != "CONTAINER":
                out.append(
                    Problem(
                        (1, i, j),
                        "Imaging Measurements holds only Measurement Group containers (TID 1500 row 8)",
                    )
                )
                continue
            out.extend(_group_problems(g, (1, i, j)))
    return out


def _tid2010(root: ContentItem) -> list[Problem]:
    out: list[Problem] = []
    title = root.concept
    allowed = CID[7010] + CID[7011]
    if title is None or title not in allowed:
        out.append(
            Problem((1,), f"TID 2010 title {title} is not one of CID 7010 / CID 7011 known here")
        )
    refs = [
        c
        for c in root.children
        if c.relationship == "CONTAINS" and c.value_type in ("IMAGE", "COMPOSITE", "WAVEFORM")
    ]
    if not refs:
        out.append(
            Problem(
                (1,), "TID 2010 rows 6-8: at least one IMAGE, WAVEFORM or COMPOSITE is required"
            )
        )
    descriptions = [c for c in root.children if c.concept == DCM.KeyObjectDescription]
    if len(descriptions) > 1:
        out.append(Problem((1,), "TID 2010 row 5: at most one Key Object Description"))
    return out


def _tid2000(root: ContentItem) -> list[Problem]:
    out: list[Problem] = []
    for i, c in enumerate(root.children, 1):
        if c.relationship == "CONTAINS" and c.value_type == "CONTAINER" and c.concept is None:
            out.append(Problem((1, i), "TID 2001: a report section needs a heading (CID 7001)"))
    return out


_CHECKS = {"1500": _tid1500, "2010": _tid2010, "2000": _tid2000}


def template_problems(root: ContentItem) -> list[Problem]:
    """What breaks the rules of the document's root template (empty if the template is not
    one checked here)."""
    check = _CHECKS.get(template_of(root) or "")
    return check(root) if check is not None else []
