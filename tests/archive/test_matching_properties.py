"""Property test: SQL wildcard / single-value matching agrees with a regex oracle on any text."""

from __future__ import annotations

import re

from helpers import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.archive import Index, Model, QueryOptions, parse_query
from dicomkit.archive._index import record_from_dataset
from dicomkit.archive._results import make_result

ALPHABET = "aAbB%_[]^.' ÄéЖ"
VALUES = st.text(ALPHABET, min_size=0, max_size=6).map(lambda s: s.strip())
PATTERNS = (
    st.text(ALPHABET + "*?", min_size=1, max_size=6)
    .map(lambda s: s.strip())
    .filter(lambda s: s != "" and s.strip("*") != "")
)


def oracle(pattern: str, value: str, fold: bool) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return (pattern.upper() == value.upper()) if fold else pattern == value
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.DOTALL | (re.IGNORECASE if fold else 0)) is not None


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(VALUES, min_size=1, max_size=8),
    pattern=PATTERNS,
    fold=st.booleans(),
    key=st.sampled_from(["StudyDescription", "ReferringPhysicianName"]),
)
def test_sql_matches_oracle(values: list[str], pattern: str, fold: bool, key: str) -> None:
    idx = Index.open(":memory:")
    for i, v in enumerate(values):
        idx.add(
            record_from_dataset(
                {
                    "PatientID": "P",
                    "StudyInstanceUID": f"1.2.{i}",
                    "SeriesInstanceUID": f"1.2.{i}.1",
                    "SOPInstanceUID": f"1.2.{i}.1.1",
                    "SOPClassUID": "1.2.3",
                    key: v,
                }
            ),
            f"p/{i}",
        )
    query = parse_query(
        {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "", key: pattern},
        Model.STUDY_ROOT,
        QueryOptions(pn_case_insensitive=fold),
    )
    columns, rows, post = idx.select(query)
    got = {
        r.as_dict()["StudyInstanceUID"]
        for r in (make_result(query, columns, row, post) for row in rows)
        if r is not None
    }
    pn_fold = fold and key == "ReferringPhysicianName"
    if key.endswith("Name") and not pattern.rstrip("^"):
        assert got == {f"1.2.{i}" for i in range(len(values))}  # "^^": universal matching
        return
    want = {
        f"1.2.{i}"
        for i, v in enumerate(values)
        if v
        and oracle(
            pattern.rstrip("^") if key.endswith("Name") else pattern,
            v.rstrip("^") if key.endswith("Name") else v,
            pn_fold,
        )
    }
    assert got == want
