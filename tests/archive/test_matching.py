"""C-FIND matching over the index (PS3.4 C.2.2.2), each kind against an independent oracle."""

from __future__ import annotations

import re
from typing import Any

import pytest
from archive_helpers import CT, MR, by_level, synthetic, to_dataset

from dicomkit.archive import Index, Model, QueryError, QueryOptions, parse_query
from dicomkit.archive._index import record_from_dataset
from dicomkit.archive._results import make_result

ROWS = synthetic(10)


@pytest.fixture(scope="module")
def index() -> Index:
    idx = Index.open(":memory:")
    for i, row in enumerate(ROWS):
        assert idx.add(record_from_dataset(to_dataset(row)), f"f/{i}.dcm", 10)
    return idx


def find(
    idx: Index, ident: dict[str, Any], model: Model = Model.STUDY_ROOT, **opts: Any
) -> list[dict[str, Any]]:
    query = parse_query(ident, model, QueryOptions(**opts))
    columns, rows, post = idx.select(query)
    out = []
    for row in rows:
        res = make_result(query, columns, row, post, retrieve_aet="ARCH")
        if res is not None:
            out.append(res.as_dict())
    return out


def uids(results: list[dict[str, Any]], key: str) -> set[str]:
    return {r[key] for r in results}


def studies() -> dict[str, dict[str, Any]]:
    return by_level(ROWS, "StudyInstanceUID")


def oracle_wild(pattern: str, value: str, fold: bool = False) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.IGNORECASE if fold else 0) is not None


def test_universal_returns_every_study(index: Index) -> None:
    res = find(index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": ""})
    assert uids(res, "StudyInstanceUID") == set(studies())
    assert all(r["QueryRetrieveLevel"] == "STUDY" for r in res)


def test_single_value_cs_is_case_sensitive(index: Index) -> None:
    res = find(
        index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "StudyDescription": "CHEST"}
    )
    want = {u for u, r in studies().items() if r["StudyDescription"] == "CHEST"}
    assert want and uids(res, "StudyInstanceUID") == want
    assert find(index, {"QueryRetrieveLevel": "STUDY", "StudyDescription": "chest"}) == []


@pytest.mark.parametrize("fold", [True, False])
def test_single_value_pn_case_rule(index: Index, fold: bool) -> None:
    res = find(
        index,
        {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "PatientName": "doe^john"},
        pn_case_insensitive=fold,
    )
    want = {u for u, r in studies().items() if fold and r["PatientName"].upper() == "DOE^JOHN"}
    assert uids(res, "StudyInstanceUID") == want


@pytest.mark.parametrize(
    "pattern", ["DOE*", "D?E^J*", "*^A[1]", "*", "M*LLER*", "*%*", "ABDOMEN_%", "Head*", "*^J?N*"]
)
def test_wildcards(index: Index, pattern: str) -> None:
    key = "StudyDescription" if pattern.startswith(("ABD", "Head", "*%")) else "PatientName"
    res = find(
        index,
        {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", key: pattern},
        pn_case_insensitive=False,
    )
    want = {u for u, r in studies().items() if oracle_wild(pattern, r[key])}
    assert uids(res, "StudyInstanceUID") == want
    if pattern == "DOE*":
        assert want


def test_wildcard_pn_case_insensitive(index: Index) -> None:
    res = find(
        index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "PatientName": "doe*"}
    )
    want = {u for u, r in studies().items() if oracle_wild("doe*", r["PatientName"], True)}
    assert len(want) > len({u for u, r in studies().items() if r["PatientName"].startswith("DOE")})
    assert uids(res, "StudyInstanceUID") == want


@pytest.mark.parametrize("rng", ["20200301-20200630", "-20200415", "20200901-", "20200510"])
def test_date_range(index: Index, rng: str) -> None:
    res = find(index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "StudyDate": rng})
    lo, _, hi = rng.partition("-") if "-" in rng else (rng, "", rng)
    want = {
        u
        for u, r in studies().items()
        if (not lo or r["StudyDate"] >= lo) and (not hi or r["StudyDate"] <= hi)
    }
    assert want and uids(res, "StudyInstanceUID") == want


