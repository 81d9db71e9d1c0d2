"""WADO-URI (PS3.18 9, the URI service): ``GET /wado?requestType=WADO&studyUID=...
&seriesUID=...&objectUID=...``.

``contentType`` application/dicom sends the stored file (``transferSyntax`` may ask for
Explicit or Implicit VR Little Endian: decompressed); image/jpeg and image/png render a
frame through the pixel display pipeline with ``rows``, ``columns`` (aspect ratio kept),
``region``, ``windowCenter`` + ``windowWidth``, ``imageQuality`` (JPEG) and
``frameNumber``. Without ``contentType`` an object with pixels comes as image/jpeg, any
other as application/dicom. Every response is labelled with the type actually sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dicomkit.archive._node import Archive
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError
from dicomkit.web import _wado as wado
from dicomkit.web._render import JPEG, PNG, Picture, render
from dicomkit.web._wado import WadoError

__all__ = ["UriRequest", "handler", "parse_request"]

DICOM = "application/dicom"
_IMAGE_ONLY = ("rows", "columns", "region", "windowCenter", "windowWidth", "imageQuality")
_NATIVE = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)


@dataclass(frozen=True, slots=True)
class UriRequest:
    """A parsed WADO-URI request; ``content_type`` None = chosen by the object."""

    study: str
    series: str
    sop: str
    content_type: str | None
    picture: Picture
    frame: int
    transfer_syntax: str | None


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
        if m.type in (DICOM, JPEG, PNG):
            return m.type
        if m.type in ("image/*", "*/*"):
            return None if m.type == "*/*" else JPEG
    raise WadoError(f"contentType={text!r}: this server sends {DICOM}, {JPEG} or {PNG}", 406)


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
    for name in ("annotation", "presentationUID", "presentationSeriesUID"):
        if params.get(name):
            raise WadoError(f"{name} is not offered by this server: leave it out")
    if params.get("anonymize") == "yes":
        raise WadoError(
            "anonymize=yes is not offered over WADO-URI: retrieve the object and run "
            "`dicomkit deid` on it"
        )
    ctype = _content_type(params.get("contentType"))
    if ctype == DICOM:
        extra = [k for k in _IMAGE_ONLY if k in params]
        if extra:
            raise WadoError(f"{', '.join(extra)} apply to image/jpeg or image/png, not {DICOM}")
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
        if ctype == PNG:
            raise WadoError("imageQuality applies to lossy image/jpeg, not image/png")
    frame = _positive(params, "frameNumber") or 1
    picture = Picture(
        ctype if ctype in (JPEG, PNG) else JPEG,
        window,
        _positive(params, "rows"),
        _positive(params, "columns"),
        region,
        quality,
    )
    return UriRequest(
        params["studyUID"], params["seriesUID"], params["objectUID"], ctype, picture, frame, ts
    )


def _answer(archive: Archive, req: UriRequest) -> tuple[bytes, str]:
    import dicomkit

    (inst,) = wado.find_instances(archive, req.study, req.series, req.sop)
    path = archive.path_of(inst)
    ctype = req.content_type
    if ctype is None or ctype != DICOM:
        ds = dicomkit.read(path)
        if ctype is None and wado.PIXEL_DATA_TAG not in ds:
            ctype = DICOM
        else:
            return render(ds, req.frame, req.picture), req.picture.media_type
    ts = req.transfer_syntax
    if ts is None or ts == inst.transfer_syntax:
        return path.read_bytes(), DICOM
    if ts not in _NATIVE:
        raise WadoError(
            f"the object is stored as {inst.transfer_syntax}; transferSyntax={ts} is not "
            f"offered: leave it out (as stored) or ask for {uids.ExplicitVRLittleEndian}",
            406,
        )
    return b"".join(wado.instance_chunks(archive, inst, ts)), DICOM


def handler(archive: Archive) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint answering WADO-URI requests over ``archive``."""

    async def wado_uri(request: Request) -> Response:
        try:
            req = parse_request(request.query_params)
            body, ctype = await run_in_threadpool(_answer, archive, req)
        except DicomError as exc:
            status = int(getattr(exc, "status", 400))
            return Response(str(exc) + "\n", status_code=status, media_type="text/plain")
        return Response(body, media_type=ctype)

    return wado_uri
