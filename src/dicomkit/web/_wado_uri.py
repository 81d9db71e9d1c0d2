"""WADO-URI (PS3.18 9, the URI service): ``GET /wado?requestType=WADO&studyUID=...
&seriesUID=...&objectUID=...``.

``contentType`` application/dicom sends the stored file (Retrieve DICOM Instance, 9.4):
``transferSyntax`` may ask for Explicit or Implicit VR Little Endian (decompressed), and
``anonymize=yes`` sends it de-identified by the Basic Application Level Confidentiality
Profile (:func:`dicomkit.deid.deidentify`; UIDs replaced by a keyed hash under a secret of
the archive, so every request maps a UID the same way; an instance whose Burned In
Annotation is YES is refused: the Clean Pixel Data option is not offered).

image/jpeg, image/png and image/gif render a frame (Retrieve Rendered Instance, 9.5)
through the pixel display pipeline with ``rows``, ``columns`` (aspect ratio kept),
``region``, ``windowCenter`` + ``windowWidth``, ``imageQuality`` (JPEG), ``frameNumber``,
``annotation=patient,technique`` (burned-in text: :mod:`dicomkit.web._annotate`) and
``presentationUID`` + ``presentationSeriesUID`` (a stored Grayscale Softcopy Presentation
State of the same study applied by the PS3.4 N.2 pipeline: its modality LUT, VOI LUT or
window, Presentation LUT, shutters, graphic annotations, displayed area, rotation and flip;
the region is cut after it). Without ``contentType`` an object with pixels comes as
image/jpeg, any other as application/dicom. Every response is labelled with the type
actually sent.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dicomkit.archive._index import StoredInstance
from dicomkit.archive._node import Archive
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError
from dicomkit.web import _wado as wado
from dicomkit.web._annotate import KEYWORDS
from dicomkit.web._render import GIF, JPEG, PNG, Picture, render
from dicomkit.web._wado import WadoError

__all__ = ["UriRequest", "deid_salt", "handler", "parse_request"]

DICOM = "application/dicom"
_RENDERED = (JPEG, PNG, GIF)
_IMAGE_ONLY = ("rows", "columns", "region", "windowCenter", "windowWidth", "imageQuality")
_NATIVE = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)
_GSPS = (
    uids.GrayscaleSoftcopyPresentationStateStorage,
    uids.XAXRFGrayscaleSoftcopyPresentationStateStorage,
)
#: the file under the archive's root that keys the UIDs of anonymize=yes answers
SALT_FILE = ".wado-uri-deid-key"


@dataclass(frozen=True, slots=True)
class UriRequest:
    """A parsed WADO-URI request; ``content_type`` None = chosen by the object;
    ``presentation``: (Series, SOP Instance UID) of the presentation state to apply."""

    study: str
    series: str
    sop: str
    content_type: str | None
    picture: Picture
    frame: int
    transfer_syntax: str | None
    anonymize: bool = False
    presentation: tuple[str, str] | None = None


def _positive(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise WadoError(f"{name}={text!r}: a whole number of pixels, e.g. {name}=512") from None
    if not 0 < value <= 8192:
        raise WadoError(f"{name}={text!r}: must be 1..8192")
    return value


def _content_type(text: str | None) -> str | None:
    """The first media type of the list we can send (None: let the object choose)."""
    if not text:
        return None
    for m in wado.parse_accept(text):
        if m.q <= 0:
            continue
        if m.type in (DICOM, *_RENDERED):
            return m.type
        if m.type in ("image/*", "*/*"):
            return None if m.type == "*/*" else JPEG
    raise WadoError(f"contentType={text!r}: this server sends {DICOM}, {JPEG}, {PNG} or {GIF}", 406)


def _annotation(params: Mapping[str, str], ctype: str | None) -> tuple[str, ...]:
    text = params.get("annotation")
    if not text:
        return ()
    words = tuple(w.strip().lower() for w in text.split(",") if w.strip())
    wrong = [w for w in words if w not in KEYWORDS]
    if wrong or not words:
        raise WadoError(
            f"annotation={text!r}: the keywords are patient and technique, comma-separated "
            "(e.g. annotation=patient,technique)"
        )
    if ctype == DICOM:
        raise WadoError(
            f"annotation applies to rendered pictures ({JPEG}, {PNG}, {GIF}), not {DICOM}: "
            "leave it out, or ask for a picture"
        )
    return words


def _presentation(params: Mapping[str, str], ctype: str | None) -> tuple[str, str] | None:
    uid, series = params.get("presentationUID"), params.get("presentationSeriesUID")
    if not uid and not series:
        return None
    if not uid or not series:
        raise WadoError(
            "presentationUID and presentationSeriesUID go together: give the presentation "
            "state's SOP Instance UID and the Series Instance UID of its series"
        )
    if ctype == DICOM:
        raise WadoError(
            f"a presentation state applies to rendered pictures ({JPEG}, {PNG}, {GIF}), not "
            f"{DICOM}: leave presentationUID out, or ask for a picture"
        )
    if "windowCenter" in params or "windowWidth" in params:
        raise WadoError(
            "windowCenter/windowWidth and presentationUID exclude each other: the presentation "
            "state sets the window; leave one of them out"
        )
    return series, uid


def _anonymize(params: Mapping[str, str], ctype: str | None) -> bool:
    text = params.get("anonymize")
    if text is None or text == "":
        return False
    if text != "yes":
        raise WadoError(f"anonymize={text!r}: the only value is yes (or leave it out)")
    if ctype != DICOM:
        raise WadoError(
            f"anonymize=yes applies to contentType={DICOM} (PS3.18 9.4): rendered pictures "
            f"are not de-identified; add contentType={DICOM}"
        )
    return True


def parse_request(params: Mapping[str, str]) -> UriRequest:
    """Check and parse the query parameters; raises :class:`~dicomkit.web._wado.WadoError`
    (400 for a malformed request, 406 for a content type not offered)."""
    kind = params.get("requestType")
    if kind != "WADO":
        raise WadoError(f"requestType={kind!r}: a WADO-URI request has requestType=WADO")
    missing = [k for k in ("studyUID", "seriesUID", "objectUID") if not params.get(k)]
    if missing:
        raise WadoError(
            f"missing {', '.join(missing)}: studyUID, seriesUID and objectUID are required"
        )
    ctype = _content_type(params.get("contentType"))
    anonymize = _anonymize(params, ctype)
    annotation = _annotation(params, ctype)
    presentation = _presentation(params, ctype)
    if ctype == DICOM:
        extra = [k for k in _IMAGE_ONLY if k in params]
        if extra:
            raise WadoError(f"{', '.join(extra)} apply to {JPEG}, {PNG} or {GIF}, not {DICOM}")
    ts = params.get("transferSyntax") or None
    if ts is not None and ctype != DICOM:
        raise WadoError(f"transferSyntax applies to contentType={DICOM} only")
    center, width = params.get("windowCenter"), params.get("windowWidth")
    window = None
    if (center is None) != (width is None):
        raise WadoError("windowCenter and windowWidth go together: give both or neither")
    if center is not None and width is not None:
        try:
            window = (float(center), float(width))
        except ValueError:
            raise WadoError(f"windowCenter={center!r}, windowWidth={width!r}: numbers") from None
        if window[1] <= 0:
            raise WadoError(f"windowWidth={width!r}: must be positive")
    region = None
    if params.get("region"):
        try:
            x1, y1, x2, y2 = (float(v) for v in params["region"].split(","))
        except ValueError:
            raise WadoError(
                f"region={params['region']!r}: four fractions x1,y1,x2,y2 (0..1), e.g. 0,0,0.5,0.5"
            ) from None
        if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
            raise WadoError(
                f"region={params['region']!r}: need 0 <= x1 < x2 <= 1, 0 <= y1 < y2 <= 1"
            )
        region = (x1, y1, x2, y2)
    quality = 90
    if params.get("imageQuality"):
        try:
            quality = int(params["imageQuality"])
        except ValueError:
            quality = 0
        if not 1 <= quality <= 100:
            raise WadoError(f"imageQuality={params['imageQuality']!r}: a number 1..100")
        if ctype in (PNG, GIF):
            raise WadoError(f"imageQuality applies to lossy {JPEG}, not {ctype}")
    frame = _positive(params, "frameNumber") or 1
    picture = Picture(
        ctype if ctype in _RENDERED else JPEG,
        window,
        _positive(params, "rows"),
        _positive(params, "columns"),
        region,
        quality,
        annotation,
    )
    return UriRequest(
        params["studyUID"],
        params["seriesUID"],
        params["objectUID"],
        ctype,
        picture,
        frame,
        ts,
        anonymize,
        presentation,
    )


def deid_salt(archive: Archive) -> bytes:
    """The archive's secret key for the UIDs of ``anonymize=yes`` answers: made once (random,
    32 bytes, readable by the node's user only) in :data:`SALT_FILE` under its root, so the
    same original UID becomes the same new UID in every answer, across restarts."""
    path = Path(archive.root) / SALT_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another request made it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fp:
        fp.write(key)
    return key


def _presentation_state(archive: Archive, req: UriRequest) -> Any:
    import dicomkit

    assert req.presentation is not None
    series, uid = req.presentation
    try:
        (pr,) = wado.find_instances(archive, req.study, series, uid)
    except WadoError as exc:
        if exc.status != 404:
            raise
        raise WadoError(
            f"no presentation state {uid} is stored in series {series} of study {req.study}: "
            "check presentationUID and presentationSeriesUID (the presentation state is in the "
            "same study as the image)",
            404,
        ) from None
    if pr.sop_class_uid not in _GSPS:
        raise WadoError(
            f"instance {uid} is not a Grayscale Softcopy Presentation State (its SOP Class is "
            f"{pr.sop_class_uid}): give the UID of a GSPS (Modality PR) of this study"
        )
    return dicomkit.read(archive.path_of(pr))


def _anonymized(archive: Archive, inst: StoredInstance, ts: str | None) -> bytes:
    import dicomkit
    from dicomkit.deid import deidentify
    from dicomkit.dictionary import tags

    ds = dicomkit.read(archive.path_of(inst))
    if str(ds.get(tags.BurnedInAnnotation) or "").strip().upper() == "YES":
        raise WadoError(
            f"instance {inst.sop_instance_uid} has Burned In Annotation YES: its pixels may "
            "show who the patient is, and this server does not clean pixel data (PS3.15 E.3.1); "
            "anonymize=yes is refused for it"
        )
    target = ts or inst.transfer_syntax
    if target != inst.transfer_syntax and wado.PIXEL_DATA_TAG in {int(t) for t in ds}:
        from dicomkit.pixels import decompress

        decompress(ds)
    clean = deidentify(ds, salt=deid_salt(archive))
    buf = io.BytesIO()
    dicomkit.write(clean, buf, transfer_syntax=target)
    return buf.getvalue()


def _answer(archive: Archive, req: UriRequest) -> tuple[bytes, str, StoredInstance]:
    import dicomkit

    (inst,) = wado.find_instances(archive, req.study, req.series, req.sop)
    path = archive.path_of(inst)
    ctype = req.content_type
    if ctype is None or ctype != DICOM:
        ds = dicomkit.read(path)
        if ctype is None and wado.PIXEL_DATA_TAG not in ds:
            if req.picture.annotation or req.presentation:
                raise WadoError(
                    f"instance {req.sop} has no Pixel Data: annotation and presentation states "
                    "apply to images; leave them out to get the object as application/dicom",
                    404,
                )
            ctype = DICOM
        else:
            pr = _presentation_state(archive, req) if req.presentation else None
            return render(ds, req.frame, req.picture, pr), req.picture.media_type, inst
    ts = req.transfer_syntax
    if ts is not None and ts != inst.transfer_syntax and ts not in _NATIVE:
        raise WadoError(
            f"the object is stored as {inst.transfer_syntax}; transferSyntax={ts} is not "
            f"offered: leave it out (as stored) or ask for {uids.ExplicitVRLittleEndian}",
            406,
        )
    if req.anonymize:
        return _anonymized(archive, inst, ts), DICOM, inst
    if ts is None or ts == inst.transfer_syntax:
        return path.read_bytes(), DICOM, inst
    return b"".join(wado.instance_chunks(archive, inst, ts)), DICOM, inst


def handler(archive: Archive, trail: Any = None) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint answering WADO-URI requests over ``archive``; ``trail``: the
    :class:`~dicomkit.web._audit.WebAudit` that is told of each answer."""

    async def wado_uri(request: Request) -> Response:
        try:
            req = parse_request(request.query_params)
            body, ctype, inst = await run_in_threadpool(_answer, archive, req)
        except DicomError as exc:
            status = int(getattr(exc, "status", 400))
            return Response(str(exc) + "\n", status_code=status, media_type="text/plain")
        if trail is not None:
            if ctype == DICOM:
                trail.retrieved(request, [inst], description="WADO-URI")
            else:
                trail.transferred(request, "WADO-URI rendered", [inst])
        return Response(body, media_type=ctype)

    return wado_uri
