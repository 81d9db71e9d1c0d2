"""Segment descriptions (PS3.3 C.8.20.2 Segment Sequence, Table 10-25 Segment Description
Macro) and the few codes a Segmentation carries."""

from __future__ import annotations

from dataclasses import dataclass

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.errors import InvalidValueError
from dicomkit.sr._code import Code

__all__ = ["ALGORITHM_TYPES", "CODES", "Segment"]

ALGORITHM_TYPES = ("MANUAL", "SEMIAUTOMATIC", "AUTOMATIC")


class CODES:
    """Codes of PS3.16 the Segmentation and presentation-state builders write (CID 7203,
    CID 7005, CID 7162, CID 7150)."""

    #: CID 7203 Image Derivation
    Segmentation = Code("113076", "DCM", "Segmentation")
    #: CID 7202 Source Image Purposes of Reference
    SourceImageForProcessing = Code("121322", "DCM", "Source image for image processing operation")
    #: CID 7162 Surface Processing Algorithm Families / CID 7165 (algorithm family)
    ArtificialIntelligence = Code("123110", "DCM", "Artificial Intelligence")
    ManualProcessing = Code("123109", "DCM", "Manual Processing")
    #: CID 7150 Segmentation Property Categories (SNOMED CT)
    Tissue = Code("85756007", "SCT", "Tissue")
    AnatomicalStructure = Code("123037004", "SCT", "Anatomical Structure")
    MorphologicallyAbnormalStructure = Code("49755003", "SCT", "Morphologically Abnormal Structure")
    #: CID 7151 / 7166 examples
    Liver = Code("10200004", "SCT", "Liver")
    Lung = Code("39607008", "SCT", "Lung")
    Neoplasm = Code("108369006", "SCT", "Neoplasm")
    Organ = Code("113343008", "SCT", "Organ")


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: ``Segment("liver", CODES.AnatomicalStructure, CODES.Liver)``.

    ``algorithm_type`` is MANUAL, SEMIAUTOMATIC or AUTOMATIC; the latter two need
    ``algorithm_name`` (PS3.3 Table 10-25). ``number`` is given by position (1, 2, ...) when
    building, and read from Segment Number (0062,0004) when reading.
    """

    label: str
    category: Code
    type: Code
    algorithm_type: str = "MANUAL"
    algorithm_name: str | None = None
    algorithm_version: str = "1"
    algorithm_family: Code | None = None
    description: str | None = None
    tracking_id: str | None = None
    tracking_uid: str | None = None
    number: int = 0

    def to_item(self, number: int) -> Dataset:
        """The Segment Sequence item of this segment as segment ``number``."""
        kind = self.algorithm_type.upper()
        if kind not in ALGORITHM_TYPES:
            raise InvalidValueError(
                f"segment {self.label!r}: algorithm type {self.algorithm_type!r} is not one "
                f"of {', '.join(ALGORITHM_TYPES)}"
            )
        if kind != "MANUAL" and not self.algorithm_name:
            raise InvalidValueError(
                f"segment {self.label!r}: a {kind} segment needs algorithm_name (the program "
                "that made it; PS3.3 Table 10-25)"
            )
        if bool(self.tracking_id) != bool(self.tracking_uid):
            raise InvalidValueError(
                f"segment {self.label!r}: tracking_id and tracking_uid go together "
                "(PS3.3 Table 10-25): give both or neither"
            )
        item = Dataset()
        item.set("SegmentNumber", number, "US")
        item.set("SegmentLabel", self.label, "LO")
        if self.description:
            item.set("SegmentDescription", self.description, "ST")
        item.set("SegmentedPropertyCategoryCodeSequence", Sequence([self.category.to_item()]))
        item.set("SegmentedPropertyTypeCodeSequence", Sequence([self.type.to_item()]))
        item.set("SegmentAlgorithmType", kind, "CS")
        if kind != "MANUAL":
            item.set("SegmentAlgorithmName", self.algorithm_name, "LO")
            family = self.algorithm_family or CODES.ArtificialIntelligence
            alg = Dataset()
            alg.set("AlgorithmFamilyCodeSequence", Sequence([family.to_item()]), "SQ")
            alg.set("AlgorithmName", self.algorithm_name, "LO")
            alg.set("AlgorithmVersion", self.algorithm_version, "LO")
            item.set("SegmentationAlgorithmIdentificationSequence", Sequence([alg]), "SQ")
        if self.tracking_id and self.tracking_uid:
            item.set("TrackingID", self.tracking_id, "UT")
            item.set("TrackingUID", self.tracking_uid, "UI")
        return item

    @classmethod
    def from_item(cls, item: Dataset) -> Segment:
        """The segment a Segment Sequence item describes."""

        def code(keyword: str) -> Code:
            seq = item.get(keyword)
            if not seq:
                raise InvalidValueError(
                    f"segment item without {keyword}: the Segmentation is not valid "
                    "(PS3.3 Table 10-25)"
                )
            return Code.from_item(seq[0])

        family = None
        algs = item.get("SegmentationAlgorithmIdentificationSequence")
        if algs and algs[0].get("AlgorithmFamilyCodeSequence"):
            family = Code.from_item(algs[0].get("AlgorithmFamilyCodeSequence")[0])
        return cls(
            label=str(item.get("SegmentLabel") or ""),
            category=code("SegmentedPropertyCategoryCodeSequence"),
            type=code("SegmentedPropertyTypeCodeSequence"),
            algorithm_type=str(item.get("SegmentAlgorithmType") or "MANUAL"),
            algorithm_name=item.get("SegmentAlgorithmName") or None,
            algorithm_family=family,
            description=item.get("SegmentDescription") or None,
            tracking_id=item.get("TrackingID") or None,
            tracking_uid=item.get("TrackingUID") or None,
            number=int(item.get("SegmentNumber") or 0),
        )
