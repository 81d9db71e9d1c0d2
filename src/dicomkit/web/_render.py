"""Pictures for the web: one frame through the pixel display pipeline, scaled, encoded.

Shared by thumbnails (:mod:`dicomkit.web._thumbnail`) and WADO-URI
(:mod:`dicomkit.web._wado_uri`). Scaling is an area average when shrinking (each output
pixel is the mean of the source pixels it covers) and nearest-neighbour when enlarging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dicomkit.web._wado import PIXEL_DATA_TAG, WadoError

__all__ = ["GIF", "JPEG", "PNG", "Picture", "fit", "render", "resize"]

JPEG = "image/jpeg"
PNG = "image/png"
GIF = "image/gif"


@dataclass(frozen=True, slots=True)
class Picture:
    """How to render a frame: media type, window (center, width), output size, region
    (fractions ``x1, y1, x2, y2`` of the image), JPEG quality, burned-in text
    (``annotation``: ``patient`` and/or ``technique``, :mod:`dicomkit.web._annotate`). The
    output keeps the aspect ratio inside ``rows`` x ``columns``."""

    media_type: str = JPEG
    window: tuple[float, float] | None = None
    rows: int | None = None
    columns: int | None = None
    region: tuple[float, float, float, float] | None = None
    quality: int = 90
    annotation: tuple[str, ...] = ()


def _axis(arr: np.ndarray, n: int, axis: int) -> np.ndarray:
    size = arr.shape[axis]
    if n == size:
        return arr
    if n < size and size % n == 0:  # a whole factor: mean of equal blocks
        k = size // n
        blocks = (*arr.shape[:axis], n, k, *arr.shape[axis + 1 :])
        block: np.ndarray = arr.reshape(blocks).mean(axis=axis + 1)
        return block
    if n > size:  # enlarge: nearest neighbour
        near: np.ndarray = np.take(arr, (np.arange(n) * size) // n, axis=axis)
        return near
    edges = np.round(np.linspace(0, size, n + 1)).astype(np.intp)
    pad = [(0, 0)] * arr.ndim
    pad[axis] = (1, 0)
    cum = np.pad(np.cumsum(arr, axis=axis, dtype=np.float64), pad)
    sums = np.take(cum, edges[1:], axis=axis) - np.take(cum, edges[:-1], axis=axis)
    shape = [1] * arr.ndim
    shape[axis] = n
    out: np.ndarray = sums / np.diff(edges).reshape(shape)
    return out


def resize(img: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """``img`` (uint8, ``(r, c)`` or ``(r, c, 3)``) scaled to ``rows`` x ``columns``."""
    if img.shape[:2] == (rows, columns):
        return img
    out = _axis(_axis(img.astype(np.float64), rows, 0), columns, 1)
    scaled: np.ndarray = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return scaled


def fit(rows: int, columns: int, max_rows: int | None, max_columns: int | None) -> tuple[int, int]:
    """The largest size inside ``max_rows`` x ``max_columns`` (either may be None) with the
    aspect ratio of ``rows`` x ``columns``."""
    scale = min(
        (max_rows / rows) if max_rows else float("inf"),
        (max_columns / columns) if max_columns else float("inf"),
    )
    if scale == float("inf"):
        return rows, columns
    return max(1, round(rows * scale)), max(1, round(columns * scale))


def _jpeg(img: np.ndarray, quality: int) -> bytes:
    try:
        import imagecodecs
    except ImportError:  # pragma: no cover - the web extra's hosts have it through codecs
        raise WadoError(
            "no JPEG encoder installed: pip install imagecodecs, or ask for image/png", 406
        ) from None
    return bytes(imagecodecs.jpeg8_encode(img, level=quality))


def _gif(img: np.ndarray) -> bytes:
    """GIF (256 colours): grey levels as they are; RGB quantized to a 6x7x6 colour cube."""
    import imagecodecs

    if img.ndim == 2:
        grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
        return bytes(imagecodecs.gif_encode(img, colormap=grey))
    levels = np.array([6, 7, 6])
    idx = np.rint(img.astype(np.float64) * ((levels - 1) / 255.0)).astype(np.intp)
    index = (idx[..., 0] * 7 + idx[..., 1]) * 6 + idx[..., 2]
    r, g, b = np.meshgrid(*(np.arange(n) for n in levels), indexing="ij")
    cube = np.stack([r.ravel() * 51, g.ravel() * 255 // 6, b.ravel() * 51], axis=1)
    cmap = np.zeros((256, 3), np.uint8)
    cmap[: len(cube)] = cube
    return bytes(imagecodecs.gif_encode(index.astype(np.uint8), colormap=cmap))


def render(ds: Any, frame_number: int, picture: Picture, presentation: Any = None) -> bytes:
    """Frame ``frame_number`` (1-based) of ``ds`` as ``picture`` asks: Modality LUT, VOI
    window (the given one, else the data set's), MONOCHROME1 inversion, colour to RGB
    (:func:`dicomkit.pixels._display.display_frame`) -- or, with ``presentation`` (a
    Grayscale Softcopy Presentation State), its pipeline (PS3.4 N.2:
    :func:`dicomkit.builders.apply_presentation_state`) --, then region, scale, burned-in
    text and encoding. Raises :class:`~dicomkit.web._wado.WadoError` (404 without Pixel
    Data or frame, 400 when the presentation state does not apply to the image)."""
    from dicomkit.errors import InvalidValueError
    from dicomkit.pixels._display import display_frame
    from dicomkit.pixels._info import PixelInfo
    from dicomkit.pixels._png import encode_png

    if PIXEL_DATA_TAG not in {int(t) for t in ds}:
        raise WadoError("the instance has no Pixel Data: it has no picture to render", 404)
    n = PixelInfo.from_dataset(ds).number_of_frames
    if not 1 <= frame_number <= n:
        raise WadoError(f"frame {frame_number} is out of range 1..{n}", 404)
    center, width = picture.window if picture.window else (None, None)
    if presentation is not None:
        from dicomkit.builders import apply_presentation_state

        try:
            img = apply_presentation_state(ds, presentation, frame_number - 1)
        except InvalidValueError as exc:
            raise WadoError(f"the presentation state cannot be applied: {exc}") from None
    else:
        img = display_frame(ds, frame_number - 1, center=center, width=width)
    if picture.region is not None:
        x1, y1, x2, y2 = picture.region
        r, c = img.shape[:2]
        top, left = int(y1 * r), int(x1 * c)
        img = img[top : max(top + 1, int(y2 * r)), left : max(left + 1, int(x2 * c))]
    if picture.rows or picture.columns:
        img = resize(img, *fit(img.shape[0], img.shape[1], picture.rows, picture.columns))
    if picture.annotation:
        from dicomkit.web._annotate import annotate

        img = annotate(img, ds, picture.annotation, frame_number, n)
    img = np.ascontiguousarray(img)
    if picture.media_type == GIF:
        return _gif(img)
    if picture.media_type == PNG:
        return encode_png(img, level=1)  # 6x faster than level 6, ~7% larger
    if not 1 <= picture.quality <= 100:
        raise WadoError(f"image quality {picture.quality}: use 1..100")
    return _jpeg(img, picture.quality)
