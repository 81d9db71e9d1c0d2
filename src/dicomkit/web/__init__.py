"""DICOMweb (PS3.18) for the archive node: QIDO-RS, WADO-RS and STOW-RS over the archive's
index and store (:mod:`dicomkit.web.app`), served by Uvicorn in the node's event loop.

Needs the ``web`` extra: ``pip install dicomkit[web]``.
"""

from __future__ import annotations
