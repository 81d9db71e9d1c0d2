"""Objects people build: Secondary Capture (PS3.3 A.8), Segmentation (A.51, C.8.20) and
Grayscale Softcopy Presentation State (A.33.1), and the readers that go with them.

>>> from dicomkit import builders
>>> builders.secondary_capture.__name__, builders.segmentation.__name__
('secondary_capture', 'segmentation')

- :func:`secondary_capture` -- an SC image (single or multi-frame) from an array or a PNG;
- :func:`segmentation` / :func:`read_segmentation` -- masks to a SEG and back;
- :func:`presentation_state` / :func:`apply_presentation_state` -- a GSPS, and a frame as
  that presentation state shows it.
"""

from __future__ import annotations

from dicomkit.builders._gsps import Graphic, Layer, Shutters, Text, Window, presentation_state
from dicomkit.builders._pngfile import read_png
from dicomkit.builders._present import apply_presentation_state
from dicomkit.builders._sc import secondary_capture
from dicomkit.builders._seg import segmentation
from dicomkit.builders._segment import CODES, Segment
from dicomkit.builders._segread import SegmentationData, read_segmentation

__all__ = [
    "CODES",
    "Graphic",
    "Layer",
    "Segment",
    "SegmentationData",
    "Shutters",
    "Text",
    "Window",
    "apply_presentation_state",
    "presentation_state",
    "read_png",
    "read_segmentation",
    "secondary_capture",
    "segmentation",
]
