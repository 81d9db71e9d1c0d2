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

from dicomkit.dictionary import tags


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
    Attr("PatientName", tags.PatientName, "PN", P, R),
    Attr("PatientID", tags.PatientID, "LO", P, U),
    Attr("IssuerOfPatientID", tags.IssuerOfPatientID, "LO", P),
    Attr("PatientBirthDate", tags.PatientBirthDate, "DA", P),
    Attr("PatientBirthTime", tags.PatientBirthTime, "TM", P),
    Attr("PatientSex", tags.PatientSex, "CS", P),
    Attr("OtherPatientIDs", tags.OtherPatientIDs, "LO", P, multi=True),
    Attr("OtherPatientNames", tags.OtherPatientNames, "PN", P, multi=True),
    Attr("EthnicGroup", tags.EthnicGroup, "SH", P),
    Attr("PatientComments", tags.PatientComments, "LT", P),
    Attr(
        "NumberOfPatientRelatedStudies",
        tags.NumberOfPatientRelatedStudies,
        "IS",
        P,
        computed=True,
        column="n_studies",
    ),
    Attr(
        "NumberOfPatientRelatedSeries",
        tags.NumberOfPatientRelatedSeries,
        "IS",
        P,
        computed=True,
        column="n_series",
    ),
    Attr(
        "NumberOfPatientRelatedInstances",
        tags.NumberOfPatientRelatedInstances,
        "IS",
        P,
        computed=True,
        column="n_instances",
    ),
    # Study level (C.6-2 / C.6-5)
    Attr("StudyDate", tags.StudyDate, "DA", S, R),
    Attr("StudyTime", tags.StudyTime, "TM", S, R),
    Attr("AccessionNumber", tags.AccessionNumber, "SH", S, R),
    Attr("StudyID", tags.StudyID, "SH", S, R),
    Attr("StudyInstanceUID", tags.StudyInstanceUID, "UI", S, U),
    Attr("ReferringPhysicianName", tags.ReferringPhysicianName, "PN", S),
    Attr("StudyDescription", tags.StudyDescription, "LO", S),
    Attr("NameOfPhysiciansReadingStudy", tags.NameOfPhysiciansReadingStudy, "PN", S, multi=True),
    Attr("AdmittingDiagnosesDescription", tags.AdmittingDiagnosesDescription, "LO", S, multi=True),
    Attr("PatientAge", tags.PatientAge, "AS", S),
    Attr("PatientSize", tags.PatientSize, "DS", S),
    Attr("PatientWeight", tags.PatientWeight, "DS", S),
    Attr("ModalitiesInStudy", tags.ModalitiesInStudy, "CS", S, multi=True, computed=True),
    Attr(
        "SOPClassesInStudy",
        tags.SOPClassesInStudy,
        "UI",
        S,
        multi=True,
        computed=True,
        column="sop_classes_in_study",
    ),
    Attr(
        "NumberOfStudyRelatedSeries",
        tags.NumberOfStudyRelatedSeries,
        "IS",
        S,
        computed=True,
        column="n_series",
    ),
    Attr(
        "NumberOfStudyRelatedInstances",
        tags.NumberOfStudyRelatedInstances,
        "IS",
        S,
        computed=True,
        column="n_instances",
    ),
    # Series level (C.6-3)
    Attr("Modality", tags.Modality, "CS", E, R),
    Attr("SeriesNumber", tags.SeriesNumber, "IS", E, R),
    Attr("SeriesInstanceUID", tags.SeriesInstanceUID, "UI", E, U),
    Attr("SeriesDescription", tags.SeriesDescription, "LO", E),
    Attr("SeriesDate", tags.SeriesDate, "DA", E),
    Attr("SeriesTime", tags.SeriesTime, "TM", E),
    Attr("BodyPartExamined", tags.BodyPartExamined, "CS", E),
    Attr("Laterality", tags.Laterality, "CS", E),
    Attr("ProtocolName", tags.ProtocolName, "LO", E),
    Attr(
        "PerformedProcedureStepStartDate",
        tags.PerformedProcedureStepStartDate,
        "DA",
        E,
        column="pps_start_date",
    ),
    Attr(
        "PerformedProcedureStepStartTime",
        tags.PerformedProcedureStepStartTime,
        "TM",
        E,
        column="pps_start_time",
    ),
    Attr("Manufacturer", tags.Manufacturer, "LO", E),
    Attr("InstitutionName", tags.InstitutionName, "LO", E),
    Attr("StationName", tags.StationName, "SH", E),
    Attr(
        "NumberOfSeriesRelatedInstances",
        tags.NumberOfSeriesRelatedInstances,
        "IS",
        E,
        computed=True,
        column="n_instances",
    ),
    # Composite object instance level (C.6-4)
    Attr("InstanceNumber", tags.InstanceNumber, "IS", I, R),
    Attr("SOPInstanceUID", tags.SOPInstanceUID, "UI", I, U),
    Attr("SOPClassUID", tags.SOPClassUID, "UI", I),
    Attr("ImageType", tags.ImageType, "CS", I, multi=True),
    Attr("ContentDate", tags.ContentDate, "DA", I),
    Attr("ContentTime", tags.ContentTime, "TM", I),
    Attr("AcquisitionDate", tags.AcquisitionDate, "DA", I),
    Attr("AcquisitionTime", tags.AcquisitionTime, "TM", I),
    Attr("AcquisitionDateTime", tags.AcquisitionDateTime, "DT", I),
    Attr("Rows", tags.Rows, "US", I),
    Attr("Columns", tags.Columns, "US", I),
    Attr("NumberOfFrames", tags.NumberOfFrames, "IS", I),
    Attr("BitsAllocated", tags.BitsAllocated, "US", I),
    Attr("CompletionFlag", tags.CompletionFlag, "CS", I),
    Attr("VerificationFlag", tags.VerificationFlag, "CS", I),
    Attr(
        "AvailableTransferSyntaxUID",
        tags.AvailableTransferSyntaxUID,
        "UI",
        I,
        column="transfer_syntax",
    ),
)

#: Sequence attributes kept per level as JSON (a list of items, each keyword -> text) in the
#: level's ``extra`` column; matched in Python after the SQL pre-selection (PS3.4 C.2.2.2.6).
SEQUENCES: dict[str, tuple[int, Level]] = {
    "OtherPatientIDsSequence": (tags.OtherPatientIDsSequence, P),
    "IssuerOfAccessionNumberSequence": (tags.IssuerOfAccessionNumberSequence, S),
    "ProcedureCodeSequence": (tags.ProcedureCodeSequence, S),
    "ReferencedStudySequence": (tags.ReferencedStudySequence, S),
    "RequestAttributesSequence": (tags.RequestAttributesSequence, E),
    "ConceptNameCodeSequence": (tags.ConceptNameCodeSequence, I),
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
    TIMEZONE_OFFSET: "TimezoneOffsetFromUTC",
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
                # "crc32:xxxxxxxx" of the whole file, computed while it was written
                "checksum TEXT NOT NULL DEFAULT ''",
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
