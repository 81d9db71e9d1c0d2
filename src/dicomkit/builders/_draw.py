"""Rasterising the shapes of presentation states onto a pixel grid: polygon insides (even-odd
rule, tested at pixel centres), circles, and lines sampled densely enough to leave no gaps.

Coordinates are (column, row) floats in the image-relative pixel space of PS3.3 C.10.5.1.2:
(0, 0) is the top left corner of the top left pixel, pixel centres sit at +0.5.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["circle_mask", "draw_points", "line_points", "polygon_mask"]

Point = tuple[float, float]


def polygon_mask(
    rows: int, cols: int, vertices: Sequence[Point], *, edges_inside: bool = False
) -> np.ndarray:
    """True for the pixels whose centre lies inside the closed polygon ``vertices`` (and,
    with ``edges_inside``, those whose centre lies on an edge)."""
    ys, xs = np.mgrid[0:rows, 0:cols]
    px, py = xs + 0.5, ys + 0.5
    inside = np.zeros((rows, cols), bool)
    if edges_inside:
        for i in range(len(vertices)):
            (x0, y0), (x1, y1) = vertices[i], vertices[(i + 1) % len(vertices)]
            cross = (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)
            within = (
                (px >= min(x0, x1) - 1e-9)
                & (px <= max(x0, x1) + 1e-9)
                & (py >= min(y0, y1) - 1e-9)
                & (py <= max(y0, y1) + 1e-9)
            )
            inside |= (np.abs(cross) < 1e-9) & within
    on_edge = inside.copy()
    n = len(vertices)
    for i in range(n):
        x0, y0 = vertices[i]
        x1, y1 = vertices[(i + 1) % n]
        if y0 == y1:
            continue
        crosses = (py >= min(y0, y1)) & (py < max(y0, y1))
        x_at = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (px < x_at)
    return inside | on_edge


def circle_mask(rows: int, cols: int, center: Point, radius: float) -> np.ndarray:
    """True for the pixels whose centre lies within ``radius`` of ``center``."""
    ys, xs = np.mgrid[0:rows, 0:cols]
    return bool_array((xs + 0.5 - center[0]) ** 2 + (ys + 0.5 - center[1]) ** 2 <= radius**2)


def bool_array(a: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.asarray(a, dtype=bool)
    return out


def line_points(p0: Point, p1: Point) -> np.ndarray:
    """The (row, column) pixel indices a straight line from ``p0`` to ``p1`` crosses."""
    length = max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1]))
    n = int(np.ceil(length * 2)) + 1
    t = np.linspace(0.0, 1.0, n)
    x = p0[0] + (p1[0] - p0[0]) * t
    y = p0[1] + (p1[1] - p0[1]) * t
    return np.stack([np.floor(y), np.floor(x)], axis=1).astype(np.int64)


def draw_points(img: np.ndarray, rc: np.ndarray, value: int) -> None:
    """Set the (row, column) pixels ``rc`` that fall inside ``img`` to ``value``."""
    rows, cols = img.shape[:2]
    keep = (rc[:, 0] >= 0) & (rc[:, 0] < rows) & (rc[:, 1] >= 0) & (rc[:, 1] < cols)
    rc = rc[keep]
    img[rc[:, 0], rc[:, 1]] = value
