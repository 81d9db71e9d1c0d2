"""Apply the Basic Application Level Confidentiality Profile to a data set (PS3.15 E.2).

The walk visits every element, nested items included, looks up its Table E.1-1 rule
(:mod:`.profile`), resolves combined codes against the element's type in its IOD (or in the
enclosing sequence's item definition, :mod:`dicomkit.iod`), and applies D/Z/X/K/C/U with
the helpers of :mod:`.actions`. Attributes the table does not list are kept (their sequences
are still walked). Afterwards the data set records what was done (E.2, E.3: Patient Identity
Removed, De-identification Method and its code sequence from CID 7050, Longitudinal Temporal
Information Modified).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.core.values._codec import MultiValue
from dicomkit.deid import _actions as actions
from dicomkit.deid._options import Option, check_options, method_codes, rule_for
from dicomkit.deid._uids import UIDMap, hashed_uid
from dicomkit.dictionary import tags

_log = logging.getLogger("dicomkit.deid")

__all__ = ["Change", "deidentify"]

# Elements written to record the de-identification (PS3.3 C.7.1.1, C.12.1).
PATIENT_IDENTITY_REMOVED = 0x00120062
DEIDENTIFICATION_METHOD = 0x00120063
DEIDENTIFICATION_METHOD_CODES = 0x00120064
LONGITUDINAL_MODIFIED = 0x00280303
TEXT_VALUE = 0x0040A160
SOP_INSTANCE_UID = 0x00080018
MEDIA_SOP_INSTANCE_UID = 0x00020003
#: File Meta AE titles (PS3.10 7.1): like Station AE Title (X, Retain Device Identity C) they
#: name a device; Table E.1-1 does not list them, they are removed the same way.
META_AE_TITLES = (
    tags.SourceApplicationEntityTitle,
    tags.SendingApplicationEntityTitle,
    tags.ReceivingApplicationEntityTitle,
)
OVERLAY_DATA = 0x60003000
PATIENT_ID = 0x00100020

# An attribute's place in its IOD: tag -> (type, item attributes for a sequence, or None).
_Level = dict[int, tuple[str, "Any"]]
_TYPE_RANK = {"1": 4, "1C": 3, "2": 2, "2C": 1, "3": 0}


@dataclass(frozen=True, slots=True)
class Change:
    """One action taken: where (``(0008,1140)[0](0008,1155)``), on which tag, and the
    action code actually applied (``X``, ``Z``, ``D``, ``C``, ``U``, or ``C`` for a shifted
    date)."""

    path: str
    tag: int
    action: str


def _fmt(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _level(attributes: Iterable[Any]) -> _Level:
    out: _Level = {}
    for attr in attributes:
        old = out.get(attr.tag)
        if old is None or _TYPE_RANK.get(attr.type, 0) > _TYPE_RANK.get(old[0], 0):
            out[attr.tag] = (attr.type, attr if attr.is_sequence else None)
    return out


def _iod_level(sop_class: Any) -> _Level | None:
    """Top-level attributes of the IOD of ``sop_class`` with their strictest type."""
    if not isinstance(sop_class, str) or not sop_class:
        return None
    return _iod_level_cached(sop_class.strip().rstrip("\x00"))


@functools.lru_cache(maxsize=64)
def _iod_level_cached(sop_class: str) -> _Level | None:
    # Read-only once built: callers never change the returned dict.
    from dicomkit.iod import iod_for_sop_class

    try:
        iod = iod_for_sop_class(sop_class)
    except KeyError:
        return None
    attrs: list[Any] = []
    for usage in iod.modules:
        try:
            attrs.extend(usage.module.attributes)
        except KeyError:
            return None  # a module the model cannot expand: do not guess
    return _level(attrs)


def _child_level(level: _Level | None, tag: int, cache: dict[int, _Level | None]) -> _Level | None:
    """The item attributes of sequence ``tag`` at ``level`` (``None`` when unknown)."""
    if level is None or tag not in level or level[tag][1] is None:
        return None
    attr = level[tag][1]
    key = id(attr)
    if key not in cache:
        children = attr.children
        cache[key] = _level(children) if children else None
    return cache[key]


class _Run:
    """State of one deidentify() call."""

    def __init__(
        self,
        options: frozenset[Option],
        replace_uid: Callable[[str], str],
        dummies: Mapping[Any, Any],
        days: int | None,
        log: list[Change] | None,
    ) -> None:
        self.options = options
        self.replace_uid = replace_uid
        self.dummies = dummies
        self.days = days
        self.log = log
        self.levels: dict[int, _Level | None] = {}  # id(sequence attribute) -> its items
        self.overlay_action = rule_for(OVERLAY_DATA).action(options)  # type: ignore[union-attr]

    def note(self, path: str, tag: int, action: str) -> None:
        if self.log is not None:
            self.log.append(Change(path + _fmt(tag), tag, action))

    # -- walking ---------------------------------------------------------------------------
    def dataset(self, ds: Dataset, level: _Level | None, path: str, content: bool) -> None:
        for tag in ds.tags():
            group, elem = tag >> 16, tag & 0xFFFF
            if elem == 0 and group != 0x0002:  # group lengths go stale: drop them
                del ds[tag]
                continue
            overlay = 0x6000 <= group <= 0x601E and not group & 1
            if overlay and self.overlay_action == "X":
                del ds[tag]  # the whole overlay plane goes with its data (PS3.3 C.9.2)
                self.note(path, tag, "X")
                continue
            el = ds[tag]
            rule = rule_for(tag)
            if rule is None:
                if overlay and self.overlay_action == "C" and el.vr in actions.TEXT_VRS:
                    # Clean Graphics (E.3.3): an overlay's label and description are text
                    # drawn with it, cleaned like its comments.
                    self.clean(ds, el, el.vr)
                    self.note(path, tag, "C")
                elif content and tag == TEXT_VALUE:
                    self.dummy(ds, el, path)
                elif el.vr == "SQ":
                    self.items(el, _child_level(level, tag, self.levels), path, content)
                continue
            code = rule.action(self.options)
            if group & 1:
                # Retain Safe Private (E.3.10) keeps only attributes known to be safe; this
                # implementation knows none, so private attributes always go.
                code = "X"
            attr_type = None if level is None else level[tag][0] if tag in level else ""
            self.apply(ds, el, actions.resolve(code, attr_type), level, path, content)

    def items(self, el: DataElement, level: _Level | None, path: str, content: bool) -> None:
        for i, item in enumerate(el.value or ()):
            self.dataset(item, level, f"{path}{_fmt(el.tag)}[{i}]", content)

    def apply(
        self,
        ds: Dataset,
        el: DataElement,
        action: str,
        level: _Level | None,
        path: str,
        content: bool,
    ) -> None:
        tag = int(el.tag)
        vr = self.vr_of(el)
        if action == "X":
            del ds[tag]
        elif action == "Z":
            ds.add(DataElement(tag, vr, Sequence() if vr == "SQ" else None))
        elif action == "K":
            if vr == "SQ":
                self.items(el, _child_level(level, tag, self.levels), path, content)
            return
        elif vr == "SQ":
            # D, C, U* on a sequence: keep the items and de-identify them; under D or C the
            # free text of structured content (Text Value) is replaced too.
            inner = content or action in ("D", "C")
            self.items(el, _child_level(level, tag, self.levels), path, inner)
            if action == "U*":
                return
        elif action in ("U", "U*") or vr == "UI":
            self.uids(ds, el, tag)
            action = "U" if action == "U*" else action
        elif action == "D":
            self.dummy(ds, el, path)
            return
        elif action == "C":
            self.clean(ds, el, vr)
        self.note(path, tag, action)

    def vr_of(self, el: DataElement) -> str:
        if el.vr != "UN":
            return el.vr
        from dicomkit.dictionary import vr_for_tag

        return str(vr_for_tag(int(el.tag)))

    # -- the actions -----------------------------------------------------------------------
    def uids(self, ds: Dataset, el: DataElement, tag: int) -> None:
        value = el.value
        if isinstance(value, (bytes, bytearray, memoryview)):  # an explicit UN element
            value = bytes(value).decode("ascii", "replace").rstrip("\x00 ")
        olds = [str(v) for v in actions.values_of(value)]
        news = [self.replace_uid(v) for v in olds if v.strip()]
        if not news:  # U and D need a non-zero length value
            news = [self.replace_uid(f"dicomkit-empty-{tag:08X}")]
        ds.add(DataElement(tag, "UI", news[0] if len(news) == 1 else MultiValue(news)))

    def dummy(self, ds: Dataset, el: DataElement, path: str) -> None:
        tag = int(el.tag)
        vr = self.vr_of(el)
        if vr == "UI":
            self.uids(ds, el, tag)
        else:
            value = (
                self.dummies[tag] if tag in self.dummies else actions.dummy_value(vr, self.dummies)
            )
            ds.add(DataElement(tag, vr, value))
        self.note(path, tag, "D")

    def clean(self, ds: Dataset, el: DataElement, vr: str) -> None:
        tag = int(el.tag)
        if vr in ("DA", "DT", "TM"):
            if self.days is not None:  # Retain Longitudinal Modified Dates (E.3.6)
                ds.add(DataElement(tag, vr, actions.shift_value(vr, el.value, self.days)))
            else:
                ds.add(DataElement(tag, vr, actions.dummy_value(vr, self.dummies)))
            return
        value = el.value
        if tag in self.dummies and vr in actions.TEXT_VRS:
            new = self.dummies[tag]
        else:
            new = actions.clean_value(vr, value, self.dummies)
        if new is not value:
            ds.add(DataElement(tag, vr, new))


def _uid_replacer(
    uid_map: UIDMap | MutableMapping[str, str] | None, salt: bytes
) -> Callable[[str], str]:
    if isinstance(uid_map, UIDMap):
        return uid_map.replace
    mapping: MutableMapping[str, str] = {} if uid_map is None else uid_map

    def replace(uid: str) -> str:
        key = uid.strip().rstrip("\x00")
        new = mapping.get(key)
        if new is None:
            new = mapping[key] = hashed_uid(key, salt)
        return new

    return replace


def _record(ds: Dataset, options: frozenset[Option], days: int | None) -> None:
    """PS3.15 E.2/E.3: say that and how the data set was de-identified."""
    ds.add(DataElement(PATIENT_IDENTITY_REMOVED, "CS", "YES"))
    codes = method_codes(options)
    old_text = [str(v) for v in actions.values_of(ds.get(DEIDENTIFICATION_METHOD))]
    text = old_text + [m for _, m in codes if m not in old_text]
    ds.add(
        DataElement(DEIDENTIFICATION_METHOD, "LO", text[0] if len(text) == 1 else MultiValue(text))
    )
    old_seq = ds.get(DEIDENTIFICATION_METHOD_CODES) or []
    items = list(old_seq)
    have = {
        (str(i.get(tags.CodeValue) or ""), str(i.get(tags.CodingSchemeDesignator) or ""))
        for i in items
    }
    for value, meaning in codes:
        if (value, "DCM") in have:
            continue
        item = Dataset()
        item.add(DataElement(tags.CodeValue, "SH", value))
        item.add(DataElement(tags.CodingSchemeDesignator, "SH", "DCM"))
        item.add(DataElement(tags.CodeMeaning, "LO", meaning))
        items.append(item)
    ds.add(DataElement(DEIDENTIFICATION_METHOD_CODES, "SQ", Sequence(items)))
    if Option.RETAIN_LONGITUDINAL_FULL_DATES in options:
        state = "UNMODIFIED"
    elif days is not None:
        state = "MODIFIED"
    else:
        state = "REMOVED"
    ds.add(DataElement(LONGITUDINAL_MODIFIED, "CS", state))


def deidentify(
    ds: Dataset,
    *,
    options: Iterable[Option | str] = frozenset(),
    uid_map: UIDMap | MutableMapping[str, str] | None = None,
    dummy: Mapping[Any, Any] = actions.DEFAULT_DUMMIES,
    date_shift: int | timedelta | None = None,
    salt: bytes | str | None = None,
    log: list[Change] | None = None,
    in_place: bool = False,
    patient_id: str | None = None,
    patient_name: str | None = None,
) -> Dataset:
    """De-identify ``ds`` by the Basic Application Level Confidentiality Profile and the
    chosen ``options`` (PS3.15 E.2, E.3); returns a new data set (``ds`` is left alone
    unless ``in_place``).

    ``uid_map``: a :class:`UIDMap` (or any ``{original: replacement}`` mutable mapping) that
    is filled as UIDs are replaced; pass the same one for every instance of a set so that
    references stay consistent. ``salt`` keys the UID hash when ``uid_map`` is not a
    :class:`UIDMap` (default: random per call) and the derived date shift.
    ``dummy``: VR -> value for ``D`` (see :data:`actions.DEFAULT_DUMMIES`); tag keys (ints)
    override single attributes, e.g. ``{**DEFAULT_DUMMIES, 0x00100020: "SUBJ-01"}``.
    ``date_shift`` (whole days, with the Retain Longitudinal Modified Dates option): added
    to every DA and DT the option cleans; default a shift derived from the salt and the
    Patient ID, so a patient's instances move together. ``log`` receives a
    :class:`Change` for every action taken. ``patient_id`` / ``patient_name`` are written
    into (0010,0020) / (0010,0010) afterwards (``anonymize --patient-id / --patient-name``;
    the other keywords are the command's options too: ``--retain X`` / ``--clean X`` are
    ``options=["retain-X", "clean-X"]``, ``--uid-map``, ``--date-shift``, ``--salt``).

    Pixel data is not examined: when Burned In Annotation (0028,0301) is YES a warning is
    logged on ``dicomkit.deid`` -- text in the pixels is still there (the Clean Pixel Data
    option is not offered).

    Private attributes are removed, also under Retain Safe Private (this implementation
    knows no private attribute to be safe). Overlay planes (60xx) are removed whole with
    their Overlay Data, curves (50xx) whole.
    """
    opts = check_options(options)
    if date_shift is not None and Option.RETAIN_LONGITUDINAL_MODIFIED_DATES not in opts:
        raise ValueError("date_shift needs the retain-modified-dates option")
    if isinstance(uid_map, UIDMap) and salt is None:
        key = uid_map.salt
    elif salt is not None:
        key = salt.encode("utf-8") if isinstance(salt, str) else bytes(salt)
    else:
        key = UIDMap().salt  # a random one
    days: int | None = None
    if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in opts:
        if date_shift is not None:
            days = actions.shift_days(date_shift)
        else:
            days = actions.derive_shift(str(ds.get(PATIENT_ID) or ""), key)
    out = ds if in_place else ds.copy()
    # Retain UIDs works through the table (K for the UIDs it keeps); the few UIDs it does
    # not keep, e.g. the UID (0040,A124) of SR content items, are still replaced.
    run = _Run(opts, _uid_replacer(uid_map, key), dummy, days, log)
    sop_class = out.get(tags.SOPClassUID)
    if not sop_class and out.file_meta is not None:  # e.g. a DICOMDIR (PS3.10 8.6)
        sop_class = out.file_meta.get(tags.MediaStorageSOPClassUID)
    run.dataset(out, _iod_level(sop_class), "", False)
    if out.file_meta is not None and MEDIA_SOP_INSTANCE_UID in out.file_meta:
        new_sop = out.get(SOP_INSTANCE_UID)
        meta = out.file_meta
        if isinstance(new_sop, str) and new_sop:
            meta.add(DataElement(MEDIA_SOP_INSTANCE_UID, "UI", new_sop))
        elif Option.RETAIN_UIDS not in opts:
            run.uids(meta, meta[MEDIA_SOP_INSTANCE_UID], MEDIA_SOP_INSTANCE_UID)
    if out.file_meta is not None and Option.RETAIN_DEVICE_IDENTITY not in opts:
        for tag in META_AE_TITLES:
            if tag in out.file_meta:
                del out.file_meta[tag]
                run.note("", tag, "X")
    if patient_id is not None:
        out.set(PATIENT_ID, patient_id)
    if patient_name is not None:
        out.set(tags.PatientName, patient_name)
    _record(out, opts, days)
    _warn_burned_in(out)
    return out


def _warn_burned_in(ds: Dataset) -> None:
    """PS3.3 C.7.6.1.1.3: Burned In Annotation YES means identifying text may be in the
    pixels, which this profile leaves alone (E.3.1 Clean Pixel Data is not implemented)."""
    value = str(ds.get(tags.BurnedInAnnotation) or "").strip().upper()
    if value == "YES" and tags.PixelData in ds:
        _log.warning(
            "instance %s has Burned In Annotation YES: its pixel data may show identifying "
            "text, which de-identification does not remove -- review or mask the pixels "
            "before sharing",
            ds.get(SOP_INSTANCE_UID) or "(no SOP Instance UID)",
        )
