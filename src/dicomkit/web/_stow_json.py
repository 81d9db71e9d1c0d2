"""STOW-RS with metadata and bulk data (PS3.18 10.5.1.2.2): ``multipart/related;
type="application/dicom+json"`` (or ``application/dicom+xml``) requests.

The metadata part holds the instances as DICOM JSON (an array of objects, or one object)
or as one Native DICOM Model document; binary values too large to inline are
``BulkDataURI`` references to the other parts, matched on each part's ``Content-Location``
(the whole URI, or its path when the client wrote a relative one) or ``Content-ID``
(``cid:...``). Pixel Data sent in a compressed media type (``image/jls``, ``image/jp2`` ...,
with or without ``transfer-syntax``) is stored encapsulated in that syntax.

Each instance so made is written as a Part 10 file into ``.incoming`` and then goes the
path of an ``application/dicom`` part (:mod:`dicomkit.web._stow`): the same checks, and
acknowledged only once durable and indexed.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

from dicomkit.archive._node import Archive
from dicomkit.dictionary import status_codes, uids
from dicomkit.errors import DicomError
from dicomkit.web._stow import StowOutcome, _Part

__all__ = ["METADATA_TYPES", "is_metadata", "make_instances", "warnings"]

DICOM_JSON = "application/dicom+json"
DICOM_XML = "application/dicom+xml"
METADATA_TYPES = (DICOM_JSON, DICOM_XML)
_PIXEL_DATA = 0x7FE00010


def _ctype(part: _Part) -> tuple[str, dict[str, str]]:
    from dicomkit.web._wado import parse_accept

    ranges = parse_accept(part.headers.get("content-type", "application/octet-stream"))
    if not ranges:
        return "application/octet-stream", {}
    return ranges[0].type, ranges[0].params


def _keys(part: _Part) -> list[str]:
    keys = []
    location = part.headers.get("content-location", "").strip()
    if location:
        keys.append(location)
        keys.append(urllib.parse.urlsplit(location).path)
    cid = part.headers.get("content-id", "").strip().strip("<>")
    if cid:
        keys.append(f"cid:{cid}")
    return keys


class _Bulk:
    """The bulk data parts of one request, by the names a BulkDataURI may use."""

    def __init__(self, parts: list[_Part]) -> None:
        self.by_key: dict[str, _Part] = {}
        for part in parts:
            for key in _keys(part):
                self.by_key.setdefault(key, part)
        self.missing: list[str] = []
        #: transfer syntax of the Pixel Data loaded for the current instance (None: native)
        self.pixel_syntax: str | None = None

    def find(self, uri: str) -> _Part | None:
        return self.by_key.get(uri) or self.by_key.get(urllib.parse.urlsplit(uri).path)

    def load(self, tag: int, vr: str, uri: str) -> Any:
        part = self.find(uri)
        if part is None or part.path is None:
            self.missing.append(uri)
            return b""
        data = part.path.read_bytes()
        if tag == _PIXEL_DATA:
            from dicomkit.web._transfer import FRAME_MEDIA

            media, params = _ctype(part)
            ts = params.get("transfer-syntax")
            if ts is None and media in FRAME_MEDIA and media != "application/octet-stream":
                ts = FRAME_MEDIA[media][0]
            self.pixel_syntax = ts if ts and ts != uids.ExplicitVRLittleEndian else None
        return data


def _objects(part: _Part) -> list[Any]:
    """The metadata objects of a metadata part (JSON objects, or one XML text)."""
    assert part.path is not None
    media, _params = _ctype(part)
    raw = part.path.read_bytes()
    if media == DICOM_XML:
        return [raw.decode("utf-8")]
    obj = json.loads(raw)
    return obj if isinstance(obj, list) else [obj]


def is_metadata(part: _Part) -> bool:
    """Whether a received part is DICOM JSON or XML metadata."""
    return _ctype(part)[0] in METADATA_TYPES


def warnings(outcomes: list[StowOutcome], most: int = 10) -> dict[str, str]:
    """HTTP ``Warning`` header (RFC 7234 code 299) naming why instances were refused, in
    words (the response data set carries only the FailureReason codes)."""
    texts = [
        f"{o.sop_instance_uid or 'an instance'}: {o.comment}".replace('"', "'")
        for o in outcomes
        if o.reason and o.comment
    ]
    if not texts:
        return {}
    more = f" (and {len(texts) - most} more)" if len(texts) > most else ""
    words = "; ".join(texts[:most]) + more
    safe = words.encode("latin-1", "replace").decode("latin-1").replace("\n", " ")
    return {"Warning": f'299 dicomkit "{safe}"'}


def make_instances(archive: Archive, parts: list[_Part]) -> tuple[list[_Part], list[StowOutcome]]:
    """(worker thread) Part 10 files (as ``application/dicom`` parts) made from the
    metadata and bulk data parts, and the outcome of every instance that could not be made.
    The received metadata and bulk data files are removed."""
    import dicomkit
    from dicomkit.core import DataElement
    from dicomkit.io import from_json, from_xml
    from dicomkit.pixels._encapsulation import encapsulate

    meta = [p for p in parts if _ctype(p)[0] in METADATA_TYPES]
    bulk = _Bulk([p for p in parts if p not in meta])
    made: list[_Part] = []
    failed: list[StowOutcome] = []
    try:
        for part in meta:
            try:
                objects = _objects(part)
            except (ValueError, UnicodeDecodeError) as exc:
                failed.append(
                    StowOutcome(
                        "", "", "", status_codes.CannotUnderstand, f"metadata not readable: {exc}"
                    )
                )
                continue
            for obj in objects:
                bulk.missing, bulk.pixel_syntax = [], None
                try:
                    if isinstance(obj, str):
                        ds = from_xml(obj, bulk.load)
                    else:
                        ds = from_json(obj, bulk.load)
                except (DicomError, ValueError, TypeError) as exc:
                    failed.append(
                        StowOutcome("", "", "", status_codes.CannotUnderstand, f"metadata: {exc}")
                    )
                    continue
                sop_class = str(ds.get("SOPClassUID", "") or "")
                sop = str(ds.get("SOPInstanceUID", "") or "")
                study = str(ds.get("StudyInstanceUID", "") or "")
                if bulk.missing:
                    failed.append(
                        StowOutcome(
                            sop_class,
                            sop,
                            study,
                            status_codes.CannotUnderstand,
                            f"no part for BulkDataURI {', '.join(bulk.missing)} (give each bulk "
                            "data part a Content-Location equal to its BulkDataURI)",
                        )
                    )
                    continue
                ts = uids.ExplicitVRLittleEndian
                if bulk.pixel_syntax is not None and _PIXEL_DATA in {int(t) for t in ds}:
                    ts = bulk.pixel_syntax
                    frames = bytes(ds[_PIXEL_DATA].value or b"")
                    ds.add(
                        DataElement(_PIXEL_DATA, "OB", encapsulate([frames]), undefined_length=True)
                    )
                path = archive.incoming_path()
                try:
                    dicomkit.write(ds, path, transfer_syntax=ts)
                except (DicomError, ValueError, OSError) as exc:
                    path.unlink(missing_ok=True)
                    failed.append(
                        StowOutcome(
                            sop_class,
                            sop,
                            study,
                            status_codes.CannotUnderstand,
                            f"cannot make a DICOM file of it: {exc}",
                        )
                    )
                    continue
                made.append(
                    _Part(
                        {"content-type": "application/dicom"}, Path(path), -1, os.path.getsize(path)
                    )
                )
    finally:
        for p in parts:
            if p.path is not None:
                p.path.unlink(missing_ok=True)
    return made, failed
