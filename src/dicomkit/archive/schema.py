"""The archive index schema: the Query/Retrieve information model as SQL tables (PS3.4 C.6).

One table per level of the Patient Root / Study Root information models, each holding the
level's unique, required and (a chosen set of) optional keys from PS3.4 Tables C.6-1 .. C.6-8
as columns. Counts and lists that the standard says the SCP computes (Number of Study Related
Instances, Modalities in Study, ...) are kept in denormalised columns refreshed on every change,
so that a study-level C-FIND never aggregates over the instance table.

The schema is data (:data:`ATTRIBUTES`); the DDL is generated from it for each SQL dialect.
Shadow columns serve matching: ``<col>_ci`` holds the upper-cased person name for
case-insensitive PN matching, ``<col>_n`` the zero-padded normalised DA/TM/DT value for range
matching (PS3.4 C.2.2.2.5).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """Query/Retrieve levels, top down (PS3.4 C.6.1.1 / C.6.2.1)."""

    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"

    @property
    def depth(self) -> int:
        return _DEPTH[self]


_DEPTH = {Level.PATIENT: 0, Level.STUDY: 1, Level.SERIES: 2, Level.IMAGE: 3}
LEVELS: tuple[Level, ...] = (Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE)

#: Table name for each level.
TABLES: dict[Level, str] = {
    Level.PATIENT: "patients",
    Level.STUDY: "studies",
    Level.SERIES: "series",
    Level.IMAGE: "instances",
}
#: Foreign key column linking a level to its parent.
PARENT_FK: dict[Level, str] = {
    Level.STUDY: "patient_fk",
    Level.SERIES: "study_fk",
    Level.IMAGE: "series_fk",
}


class KeyType(StrEnum):
    UNIQUE = "U"
    REQUIRED = "R"
    OPTIONAL = "O"


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute of the information model stored in the index."""

    keyword: str
    tag: int
    vr: str
    level: Level
    key: KeyType = KeyType.OPTIONAL
    multi: bool = False  # may hold several values (stored joined with "\")
    computed: bool = False  # maintained by the index, not read from the instance
    column: str = ""

    @property
    def col(self) -> str:
        return self.column or _snake(self.keyword)

    @property
    def has_ci(self) -> bool:
        return self.vr == "PN"

    @property
    def has_norm(self) -> bool:
        return self.vr in ("TM", "DT")