@pytest.mark.parametrize("rng", ["0900-1130", "-10", "1400-", "0900-09"])
def test_time_range_partial_precision(index: Index, rng: str) -> None:
    res = find(index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "StudyTime": rng})
    lo, hi = rng.split("-")
    lo_full = lo.ljust(6, "0") if lo else ""
    hi_full = hi.ljust(6, "9") if hi else ""  # "10" includes 10:59:59
    want = {
        u
        for u, r in studies().items()
        if (not lo or r["StudyTime"] >= lo_full) and (not hi or r["StudyTime"] <= hi_full)
    }
    assert uids(res, "StudyInstanceUID") == want


def test_combined_date_time_range(index: Index) -> None:
    ident = {
        "QueryRetrieveLevel": "STUDY",
        "StudyInstanceUID": "",
        "StudyDate": "20200310-20200612",
        "StudyTime": "1000-1200",
    }
    combined = find(index, ident, combined_datetime=True)
    separate = find(index, ident)
    lo, hi = "20200310100000", "20200612120059"
    want = {u for u, r in studies().items() if lo <= r["StudyDate"] + r["StudyTime"] <= hi}
    assert uids(combined, "StudyInstanceUID") == want
    want_sep = {
        u
        for u, r in studies().items()
        if "20200310" <= r["StudyDate"] <= "20200612" and "100000" <= r["StudyTime"] <= "120059"
    }
    assert uids(separate, "StudyInstanceUID") == want_sep
    assert want_sep <= want


def test_datetime_range_at_image_level(index: Index) -> None:
    study = next(iter(studies()))
    series = f"{study}.0"
    ident = {
        "QueryRetrieveLevel": "IMAGE",
        "StudyInstanceUID": study,
        "SeriesInstanceUID": series,
        "SOPInstanceUID": "",
        "AcquisitionDateTime": "2020-",
    }
    res = find(index, ident)
    want = {r["SOPInstanceUID"] for r in ROWS if r["SeriesInstanceUID"] == series}
    assert uids(res, "SOPInstanceUID") == want


def test_uid_list(index: Index) -> None:
    chosen = sorted(studies())[::3]
    res = find(index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": chosen})
    assert uids(res, "StudyInstanceUID") == set(chosen)


def test_modalities_in_study_matches_any_value(index: Index) -> None:
    res = find(
        index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "ModalitiesInStudy": "MR"}
    )
    want = {r["StudyInstanceUID"] for r in ROWS if r["Modality"] == "MR"}
    assert uids(res, "StudyInstanceUID") == want
    for r in res:
        mods = r["ModalitiesInStudy"]
        mods = mods if isinstance(mods, list) else [mods]
        assert "MR" in mods
        assert set(mods) == {
            x["Modality"] for x in ROWS if x["StudyInstanceUID"] == r["StudyInstanceUID"]
        }


def test_computed_counts(index: Index) -> None:
    res = find(
        index,
        {
            "QueryRetrieveLevel": "PATIENT",
            "PatientID": "",
            "NumberOfPatientRelatedStudies": "",
            "NumberOfPatientRelatedInstances": "",
        },
        Model.PATIENT_ROOT,
    )
    for r in res:
        mine = [x for x in ROWS if x["PatientID"] == r["PatientID"]]
        assert r["NumberOfPatientRelatedInstances"] == str(len(mine))
        assert r["NumberOfPatientRelatedStudies"] == str(len({x["StudyInstanceUID"] for x in mine}))
    res = find(
        index,
        {
            "QueryRetrieveLevel": "STUDY",
            "StudyInstanceUID": "",
            "NumberOfStudyRelatedSeries": "",
            "NumberOfStudyRelatedInstances": "",
            "SOPClassesInStudy": "",
        },
    )
    for r in res:
        mine = [x for x in ROWS if x["StudyInstanceUID"] == r["StudyInstanceUID"]]
        assert r["NumberOfStudyRelatedInstances"] == str(len(mine))
        assert r["NumberOfStudyRelatedSeries"] == str(len({x["SeriesInstanceUID"] for x in mine}))
        classes = r["SOPClassesInStudy"]
        assert set(classes if isinstance(classes, list) else [classes]) == {
            x["SOPClassUID"] for x in mine
        }


