"""The information model: IODs, information entities, modules, macros, SOP classes."""

from __future__ import annotations

import pytest

from dicomkit.dictionary import uids
from dicomkit.iod import iod, iod_for_sop_class, iods, module, modules, sop_class


def test_ct_image_iod() -> None:
    ct = iod_for_sop_class(uids.CTImageStorage)
    assert ct.name == "CTImage"
    by_name = {m.name: m for m in ct.modules}
    assert by_name["Patient"].information_entity == "Patient"
    assert by_name["Patient"].usage == "M"
    assert by_name["GeneralSeries"].information_entity == "Series"
    assert by_name["CTImage"].usage == "M"
    assert by_name["ContrastBolus"].usage == "C"
    assert by_name["ContrastBolus"].condition
    assert ct.information_entities[:3] == ("File", "Patient", "Study")
    assert {"FrameOfReference", "Equipment", "Image"} <= set(ct.information_entities)


def test_sop_class() -> None:
    sop = sop_class(uids.EnhancedMRImageStorage)
    assert sop is not None and sop.iod_name == "EnhancedMRImage"
    assert sop.dimse == ("C-STORE",)
    assert sop.iod is not None and sop.iod.name == "EnhancedMRImage"
    assert sop_class("1.2.3.4") is None
    with pytest.raises(KeyError):
        iod_for_sop_class("1.2.3.4")


def test_every_storage_sop_class_with_an_iod_resolves() -> None:
    resolved = 0
    for name in iods():
        assert iod(name).modules
    for uid in (
        uids.CTImageStorage,
        uids.MRImageStorage,
        uids.SecondaryCaptureImageStorage,
        uids.SegmentationStorage,
        uids.ComprehensiveSRStorage,
        uids.RTDoseStorage,
        uids.UltrasoundImageStorage,
        uids.DigitalXRayImageStorageForPresentation,
    ):
        assert iod_for_sop_class(uid).modules
        resolved += 1
    assert resolved == 8


def test_module_attributes() -> None:
    series = module("GeneralSeries")
    assert series.kind == "module"
    modality = series.find(0x00080060)
    assert modality is not None and modality.keyword == "Modality"
    assert modality.type in ("1", "1C")  # dicom3tools relaxes it for Secondary Capture
    uid = series.find(0x0020000E)
    assert uid is not None and uid.type == "1"
    laterality = series.find(0x00200060)
    assert laterality is not None and laterality.type == "2C"
    assert laterality.condition == "LateralityRequired"
    assert any(v.kind == "enum" and "R" in v.values for v in laterality.values)


def test_sequences_nest_and_macros_expand() -> None:
    patient = module("Patient")
    others = patient.find(0x00101002)  # Other Patient IDs Sequence
    assert others is not None and others.is_sequence
    assert {a.keyword for a in others.children} >= {"PatientID", "IssuerOfPatientID"}
    # a macro invoked inside a sequence: Code Sequence Macro attributes appear in the items
    general_study = module("GeneralStudy")
    procedure = general_study.find(0x00081032)  # Procedure Code Sequence
    assert procedure is not None
    assert {"CodeValue", "CodingSchemeDesignator", "CodeMeaning"} <= {
        a.keyword for a in procedure.children
    }


def test_recursive_macros_expand_lazily() -> None:
    # SR content items nest themselves through Content Sequence
    content = module("SRDocumentContent")
    seq = next(a for a in content.attributes if a.keyword == "ContentSequence")
    depth = 0
    while seq is not None and depth < 6:
        seq = next((a for a in seq.children if a.keyword == "ContentSequence"), None)
        depth += 1
    assert depth == 6


def test_conditional_macro_guards() -> None:
    # attributes of a conditionally invoked macro carry its condition as a guard
    guarded = [a for name in modules() for a in module(name).attributes if a.guards]
    assert guarded


def test_value_sets() -> None:
    sop = module("SOPCommon")
    charset = sop.find(0x00080005)
    assert charset is not None and charset.type == "1C"
    pixel = module("ImagePixel")
    bits = pixel.find(0x00280100)
    assert bits is not None and bits.type == "1"