@functools.cache
def _snake(keyword: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(keyword):
        if (
            ch.isupper()
            and i
            and (
                not keyword[i - 1].isupper() or (i + 1 < len(keyword) and keyword[i + 1].islower())
            )
        ):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


U, R, O = KeyType.UNIQUE, KeyType.REQUIRED, KeyType.OPTIONAL
P, S, E, I = Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE

#: Every attribute the index stores, by level (PS3.4 Tables C.6-1..C.6-8 plus common optional
#: keys). Order within a level is the column order.
ATTRIBUTES: tuple[Attr, ...] = (
    # Patient level (C.6-1 / C.6-5: Patient's Name R, Patient ID U)
    Attr("PatientName", 0x00100010, "PN", P, R),
    Attr("PatientID", 0x00100020, "LO", P, U),
    Attr("IssuerOfPatientID", 0x00100021, "LO", P),
    Attr("PatientBirthDate", 0x00100030, "DA", P),
    Attr("PatientBirthTime", 0x00100032, "TM", P),
    Attr("PatientSex", 0x00100040, "CS", P),
    Attr("OtherPatientIDs", 0x00101000, "LO", P, multi=True),
    Attr("OtherPatientNames", 0x00101001, "PN", P, multi=True),
    Attr("EthnicGroup", 0x00102160, "SH", P),
    Attr("PatientComments", 0x00104000, "LT", P),
    Attr("NumberOfPatientRelatedStudies", 0x00201200, "IS", P, computed=True, column="n_studies"),
    Attr("NumberOfPatientRelatedSeries", 0x00201202, "IS", P, computed=True, column="n_series"),
    Attr(
        "NumberOfPatientRelatedInstances", 0x00201204, "IS", P, computed=True, column="n_instances"
    ),
    # Study level (C.6-2 / C.6-5)
    Attr("StudyDate", 0x00080020, "DA", S, R),
    Attr("StudyTime", 0x00080030, "TM", S, R),
    Attr("AccessionNumber", 0x00080050, "SH", S, R),
    Attr("StudyID", 0x00200010, "SH", S, R),
    Attr("StudyInstanceUID", 0x0020000D, "UI", S, U),
    Attr("ReferringPhysicianName", 0x00080090, "PN", S),
    Attr("StudyDescription", 0x00081030, "LO", S),
    Attr("NameOfPhysiciansReadingStudy", 0x00081060, "PN", S, multi=True),
    Attr("AdmittingDiagnosesDescription", 0x00081080, "LO", S, multi=True),
    Attr("PatientAge", 0x00101010, "AS", S),
    Attr("PatientSize", 0x00101020, "DS", S),
    Attr("PatientWeight", 0x00101030, "DS", S),
    Attr("ModalitiesInStudy", 0x00080061, "CS", S, multi=True, computed=True),
    Attr(
        "SOPClassesInStudy",
        0x00080062,
        "UI",
        S,
        multi=True,
        computed=True,
        column="sop_classes_in_study",
    ),
    Attr("NumberOfStudyRelatedSeries", 0x00201206, "IS", S, computed=True, column="n_series"),
    Attr("NumberOfStudyRelatedInstances", 0x00201208, "IS", S, computed=True, column="n_instances"),
    # Series level (C.6-3)
    Attr("Modality", 0x00080060, "CS", E, R),
    Attr("SeriesNumber", 0x00200011, "IS", E, R),
    Attr("SeriesInstanceUID", 0x0020000E, "UI", E, U),
    Attr("SeriesDescription", 0x0008103E, "LO", E),
    Attr("SeriesDate", 0x00080021, "DA", E),
    Attr("SeriesTime", 0x00080031, "TM", E),
    Attr("BodyPartExamined", 0x00180015, "CS", E),
    Attr("Laterality", 0x00200060, "CS", E),
    Attr("ProtocolName", 0x00181030, "LO", E),
    Attr("PerformedProcedureStepStartDate", 0x00400244, "DA", E, column="pps_start_date"),
    Attr("PerformedProcedureStepStartTime", 0x00400245, "TM", E, column="pps_start_time"),
    Attr("Manufacturer", 0x00080070, "LO", E),
    Attr("InstitutionName", 0x00080080, "LO", E),
    Attr("StationName", 0x00081010, "SH", E),
    Attr(
        "NumberOfSeriesRelatedInstances", 0x00201209, "IS", E, computed=True, column="n_instances"
    ),
    # Composite object instance level (C.6-4)
    Attr("InstanceNumber", 0x00200013, "IS", I, R),
    Attr("SOPInstanceUID", 0x00080018, "UI", I, U),
    Attr("SOPClassUID", 0x00080016, "UI", I),
    Attr("ImageType", 0x00080008, "CS", I, multi=True),
    Attr("ContentDate", 0x00080023, "DA", I),
    Attr("ContentTime", 0x00080033, "TM", I),
    Attr("AcquisitionDate", 0x00080022, "DA", I),
    Attr("AcquisitionTime", 0x00080032, "TM", I),
    Attr("AcquisitionDateTime", 0x0008002A, "DT", I),
    Attr("Rows", 0x00280010, "US", I),
    Attr("Columns", 0x00280011, "US", I),
    Attr("NumberOfFrames", 0x00280008, "IS", I),
    Attr("BitsAllocated", 0x00280100, "US", I),
    Attr("CompletionFlag", 0x0040A491, "CS", I),
    Attr("VerificationFlag", 0x0040A493, "CS", I),
    Attr("AvailableTransferSyntaxUID", 0x00083002, "UI", I, column="transfer_syntax"),
)

#: Sequence attributes kept per level as JSON (a list of items, each keyword -> text) in the
#: level's ``extra`` column; matched in Python after the SQL pre-selection (PS3.4 C.2.2.2.6).
SEQUENCES: dict[str, tuple[int, Level]] = {
    "OtherPatientIDsSequence": (0x00101002, P),
    "IssuerOfAccessionNumberSequence": (0x00080051, S),
    "ProcedureCodeSequence": (0x00081032, S),
    "ReferencedStudySequence": (0x00081110, S),
    "RequestAttributesSequence": (0x00400275, E),
    "ConceptNameCodeSequence": (0x0040A043, I),
}

#: Attributes an SCP fills in itself in every response (PS3.4 C.4.1.1.3.2, C.6.1.1.x).
QUERY_RETRIEVE_LEVEL = 0x00080052
RETRIEVE_AE_TITLE = 0x00080054
INSTANCE_AVAILABILITY = 0x00080056
SPECIFIC_CHARACTER_SET = 0x00080005
TIMEZONE_OFFSET = 0x00080201
SPECIAL_TAGS: dict[int, str] = {
    QUERY_RETRIEVE_LEVEL: "QueryRetrieveLevel",
    RETRIEVE_AE_TITLE: "RetrieveAETitle",
    INSTANCE_AVAILABILITY: "InstanceAvailability",
    SPECIFIC_CHARACTER_SET: "SpecificCharacterSet",
}

BY_KEYWORD: dict[str, Attr] = {a.keyword: a for a in ATTRIBUTES}
BY_TAG: dict[int, Attr] = {a.tag: a for a in ATTRIBUTES}
SEQ_BY_TAG: dict[int, str] = {tag: kw for kw, (tag, _lvl) in SEQUENCES.items()}


@functools.cache
def attrs_at(level: Level) -> tuple[Attr, ...]:
    return tuple(a for a in ATTRIBUTES if a.level is level)


def unique_key(level: Level) -> Attr:
    return next(a for a in ATTRIBUTES if a.level is level and a.key is KeyType.UNIQUE)


# --- DDL ------------------------------------------------------------------------------------

SCHEMA_VERSION = 1


def ddl(dialect: str) -> list[str]:
    """CREATE statements for ``dialect`` ("sqlite" or "postgresql"), idempotent."""
    pk = "INTEGER PRIMARY KEY" if dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
    big = "INTEGER" if dialect == "sqlite" else "BIGINT"
    out = [
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ]
    for level in LEVELS:
        table = TABLES[level]
        cols = [f"id {pk}"]
        if level in PARENT_FK:
            parent = TABLES[LEVELS[level.depth - 1]]
            cols.append(f"{PARENT_FK[level]} {big} NOT NULL REFERENCES {parent}(id)")
        for a in attrs_at(level):
            ctype = "INTEGER" if a.computed and a.vr == "IS" else "TEXT"
            default = "0" if ctype == "INTEGER" else "''"
            cols.append(f"{a.col} {ctype} NOT NULL DEFAULT {default}")
            if a.has_ci:
                cols.append(f"{a.col}_ci TEXT NOT NULL DEFAULT ''")
            if a.has_norm:
                cols.append(f"{a.col}_n TEXT NOT NULL DEFAULT ''")
        cols.append("extra TEXT NOT NULL DEFAULT ''")
        if level is Level.IMAGE:
            cols += [
                "path TEXT NOT NULL",
                f"size {big} NOT NULL DEFAULT 0",
                "received TEXT NOT NULL DEFAULT ''",
            ]
        if level is Level.PATIENT:
            cols.append("UNIQUE (patient_id, issuer_of_patient_id)")
        out.append(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(cols)})")
    # Indexes on keys: unique keys are UNIQUE; required keys (and the PN fold) are indexed.
    for a in ATTRIBUTES:
        table = TABLES[a.level]
        if a.key is KeyType.UNIQUE and a.level is not Level.PATIENT:
            out.append(f"CREATE UNIQUE INDEX IF NOT EXISTS ux_{table}_{a.col} ON {table}({a.col})")
        elif a.key is KeyType.REQUIRED or a.keyword in ("PatientID", "SOPClassUID"):
            for col in [a.col, f"{a.col}_ci"] if a.has_ci else [a.col]:
                out.append(f"CREATE INDEX IF NOT EXISTS ix_{table}_{col} ON {table}({col})")
    for level, fk in PARENT_FK.items():
        table = TABLES[level]
        out.append(f"CREATE INDEX IF NOT EXISTS ix_{table}_{fk} ON {table}({fk})")
    out.append(
        "CREATE INDEX IF NOT EXISTS ix_studies_study_date_time ON studies(study_date, study_time_n)"
    )
    return out