def test_sequence_matching_one_item(index: Index) -> None:
    res = find(
        index,
        {
            "QueryRetrieveLevel": "STUDY",
            "StudyInstanceUID": "",
            "ProcedureCodeSequence": [{"CodeValue": "P1", "CodingSchemeDesignator": ""}],
        },
    )
    want = {u for u, r in studies().items() if r["ProcedureCodeSequence"][0]["CodeValue"] == "P1"}
    assert want and uids(res, "StudyInstanceUID") == want
    item = res[0]["ProcedureCodeSequence"][0]
    assert item == {"CodeValue": "P1", "CodingSchemeDesignator": "LOCAL"}


def test_sequence_return_key_with_empty_item(index: Index) -> None:
    study = min(studies())
    res = find(
        index,
        {
            "QueryRetrieveLevel": "SERIES",
            "StudyInstanceUID": study,
            "SeriesInstanceUID": "",
            "RequestAttributesSequence": [{}],
        },
    )
    want = {r["SeriesInstanceUID"]: r for r in ROWS if r["StudyInstanceUID"] == study}
    assert uids(res, "SeriesInstanceUID") == set(want)
    for r in res:
        assert (
            r["RequestAttributesSequence"]
            == want[r["SeriesInstanceUID"]]["RequestAttributesSequence"]
        )


def test_empty_value_matching(index: Index) -> None:
    res = find(
        index,
        {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "ReferringPhysicianName": '""'},
    )
    want = {u for u, r in studies().items() if r["ReferringPhysicianName"] == ""}
    assert want and uids(res, "StudyInstanceUID") == want


