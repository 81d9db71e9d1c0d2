"""Thumbnail resources (PS3.18 10.4.1.1.3 / 8.3.5.1): a small rendered picture of a study,
series, instance or frame.

A study or series is shown by a representative instance: the first series (by Series
Number) that holds an instance with pixels, and in it the instance in the middle of the
Instance Number order (the middle frame of a multi-frame instance). ``viewport=vw,vh``
bounds the size (default 128 x 128, aspect ratio kept); Accept picks image/jpeg
(default) or image/png.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dicomkit.archive._node import Archive
from dicomkit.archive._schema import Level
from dicomkit.errors import DicomError
from dicomkit.web import _wado as wado
from dicomkit.web._render import JPEG, PNG, Picture, render
from dicomkit.web._wado import WadoError

__all__ = [
    "DEFAULT_SIZE",
    "handler",
    "parse_viewport",
    "picture_type",
    "representative",
    "thumbnail",
]

#: the longest side of a thumbnail when no viewport is asked for
DEFAULT_SIZE = 128

#: series whose instances have no pixels to show
_NO_PIXELS = frozenset({"SR", "KO", "PR", "DOC", "RWV", "REG", "FID", "PLAN", "RTPLAN", "RTDOSE"})


def parse_viewport(text: str | None) -> tuple[int, int]:
    """``viewport=vw,vh`` as ``(rows, columns)`` = ``(vh, vw)``; raises
    :class:`~dicomkit.web._wado.WadoError` when it does not parse."""
    if not text:
        return DEFAULT_SIZE, DEFAULT_SIZE
    fields = text.split(",")
    if len(fields) > 2:
        raise WadoError(
            f"viewport={text!r}: a source rectangle (sx,sy,sw,sh) is not offered; give width,height"
        )
    try:
        vw, vh = int(fields[0]), int(fields[1])
    except (IndexError, ValueError):
        raise WadoError(
            f"viewport={text!r}: expected width,height in pixels, e.g. 128,128"
        ) from None
    if not (0 < vw <= 4096 and 0 < vh <= 4096):
        raise WadoError(f"viewport={text!r}: width and height must be 1..4096")
    return vh, vw


def picture_type(accept: str) -> str:
    """image/jpeg or image/png from an Accept header; raises WadoError (406) otherwise."""
    for m in wado.parse_accept(accept or "*/*"):
        if m.q <= 0:
            continue
        if m.type == PNG:
            return PNG
        if m.type in (JPEG, "image/*", "*/*"):
            return JPEG
    raise WadoError(f"thumbnails are image/jpeg or image/png, not {accept}", 406)


def _find(archive: Archive, ident: dict[str, Any]) -> list[dict[str, Any]]:
    from dicomkit.archive._matching import Model

    return [r.as_dict() for r in archive.find(ident, Model.STUDY_ROOT)]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")


def representative(archive: Archive, study: str, series: str | None = None) -> tuple[str, str]:
    """The (Series, SOP Instance UID) that stands for a study or series (see the module's text);
    raises WadoError (404) when nothing under it has pixels to show."""
    if series is None:
        rows = _find(
            archive,
            {
                "QueryRetrieveLevel": Level.SERIES.value,
                "StudyInstanceUID": study,
                "SeriesInstanceUID": "",
                "SeriesNumber": "",
                "Modality": "",
            },
        )
        order = sorted(rows, key=lambda r: (_number(r.get("SeriesNumber")), r["SeriesInstanceUID"]))
        candidates = [r["SeriesInstanceUID"] for r in order if r.get("Modality") not in _NO_PIXELS]
    else:
        candidates = [series]
    for uid in candidates:
        rows = _find(
            archive,
            {
                "QueryRetrieveLevel": Level.IMAGE.value,
                "StudyInstanceUID": study,
                "SeriesInstanceUID": uid,
                "SOPInstanceUID": "",
                "InstanceNumber": "",
            },
        )
        if rows:
            rows.sort(key=lambda r: (_number(r.get("InstanceNumber")), r["SOPInstanceUID"]))
            return uid, str(rows[len(rows) // 2]["SOPInstanceUID"])
    raise WadoError(f"nothing under {series or study} has pixels to show as a thumbnail", 404)


def thumbnail(
    archive: Archive,
    study: str,
    series: str | None,
    sop: str | None,
    frame: int | None,
    media_type: str,
    viewport: tuple[int, int],
) -> bytes:
    """The thumbnail of a study, series, instance or frame (1-based), encoded as
    ``media_type`` and fitted inside ``viewport`` (rows, columns)."""
    import dicomkit
    from dicomkit.pixels._info import PixelInfo

    if sop is None or series is None:
        series, sop = representative(archive, study, series)
    (inst,) = wado.find_instances(archive, study, series, sop)
    ds = dicomkit.read(archive.path_of(inst))
    if frame is None:
        n = PixelInfo.from_dataset(ds).number_of_frames if wado.PIXEL_DATA_TAG in ds else 1
        frame = (n + 1) // 2
    rows, columns = viewport
    return render(ds, frame, Picture(media_type, rows=rows, columns=columns, quality=80))


def handler(archive: Archive, trail: Any = None) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for the four thumbnail resources (path parameters
    ``study`` and optionally ``series``, ``sop``, ``frames``); ``trail``: the
    :class:`~dicomkit.web._audit.WebAudit` told of each thumbnail sent."""

    async def thumb(request: Request) -> Response:
        p = request.path_params
        try:
            media = picture_type(request.headers.get("accept", ""))
            viewport = parse_viewport(request.query_params.get("viewport"))
            frame = wado.parse_frame_list(p["frames"])[0] if "frames" in p else None
            data = await run_in_threadpool(
                thumbnail,
                archive,
                p["study"],
                p.get("series"),
                p.get("sop"),
                frame,
                media,
                viewport,
            )
        except DicomError as exc:
            status = int(getattr(exc, "status", 400))
            return Response(str(exc) + "\n", status_code=status, media_type="text/plain")
        if trail is not None:
            trail.transferred(
                request,
                "WADO-RS thumbnail",
                study=p["study"],
                series=p.get("series"),
                sop=p.get("sop"),
            )
        return Response(data, media_type=media, headers={"Cache-Control": "max-age=3600"})

    return thumb
