"""Non-patient objects in the archive: Hanging Protocols, Color Palettes, Defined Procedure
Protocols, Protocol Approvals and Implant Templates (PS3.4 U, X, HH, GG and the implant
template annexes) -- instances outside any patient and study.

They are not part of the Patient / Study / Series / Instance index. Each is stored as
``ROOT/.nonpatient/<model>/<SOPInstanceUID>.dcm`` (the folder is skipped by the patient
index's file walk) and indexed in the table ``non_patient_instance``: SOP class, model,
path, transfer syntax, and the instance's attributes as ``{keyword: text}`` (sequences as
lists of items, nested ones included), so that any attribute can be a matching or return key.

Each has its own information model (:data:`dicomkit.services._query_retrieve.NON_PATIENT`),
with a single level, the instance: C-FIND matches its keys (PS3.4 C.2.2.2: single value,
universal, wildcard, range on dates and times, list of UIDs, sequence matching with one
item; person names case-insensitively), C-MOVE / C-GET take SOP Instance UIDs. The
Hanging Protocol keys of PS3.4 U.6.1.2 (name, description, level, creator, date-time,
number of priors, user group name, user identification code sequence) and the Color Palette
ones of X.1 (Content Label ...) are plain attributes of the instance; a sequence key matches
an instance when one stored item matches every key of the query's item, nested sequences
included: the Hanging Protocol Definition Sequence item's Modality and Laterality with its
Anatomic Region, Procedure Code and Reason for Requested Procedure code sequences must all
hold in the same item.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dicomkit.archive import _normalize as nz
from dicomkit.archive._db import Database
from dicomkit.archive._matching import QueryError
from dicomkit.archive._store import (
    DuplicateInstanceError,
    DuplicatePolicy,
    check_uid,
    file_checksum,
    fsync_dir,
    sync_data,
)
from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import tag_for_keyword, tags, vr_for_tag
from dicomkit.errors import ArchiveError
from dicomkit.services import _query_retrieve as qr

log = logging.getLogger("dicomkit.archive._nonpatient")

FOLDER = ".nonpatient"
_BINARY = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
_SKIP_KEYS = frozenset({tags.QueryRetrieveLevel, tags.SpecificCharacterSet})
_DDL = (
    "CREATE TABLE IF NOT EXISTS non_patient_instance ("
    " sop_instance_uid TEXT PRIMARY KEY,"
    " sop_class_uid TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " path TEXT NOT NULL,"
    " transfer_syntax TEXT NOT NULL,"
    " size BIGINT NOT NULL,"
    " attrs TEXT NOT NULL)"
)


def model_of(sop_class: str) -> qr.Model | None:
    """The non-patient information model an instance of ``sop_class`` belongs to, or None for
    a patient object."""
    return qr.NON_PATIENT_MODEL_OF.get(sop_class)


def attributes(ds: Any) -> dict[str, Any]:
    """The indexed attributes of an instance: ``{keyword: text}`` for every public, non-binary
    element, ``{keyword: [{...}, ...]}`` for sequences, nested ones included (the Hanging
    Protocol Definition Sequence's Anatomic Region / Procedure Code sequences, PS3.4 U.1)."""
    return _attrs(ds, _MAX_DEPTH)


#: how deep nested sequences are indexed
_MAX_DEPTH = 4


def _attrs(ds: Any, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag in ds:
        if tag >> 16 in (0x0002, 0xFFFE) or (tag >> 16) & 1:
            continue
        el = ds[tag]
        kw, vr = str(el.keyword or ""), str(el.vr)
        if not kw or vr in _BINARY:
            continue
        if vr == "SQ":
            if depth > 0:
                out[kw] = [_attrs(item, depth - 1) for item in el.value or []]
        else:
            out[kw] = nz.norm_text(vr, el.value)
    return out


class NonPatientStore:
    """The non-patient instances of an archive: files under ``ROOT/.nonpatient`` and their
    rows in the archive's database."""

    def __init__(self, root: Path, db: Database) -> None:
        self.root = root
        self.folder = root / FOLDER
        self.db = db
        with db.transaction():
            db.execute(_DDL)
        from dicomkit.archive._nonpatient_check import ensure_checksum_column

        ensure_checksum_column(db)

    # -- storing --------------------------------------------------------------------------

    def ingest(
        self, temp: Path, ds: Any, *, synced: bool, policy: DuplicatePolicy
    ) -> tuple[Path, str]:
        """Put a received non-patient instance (a complete Part 10 file at ``temp``) in place
        and index it; ``(path, outcome)`` with outcome ``stored``, ``replaced`` or ``kept``
        (the duplicates ``policy`` as for patient objects; ``reject`` raises
        :class:`~dicomkit.archive._store.DuplicateInstanceError`)."""
        if ds is None:
            import dicomkit

            ds = dicomkit.read(temp)
        sop_class = nz.text(ds.get("SOPClassUID"))
        model = model_of(sop_class)
        if model is None:
            raise ArchiveError(f"{sop_class} is not a non-patient object")
        sop = check_uid(nz.text(ds.get("SOPInstanceUID")), "SOP Instance UID")
        rel = f"{FOLDER}/{model.value.lower()}/{sop}.dcm"
        final = self.root / rel
        old = self.db.scalar(
            "SELECT path FROM non_patient_instance WHERE sop_instance_uid = ?", (sop,)
        )
        if old is not None and policy is not DuplicatePolicy.REPLACE:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            if policy is DuplicatePolicy.REJECT:
                raise DuplicateInstanceError(f"instance {sop} is already stored")
            return final, "kept"
        if not synced:
            sync_data(temp)
        final.parent.mkdir(parents=True, exist_ok=True)
        ts = str(
            getattr(getattr(ds, "file_meta", None), "get", lambda _k: "")("TransferSyntaxUID") or ""
        )
        ts = nz.text(ts) or str(ds.transfer_syntax or "")
        checksum = file_checksum(temp)  # kept for `dicomkit archive verify`
        with self.db.transaction():
            self.db.execute("DELETE FROM non_patient_instance WHERE sop_instance_uid = ?", (sop,))
            self.db.execute(
                "INSERT INTO non_patient_instance (sop_instance_uid, sop_class_uid, model, path,"
                " transfer_syntax, size, attrs, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sop,
                    sop_class,
                    model.value,
                    rel,
                    ts,
                    temp.stat().st_size,
                    json.dumps(attributes(ds)),
                    checksum,
                ),
            )
            os.replace(temp, final)
            fsync_dir(final.parent)
        log.info("non-patient %s stored: %s", model.name, sop)
        return final, "replaced" if old is not None else "stored"

    def count(self, model: qr.Model | None = None) -> int:
        """How many non-patient instances are stored (of ``model``, or of all)."""
        if model is None:
            return int(self.db.scalar("SELECT COUNT(*) FROM non_patient_instance") or 0)
        return int(
            self.db.scalar(
                "SELECT COUNT(*) FROM non_patient_instance WHERE model = ?", (model.value,)
            )
            or 0
        )

    # -- Q/R ------------------------------------------------------------------------------

    def _rows(self, model: qr.Model) -> Iterator[tuple[str, str, str, str, dict[str, Any]]]:
        for sop, sop_class, path, ts, attrs in self.db.query(
            "SELECT sop_instance_uid, sop_class_uid, path, transfer_syntax, attrs"
            " FROM non_patient_instance WHERE model = ? ORDER BY sop_instance_uid",
            (model.value,),
        ):
            yield sop, sop_class, path, ts, json.loads(attrs)

    def find(self, identifier: Dataset, model: qr.Model) -> tuple[list[Dataset], bool]:
        """C-FIND in a non-patient model: the response identifiers, and whether a key could
        not be matched (never: every stored attribute is matchable)."""
        keys = _keys(identifier)
        out = []
        for _sop, _cls, _path, _ts, attrs in self._rows(model):
            if all(_matches(k, attrs) for k in keys):
                out.append(_response(identifier, keys, attrs))
        return out, False

    def retrieve(self, identifier: Dataset, model: qr.Model) -> list[tuple[str, str, str, Path]]:
        """C-MOVE / C-GET in a non-patient model: ``(sop_class, sop_instance, transfer_syntax,
        path)`` of the instances the SOP Instance UID key names (a list: several)."""
        el = identifier.get("SOPInstanceUID")
        wanted = set(nz.values(getattr(el, "value", el)))
        if not wanted:
            raise QueryError(
                "a non-patient retrieve names its instances by SOP Instance UID (0008,0018)"
            )
        return [
            (cls, sop, ts, self.root / path)
            for sop, cls, path, ts, _a in self._rows(model)
            if sop in wanted
        ]


# -- matching (PS3.4 C.2.2.2) ------------------------------------------------------------------

Key = tuple[str, str, Any]  # keyword, vr, value (sequence keys: list of sub-keys of one item)


def _keys(identifier: Dataset, top: bool = True) -> list[Key]:
    out: list[Key] = []
    for tag in identifier:
        if (top and tag in _SKIP_KEYS) or (tag >> 16) & 1 or tag & 0xFFFF == 0:
            continue
        el = identifier[tag]
        kw, vr = str(el.keyword or ""), str(el.vr)
        if not kw:
            continue
        if vr == "SQ":
            items = list(el.value or [])
            # one item: its keys match (sequence matching, PS3.4 C.2.2.2.6); zero: universal
            out.append((kw, "SQ", _keys(items[0], False) if items else None))
        else:
            out.append((kw, vr, el.value))
    return out


def _matches(key: Key, attrs: dict[str, Any]) -> bool:
    """Does the stored ``attrs`` match ``key``? A sequence key matches when some stored item
    matches every matching key of the query's item, nested sequences included (PS3.4
    C.2.2.2.6; the Hanging Protocol Definition Sequence of U.1)."""
    kw, vr, value = key
    if vr == "SQ":
        if not value or not any(_is_matching(k) for k in value):
            return True
        items = attrs.get(kw)
        if not isinstance(items, list):
            return False
        return any(all(_matches(k, item) for k in value) for item in items)
    if not nz.values(value):
        return True  # universal: a return key
    stored = attrs.get(kw)
    return isinstance(stored, str) and _value_matches(vr, value, stored)


def _is_matching(key: Key) -> bool:
    """Does ``key`` (or a key inside it) hold a value to match on?"""
    _kw, vr, value = key
    if vr == "SQ":
        return bool(value) and any(_is_matching(k) for k in value)
    return bool(nz.values(value))


def _value_matches(vr: str, value: Any, stored: str) -> bool:
    wanted = nz.values(value)
    if not wanted:
        return True
    have = stored.split("\\") if stored else []
    if vr == "UI":  # list of UIDs
        return any(h in wanted for h in have)
    pattern = wanted[0] if len(wanted) == 1 else "\\".join(wanted)
    if vr in ("DA", "TM", "DT"):
        rng = nz.split_range(vr, pattern)
        if rng is not None:
            lo, hi = rng
            return any((not lo or h >= lo) and (not hi or h[: len(hi)] <= hi) for h in have)
    if vr == "PN":
        pattern, have = nz.norm_pn(pattern).upper(), [h.upper() for h in have]
    if "*" in pattern or "?" in pattern:
        rx = re.compile(
            "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
            re.DOTALL,
        )
        return any(rx.fullmatch(h) for h in have) or bool(rx.fullmatch(stored))
    norm = nz.norm_value(vr, pattern) if vr != "PN" else pattern
    return norm in have or norm == (stored.upper() if vr == "PN" else stored)


def _response(identifier: Dataset, keys: list[Key], attrs: dict[str, Any]) -> Dataset:
    elements: list[tuple[int, str, str, Any]] = []
    if "SpecificCharacterSet" in attrs:
        elements.append(
            (
                tags.SpecificCharacterSet,
                "SpecificCharacterSet",
                "CS",
                attrs["SpecificCharacterSet"].split("\\"),
            )
        )
    for kw, vr, value in keys:
        tag = tag_for_keyword(kw)
        if tag is None:
            continue
        stored = attrs.get(kw)
        if vr == "SQ":
            items = stored if isinstance(stored, list) else []
            elements.append((tag, kw, "SQ", [_item(value, it) for it in items]))
            continue
        text = stored if isinstance(stored, str) else ""
        elements.append(
            (tag, kw, vr_for_tag(tag) or vr, text.split("\\") if "\\" in text else text)
        )
    level = identifier.get("QueryRetrieveLevel")
    if level is not None:
        elements.append(
            (
                tags.QueryRetrieveLevel,
                "QueryRetrieveLevel",
                "CS",
                nz.text(getattr(level, "value", level)),
            )
        )
    elements.sort(key=lambda e: e[0])
    return qr.elements_to_dataset(elements)


def _item(keys: list[Key] | None, stored: dict[str, Any]) -> dict[str, Any]:
    """A response item: the query item's keys from a stored item (every stored attribute
    when the query's sequence had no item)."""
    out: dict[str, Any] = {}
    if keys is None:
        for k, v in stored.items():
            value = _seq([_item(None, it) for it in v]) if isinstance(v, list) else _typed(k, v)
            if value is not None:
                out[k] = value
        return out
    for k, vr, sub in keys:
        have = stored.get(k)
        if vr == "SQ":
            out[k] = _seq([_item(sub, it) for it in have] if isinstance(have, list) else [])
            continue
        value = _typed(k, have if isinstance(have, str) else "")
        if value is not None:
            out[k] = value
    return out


def _seq(items: list[dict[str, Any]]) -> Sequence:
    """A nested sequence of a response item."""
    seq = Sequence()
    for item in items:
        ds = Dataset()
        for k, v in item.items():
            ds.set(k, v)
        seq.append(ds)
    return seq


def _typed(keyword: str, text: str) -> Any:
    tag = tag_for_keyword(keyword)
    vr = vr_for_tag(tag) if tag is not None else "UN"
    if vr in ("US", "SS", "UL", "SL", "FL", "FD"):
        nums = [
            float(v) if vr in ("FL", "FD") else int(float(v)) for v in text.split("\\") if v.strip()
        ]
        return None if not nums else nums[0] if len(nums) == 1 else nums
    return text


__all__ = ["FOLDER", "NonPatientStore", "attributes", "model_of"]