def test_hierarchical_series_and_image(index: Index) -> None:
    study = max(studies())
    res = find(
        index,
        {
            "QueryRetrieveLevel": "SERIES",
            "StudyInstanceUID": study,
            "SeriesInstanceUID": "",
            "Modality": "",
            "SeriesNumber": "",
            "NumberOfSeriesRelatedInstances": "",
        },
    )
    want = {r["SeriesInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}
    assert uids(res, "SeriesInstanceUID") == want
    for r in res:
        n = sum(1 for x in ROWS if x["SeriesInstanceUID"] == r["SeriesInstanceUID"])
        assert r["NumberOfSeriesRelatedInstances"] == str(n)
    # patient root: PatientID is the unique key above the study level
    pid = next(r for r in ROWS if r["StudyInstanceUID"] == study)["PatientID"]
    res = find(
        index,
        {"QueryRetrieveLevel": "STUDY", "PatientID": pid, "StudyInstanceUID": ""},
        Model.PATIENT_ROOT,
    )
    want = {r["StudyInstanceUID"] for r in ROWS if r["PatientID"] == pid}
    assert uids(res, "StudyInstanceUID") == want


def test_relational_query_skips_levels(index: Index) -> None:
    res = find(
        index,
        {"QueryRetrieveLevel": "IMAGE", "SOPInstanceUID": "", "SOPClassUID": MR},
        relational=True,
    )
    want = {r["SOPInstanceUID"] for r in ROWS if r["SOPClassUID"] == MR}
    assert want and uids(res, "SOPInstanceUID") == want


def test_special_return_keys(index: Index) -> None:
    res = find(
        index,
        {
            "QueryRetrieveLevel": "STUDY",
            "StudyInstanceUID": "",
            "RetrieveAETitle": "",
            "InstanceAvailability": "",
            "SpecificCharacterSet": "",
            "PatientName": "M*",
        },
        pn_case_insensitive=False,
    )
    assert res
    for r in res:
        assert r["RetrieveAETitle"] == "ARCH"
        assert r["InstanceAvailability"] == "ONLINE"
        assert r["SpecificCharacterSet"] == "ISO_IR 192"  # MÜLLER is not ASCII


def test_unknown_key_is_returned_empty(index: Index) -> None:
    res = find(index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "StudyComments": ""})
    assert res and all(r["StudyComments"] == "" for r in res)


@pytest.mark.parametrize(
    "ident,model,status",
    [
        ({"StudyInstanceUID": ""}, Model.STUDY_ROOT, 0xA900),  # no level
        ({"QueryRetrieveLevel": "PATIENT"}, Model.STUDY_ROOT, 0xA900),  # bad level
        ({"QueryRetrieveLevel": "FRAME"}, Model.STUDY_ROOT, 0xA900),
        ({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "1.2.*"}, Model.STUDY_ROOT, 0xA900),
        ({"QueryRetrieveLevel": "SERIES", "SeriesInstanceUID": ""}, Model.STUDY_ROOT, 0xA900),
        ({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": ""}, Model.PATIENT_ROOT, 0xA900),
        (
            {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": [f"1.2.{i}" for i in range(1001)]},
            Model.STUDY_ROOT,
            0xC000,
        ),
        ({"QueryRetrieveLevel": "STUDY", "StudyDate": "2020*"}, Model.STUDY_ROOT, 0xA900),
    ],
)
def test_illegal_queries(ident: dict[str, Any], model: Model, status: int) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(ident, model)
    assert info.value.status == status


def test_values_are_parameters_not_sql(index: Index) -> None:
    evil = "x' OR '1'='1"
    assert find(index, {"QueryRetrieveLevel": "STUDY", "StudyDescription": evil}) == []
    assert find(index, {"QueryRetrieveLevel": "STUDY", "AccessionNumber": "*'; DROP TABLE x"}) == []
    assert index.count() == len(ROWS)


def test_retrieve_selects_instances(index: Index) -> None:
    study = sorted(studies())[2]
    q = parse_query(
        {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study}, Model.STUDY_ROOT, retrieve=True
    )
    got = {i.sop_instance_uid for i in index.instances(q)}
    assert got == {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}
    with pytest.raises(QueryError):
        parse_query(
            {"QueryRetrieveLevel": "SERIES", "SeriesInstanceUID": "1.2"},
            Model.STUDY_ROOT,
            retrieve=True,
        )  # study UID missing above the level
    series = [r["SeriesInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study]
    q = parse_query(
        {"QueryRetrieveLevel": "SERIES", "StudyInstanceUID": study, "SeriesInstanceUID": series},
        Model.STUDY_ROOT,
        retrieve=True,
    )
    assert {i.series_instance_uid for i in index.instances(q)} == set(series)
    assert CT  # keep the import used


def test_time_single_value_matches_at_its_precision(index: Index) -> None:
    t = studies()[max(studies())]["StudyTime"]  # HHMMSS
    res = find(index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "StudyTime": t[:4]})
    want = {u for u, r in studies().items() if r["StudyTime"][:4] == t[:4]}
    assert want and uids(res, "StudyInstanceUID") == want
    res = find(
        index, {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", "StudyTime": t + ".000"}
    )
    assert uids(res, "StudyInstanceUID") == {u for u, r in studies().items() if r["StudyTime"] == t}


def test_later_instances_fill_missing_study_attributes() -> None:
    idx = Index.open(":memory:")
    base = {
        "PatientID": "P1",
        "PatientName": "DOE^J",
        "StudyInstanceUID": "1.2.9",
        "SeriesInstanceUID": "1.2.9.1",
        "SOPClassUID": CT,
    }
    idx.add(record_from_dataset({**base, "SOPInstanceUID": "1.2.9.1.1", "StudyTime": ""}), "a")
    idx.add(
        record_from_dataset(
            {
                **base,
                "SOPInstanceUID": "1.2.9.1.2",
                "StudyTime": "1015",
                "StudyDescription": "LATE",
                "PatientName": "OTHER^X",
            }
        ),
        "b",
    )
    res = find(
        idx,
        {
            "QueryRetrieveLevel": "STUDY",
            "StudyInstanceUID": "",
            "StudyDescription": "LATE",
            "StudyTime": "1000-1030",
            "PatientName": "doe^j",
        },
    )
    assert [r["StudyDescription"] for r in res] == ["LATE"]  # filled, and matchable (shadow)
    assert res[0]["PatientName"] == "DOE^J"  # the first non-empty value wins
