"""Objects people build: Secondary Capture (PS3.3 A.8), Segmentation (A.51) and Grayscale
Softcopy Presentation State (A.33.1).

>>> from dicomkit import builders
>>> sorted(n for n in builders.__all__ if not n.startswith("_"))[:2]
['Segment', 'apply_presentation_state']
"""

from __future__ import annotations

from dicomkit.builders.sc import secondary_capture

__all__ = ["secondary_capture"]
