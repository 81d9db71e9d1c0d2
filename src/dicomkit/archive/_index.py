"""The archive's SQL index: Patient / Study / Series / Instance rows (PS3.4 C.6).

:class:`Index` adds and removes instances and answers queries compiled by
:mod:`dicomkit.archive._matching`. Level rows are created by the first instance that names them;
later instances only fill attributes the row still lacks (the first value wins), and the counts
and lists the standard asks the SCP to compute are maintained incrementally on every change.

Every write runs inside :meth:`Database.transaction`; the caller (``Archive.ingest``) puts the
file in place inside the same transaction (one savepoint per instance of a group commit), so an
instance becomes visible to queries only when both its file and its rows are durable.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dicomkit.archive import _normalize as nz
from dicomkit.archive._db import Database
from dicomkit.archive._matching import ALIAS, Query, build_sql
from dicomkit.archive._schema import (
    LEVELS,
    PARENT_FK,
    SCHEMA_VERSION,
    SEQUENCES,
    TABLES,
    Level,
    attrs_at,
    ddl,
)
from dicomkit.core._dataset import Dataset
from dicomkit.errors import ArchiveError
from dicomkit.services._query_retrieve import NON_PATIENT_MODEL_OF

STUDY, SERIES, IMAGE, PATIENT = Level.STUDY, Level.SERIES, Level.IMAGE, Level.PATIENT


@dataclass(slots=True)
class InstanceRecord:
    """What the index keeps of one instance: column texts per level, and sequence items."""

    columns: dict[Level, dict[str, str]] = field(default_factory=dict)
    extra: dict[Level, dict[str, list[dict[str, str]]]] = field(default_factory=dict)

    @property
    def study_uid(self) -> str:
        """The Study Instance UID of this instance."""
        return self.columns[STUDY]["study_instance_uid"]

    @property
    def series_uid(self) -> str:
        """The Series Instance UID of this instance."""
        return self.columns[SERIES]["series_instance_uid"]

    @property
    def sop_uid(self) -> str:
        """The SOP Instance UID of this instance."""
        return self.columns[IMAGE]["sop_instance_uid"]

    @property
    def sop_class(self) -> str:
        """The SOP Class UID of this instance."""
        return self.columns[IMAGE]["sop_class_uid"]


def _items(value: Any) -> list[dict[str, str]]:
    """Sequence items as ``{keyword: text}`` (nested sequences and binary values dropped)."""
    out = []
    for item in value or []:
        entry: dict[str, str] = {}
        if isinstance(item, dict):
            pairs = [(k, v, "") for k, v in item.items()]
        else:
            pairs = []
            for tag in item:
                el = item[tag]
                pairs.append((str(el.keyword), el.value, str(el.vr)))
        for kw, v, vr in pairs:
            if not kw or vr == "SQ" or (isinstance(v, list) and v and not isinstance(v[0], str)):
                continue
            entry[kw] = nz.norm_text(vr, v)
        out.append(entry)
    return out


_SLOW: Any = object()
#: text VRs whose undecoded ASCII bytes :func:`record_from_dataset` normalises directly
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "PN", "SH", "TM", "UI"})
#: VRs whose values :func:`~dicomkit.archive._normalize.norm_value` changes beyond stripping
_REWRITTEN_VRS = frozenset({"PN", "IS", "DA"})


def _norm_text(vr: str, value: Any) -> str:
    """:func:`~dicomkit.archive._normalize.norm_text`, with a shortcut for the common case (one
    plain text value): same result, less work."""
    if type(value) is str:
        s = value.strip(" \0")
        if "\\" not in s:
            return s if vr not in _REWRITTEN_VRS or not s else nz.norm_value(vr, s)
    return nz.norm_text(vr, value)


@functools.cache
def _plan(level: Level) -> tuple[tuple[int, str, str, bool, bool], ...]:
    """(tag, vr, column, has_ci, has_norm) of each stored attribute of a level, computed once."""
    return tuple(
        (a.tag, a.vr, a.col, a.has_ci, a.has_norm) for a in attrs_at(level) if not a.computed
    )


def record_from_dataset(ds: Any, *, transfer_syntax: str | None = None) -> InstanceRecord:
    """Extract an :class:`InstanceRecord` from a Dataset (or any ``.get(keyword)`` mapping)."""
    rec = InstanceRecord()
    by_tag = isinstance(ds, Dataset)
    for level in LEVELS:
        cols: dict[str, str] = {}
        plan = (
            _plan(level)
            if by_tag
            else tuple(
                (a.keyword, a.vr, a.col, a.has_ci, a.has_norm)
                for a in attrs_at(level)
                if not a.computed
            )
        )
        d = ds.raw_elements if by_tag else None
        for key, vr, col, has_ci, has_norm in plan:
            entry = d.get(key) if d is not None else _SLOW
            if entry is None:
                s = ""
            elif (
                type(entry) is tuple
                and entry[0] == vr
                and vr in _TEXT_VRS
                and (raw := bytes(entry[1])).isascii()
                and b"\x1b" not in raw
            ):
                # never decoded, plain ASCII text: what decoding it first would give
                s = _norm_text(vr, raw.decode("ascii"))
            else:
                value = ds.get(key, None)
                s = _norm_text(vr, value) if value is not None else ""
            cols[col] = s
            if has_ci:
                cols[f"{col}_ci"] = s.upper()
            if has_norm:
                cols[f"{col}_n"] = nz.shadow(vr, s) if s else ""
        rec.columns[level] = cols
        rec.extra[level] = {}
    for kw, (_tag, level) in SEQUENCES.items():
        value = ds.get(kw, None)
        if value:
            rec.extra[level][kw] = _items(value)
    ts = transfer_syntax
    if ts is None:
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            ts = meta.get("TransferSyntaxUID", None)
        ts = ts or getattr(ds, "transfer_syntax", None)
    rec.columns[IMAGE]["transfer_syntax"] = nz.text(ts)
    if not rec.columns[IMAGE]["sop_class_uid"]:
        meta = getattr(ds, "file_meta", None)
        sop_class = meta.get("MediaStorageSOPClassUID", None) if meta is not None else None
        rec.columns[IMAGE]["sop_class_uid"] = nz.text(sop_class)
    # non-patient objects (Hanging Protocol ...) have no study or series: stored apart
    # (dicomkit.archive._nonpatient), they need a SOP Instance UID only
    non_patient = rec.columns[IMAGE]["sop_class_uid"] in NON_PATIENT_MODEL_OF
    for kw, level in (
        ("StudyInstanceUID", STUDY),
        ("SeriesInstanceUID", SERIES),
        ("SOPInstanceUID", IMAGE),
    ):
        col = {
            "StudyInstanceUID": "study_instance_uid",
            "SeriesInstanceUID": "series_instance_uid",
            "SOPInstanceUID": "sop_instance_uid",
        }[kw]
        if not rec.columns[level][col] and not (non_patient and level is not IMAGE):
            raise ArchiveError(f"the instance has no {kw}")
    return rec


@dataclass(frozen=True, slots=True)
class StoredInstance:
    """An instance row as retrieval needs it."""

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax: str
    path: str
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    #: the file's checksum as stored (``crc32:...``; "" when none was kept)
    checksum: str = ""


class Index:
    """The SQL index over one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction():
            for stmt in ddl(db.dialect):
                db.execute(stmt)
            try:  # an index made before checksums were kept: add the column (empty)
                with db.savepoint():
                    db.execute("SELECT checksum FROM instances WHERE 1 = 0")
            except Exception:  # noqa: BLE001 -- sqlite3 / psycopg errors alike
                db.execute("ALTER TABLE instances ADD COLUMN checksum TEXT NOT NULL DEFAULT ''")
            if db.scalar("SELECT value FROM meta WHERE name = ?", ("schema",)) is None:
                db.execute(
                    "INSERT INTO meta (name, value) VALUES (?, ?)", ("schema", str(SCHEMA_VERSION))
                )

    @classmethod
    def open(cls, url: str) -> Index:
        """Open (or create) the index at ``url``: a SQLite file path or ``sqlite:///path``, or a
        ``postgresql://`` URL."""
        return cls(Database.connect(url))

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    # -- writing --------------------------------------------------------------------------

    def _get_or_insert(
        self,
        level: Level,
        cols: dict[str, Any],
        extra: dict[str, Any],
        parent_id: int | None,
        *,
        lookup: bool = True,
        overwrite: bool = False,
    ) -> tuple[int, bool, int | None]:
        """The row id of a level entity (inserted when new), whether it is new, and its
        parent id as stored (None for patients and new rows). ``overwrite``: an existing
        row takes every value of ``cols`` (a replaced instance), not only the missing ones."""
        table = TABLES[level]
        key: tuple[str, ...]
        if level is PATIENT:
            where, key = (
                "patient_id = ? AND issuer_of_patient_id = ?",
                (cols["patient_id"], cols["issuer_of_patient_id"]),
            )
        else:
            ucol = {
                STUDY: "study_instance_uid",
                SERIES: "series_instance_uid",
                IMAGE: "sop_instance_uid",
            }[level]
            where, key = f"{ucol} = ?", (cols[ucol],)
        if level is IMAGE:
            # lookup=False: the caller has just checked that the instance is not indexed
            row = self.db.query(f"SELECT id FROM {table} WHERE {where}", key) if lookup else []
            if row:
                return int(row[0][0]), False, None
        else:
            # one SELECT gives the id, the parent and the values a later instance may fill
            fill = [n for n, v in cols.items() if v and not n.endswith(("_ci", "_n"))]
            fk = PARENT_FK.get(level)
            names = ["id", fk or "id", *fill]
            rows = self.db.query(f"SELECT {', '.join(names)} FROM {table} WHERE {where}", key)
            if rows and overwrite:
                ident = int(rows[0][0])
                sets = ", ".join(f"{n} = ?" for n in cols)
                self.db.execute(
                    f"UPDATE {table} SET {sets}, extra = ? WHERE id = ?",
                    [*cols.values(), json.dumps(extra) if extra else "", ident],
                )
                return ident, False, int(rows[0][1]) if fk else None
            if rows:
                ident = int(rows[0][0])
                gaps = [n for n, have in zip(fill, rows[0][2:], strict=True) if not have]
                if gaps:
                    self._fill_gaps(
                        table,
                        ident,
                        {n: cols[n] for n in gaps}
                        | {
                            sh: cols[sh] for n in gaps for sh in (f"{n}_ci", f"{n}_n") if sh in cols
                        },
                    )
                return ident, False, int(rows[0][1]) if fk else None
        names = list(cols)
        values: list[Any] = [cols[n] for n in names]
        names.append("extra")
        values.append(json.dumps(extra) if extra else "")
        if parent_id is not None:
            names.append(PARENT_FK[level])
            values.append(parent_id)
        marks = ", ".join("?" for _ in names)
        cur = self.db.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks}) RETURNING id", values
        )
        return int(cur.fetchone()[0]), True, None

    def _fill_gaps(self, table: str, ident: int, cols: dict[str, Any]) -> None:
        """Values a later instance has and the entity's row lacks are added (the first value
        of an attribute wins; an empty one does not). The CASE keeps a value another node
        wrote since our SELECT (a shared PostgreSQL index)."""
        sets: list[str] = []
        params: list[Any] = []
        for name, value in cols.items():
            if not value or name.endswith(("_ci", "_n")):
                continue
            sets.append(f"{name} = CASE WHEN {name} = '' THEN ? ELSE {name} END")
            params.append(value)
            for shadow in (f"{name}_ci", f"{name}_n"):
                if shadow in cols:
                    sets.append(f"{shadow} = CASE WHEN {name} = '' THEN ? ELSE {shadow} END")
                    params.append(cols[shadow])
        if sets:
            self.db.execute(f"UPDATE {table} SET {', '.join(sets)} WHERE id = ?", [*params, ident])

    def add(
        self,
        rec: InstanceRecord,
        path: str,
        size: int = 0,
        *,
        known_new: bool = False,
        checksum: str = "",
    ) -> bool:
        """Index one instance stored at ``path`` (relative to the store root). Returns False when
        the SOP Instance UID was already indexed (its row is then updated in place).
        ``known_new``: the caller has just looked the SOP Instance UID up in the same
        transaction and found nothing (saves the look-ups)."""
        with self.db.transaction():
            # A replaced instance (duplicates policy "replace") is the sender's correction:
            # its old rows go (with level rows left empty), the new ones come in, and the
            # entities it names take its values (patient name, study attributes ...); an
            # instance re-sent under another study or series moves there.
            replaced = not known_new and self.remove(rec.sop_uid)
            pid, _new, _ = self._get_or_insert(
                PATIENT, rec.columns[PATIENT], rec.extra[PATIENT], None, overwrite=replaced
            )
            st, new_st, st_patient = self._get_or_insert(
                STUDY, rec.columns[STUDY], rec.extra[STUDY], pid, overwrite=replaced
            )
            if st_patient is not None and st_patient != pid:
                if replaced:  # the correction moves the study to the patient it names
                    self.db.execute("UPDATE studies SET patient_fk = ? WHERE id = ?", (pid, st))
                    self._drop_if_empty("patients", "studies", "patient_fk", st_patient)
                    if self._exists("patients", st_patient):
                        self.recount(pid=st_patient)
                else:  # the study may belong to a patient row made earlier
                    pid = st_patient
            se, new_se, st_owner = self._get_or_insert(
                SERIES, rec.columns[SERIES], rec.extra[SERIES], st, overwrite=replaced
            )
            if st_owner is not None and st_owner != st:
                if not replaced:
                    raise ArchiveError(f"series {rec.series_uid} belongs to another study")
                self.db.execute("UPDATE series SET study_fk = ? WHERE id = ?", (st, se))
                self._drop_if_empty("studies", "series", "study_fk", st_owner)
                if self._exists("studies", st_owner):
                    self.recount(st=st_owner)
            cols: dict[str, Any] = dict(rec.columns[IMAGE])
            cols.update(
                path=path,
                size=int(size),
                checksum=checksum,
                received=time.strftime("%Y%m%d%H%M%S", time.gmtime()),
            )
            self._get_or_insert(IMAGE, cols, rec.extra[IMAGE], se, lookup=False)
            if replaced:
                self.recount(pid, st, se)
                return False
            self._bump(pid, st, se, new_st, new_se, rec)
            return True

    def _exists(self, table: str, ident: int) -> bool:
        return bool(self.db.scalar(f"SELECT COUNT(*) FROM {table} WHERE id = ?", (ident,)))

    def _drop_if_empty(self, table: str, child: str, fk: str, ident: int) -> None:
        if not self.db.scalar(f"SELECT COUNT(*) FROM {child} WHERE {fk} = ?", (ident,)):
            self.db.execute(f"DELETE FROM {table} WHERE id = ?", (ident,))

    def _bump(
        self, pid: int, st: int, se: int, new_st: bool, new_se: bool, rec: InstanceRecord
    ) -> None:
        ex = self.db.execute
        ex("UPDATE series SET n_instances = n_instances + 1 WHERE id = ?", (se,))
        ex(
            "UPDATE studies SET n_instances = n_instances + 1, n_series = n_series + ? "
            "WHERE id = ?",
            (int(new_se), st),
        )
        ex(
            "UPDATE patients SET n_instances = n_instances + 1, n_series = n_series + ?, "
            "n_studies = n_studies + ? WHERE id = ?",
            (int(new_se), int(new_st), pid),
        )
        row = self.db.query(
            "SELECT modalities_in_study, sop_classes_in_study FROM studies WHERE id = ?", (st,)
        )[0]
        mods = _add_value(row[0], rec.columns[SERIES]["modality"])
        classes = _add_value(row[1], rec.sop_class)
        if (mods, classes) != (row[0], row[1]):
            ex(
                "UPDATE studies SET modalities_in_study = ?, sop_classes_in_study = ? WHERE id = ?",
                (mods, classes, st),
            )

    def remove(self, sop_uid: str) -> bool:
        """Remove an instance row (and level rows left empty); counts are recomputed."""
        with self.db.transaction():
            row = self.db.query(
                "SELECT i.id, se.id, st.id, st.patient_fk FROM instances i JOIN series se ON "
                "i.series_fk = se.id JOIN studies st ON se.study_fk = st.id "
                "WHERE i.sop_instance_uid = ?",
                (sop_uid,),
            )
            if not row:
                return False
            iid, se, st, pid = row[0]
            self.db.execute("DELETE FROM instances WHERE id = ?", (iid,))
            for table, fk, ident in (
                ("series", "series_fk", se),
                ("studies", "study_fk", st),
                ("patients", "patient_fk", pid),
            ):
                child = {"series": "instances", "studies": "series", "patients": "studies"}[table]
                if not self.db.scalar(f"SELECT COUNT(*) FROM {child} WHERE {fk} = ?", (ident,)):
                    self.db.execute(f"DELETE FROM {table} WHERE id = ?", (ident,))
            self.recount(pid, st, se)
            return True

    def recount(self, pid: int | None = None, st: int | None = None, se: int | None = None) -> None:
        """Recompute the derived counts and lists (all rows when no ids are given)."""
        ex = self.db.execute
        one = " WHERE id = ?"
        ex(
            "UPDATE series SET n_instances = (SELECT COUNT(*) FROM instances i WHERE "
            "i.series_fk = series.id)" + (one if se else ""),
            (se,) if se else (),
        )
        ex(
            "UPDATE studies SET n_series = (SELECT COUNT(*) FROM series se WHERE se.study_fk = "
            "studies.id), n_instances = (SELECT COUNT(*) FROM instances i JOIN series se ON "
            "i.series_fk = se.id WHERE se.study_fk = studies.id)" + (one if st else ""),
            (st,) if st else (),
        )
        ex(
            "UPDATE patients SET n_studies = (SELECT COUNT(*) FROM studies st WHERE "
            "st.patient_fk = patients.id), n_series = (SELECT COUNT(*) FROM series se JOIN "
            "studies st ON se.study_fk = st.id WHERE st.patient_fk = patients.id), n_instances = "
            "(SELECT COUNT(*) FROM instances i JOIN series se ON i.series_fk = se.id JOIN studies "
            "st ON se.study_fk = st.id WHERE st.patient_fk = patients.id)" + (one if pid else ""),
            (pid,) if pid else (),
        )
        studies = [(st,)] if st else self.db.query("SELECT id FROM studies")
        for (sid,) in studies:
            mods = self.db.query(
                "SELECT DISTINCT modality FROM series WHERE study_fk = ? ORDER BY modality", (sid,)
            )
            classes = self.db.query(
                "SELECT DISTINCT i.sop_class_uid FROM instances i JOIN series se ON "
                "i.series_fk = se.id WHERE se.study_fk = ? ORDER BY i.sop_class_uid",
                (sid,),
            )
            ex(
                "UPDATE studies SET modalities_in_study = ?, sop_classes_in_study = ? WHERE id = ?",
                ("\\".join(m for (m,) in mods if m), "\\".join(c for (c,) in classes if c), sid),
            )

    # -- reading --------------------------------------------------------------------------

    def lookup(self, sop_uid: str) -> StoredInstance | None:
        """The stored instance with this SOP Instance UID, or ``None``."""
        rows = self.db.query(
            "SELECT i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax, i.path, "
            "st.study_instance_uid, se.series_instance_uid FROM instances i JOIN series se ON "
            "i.series_fk = se.id JOIN studies st ON se.study_fk = st.id "
            "WHERE i.sop_instance_uid = ?",
            (sop_uid,),
        )
        return StoredInstance(*rows[0]) if rows else None

    def checksums(self) -> dict[str, str]:
        """``{relative path: checksum}`` of every indexed instance ("" when none was kept)."""
        return dict(self.db.query("SELECT path, checksum FROM instances"))

    def checksum_of(self, path: str) -> str:
        """The checksum kept for the file at ``path`` ("" when none)."""
        return str(self.db.scalar("SELECT checksum FROM instances WHERE path = ?", (path,)) or "")

    def paths(self) -> dict[str, str]:
        """``{relative path: SOP Instance UID}`` of every indexed instance."""
        return dict(self.db.query("SELECT path, sop_instance_uid FROM instances"))

    def ping(self) -> None:
        """A cheap query that reads the schema row and one instance row (the health check):
        raises ``ArchiveError`` when the index does not answer or is damaged."""
        if self.db.scalar("SELECT value FROM meta WHERE name = ?", ("schema",)) is None:
            raise ArchiveError("the index has no schema row: it is not a dicomkit index")
        self.db.query("SELECT sop_instance_uid, path FROM instances LIMIT 1")

    def count(self, level: Level = IMAGE) -> int:
        """How many rows the ``level`` table holds (instances by default)."""
        return int(self.db.scalar(f"SELECT COUNT(*) FROM {TABLES[level]}"))

    def select(self, query: Query) -> tuple[list[str], Iterator[tuple[Any, ...]], list[Any]]:
        """Run the query's SQL: the column names, the rows, and Python-side conditions."""
        from dicomkit.archive._results import select_columns

        columns = select_columns(query)
        sql, params, post = build_sql(query, self.db, columns)
        rows = self.db.query(sql, params)
        return columns, iter(rows), post

    def instances(self, query: Query) -> list[StoredInstance]:
        """Every instance under the entities matched by a retrieve query (C-MOVE / C-GET)."""
        from dicomkit.archive._matching import build_where, from_clause

        where, params, _post = build_where(query, self.db)
        sql = (
            f"SELECT i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax, i.path, "
            f"st.study_instance_uid, se.series_instance_uid, i.checksum "
            f"FROM {from_clause(IMAGE)} "
            f"WHERE {where} ORDER BY {ALIAS[STUDY]}.id, {ALIAS[SERIES]}.id, i.id"
        )
        return [StoredInstance(*row) for row in self.db.query(sql, params)]


def _add_value(joined: str, value: str) -> str:
    if not value:
        return joined
    vals = joined.split("\\") if joined else []
    if value in vals:
        return joined
    return "\\".join(sorted([*vals, value]))
