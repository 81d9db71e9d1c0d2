"""DICOM networking: the asyncio driver over the sans-IO engine in :mod:`dicomkit.net.proto`.

``AE`` associates (SCU) and serves (SCP); ``Association`` sends and receives typed DIMSE
messages; :mod:`dicomkit.net.sync` runs the same code from plain synchronous scripts.
"""

from dicomkit.net.association import Association
from dicomkit.net.config import AEConfig, Timeouts, TLSConfig, UserIdentity
from dicomkit.net.messages import Incoming, Response
from dicomkit.net.server import AE, Server

__all__ = [
    "AE",
    "AEConfig",
    "Association",
    "Incoming",
    "Response",
    "Server",
    "TLSConfig",
    "Timeouts",
    "UserIdentity",
]
