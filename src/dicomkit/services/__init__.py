"""DICOM service classes (PS3.4), SCU and SCP sides, built on :mod:`dicomkit.net`.

Verification (C-ECHO) and Storage (C-STORE) live here; each service module offers SCU
functions taking an :class:`~dicomkit.net.Association` and SCP handlers for
:class:`~dicomkit.net.AE` (``{CStoreRequest: StorageSCP(folder)}``).
"""

from dicomkit.services.storage import StorageSCP, contexts_for, read_instance, store, store_files
from dicomkit.services.verification import echo, handle_echo

__all__ = [
    "StorageSCP",
    "contexts_for",
    "echo",
    "handle_echo",
    "read_instance",
    "store",
    "store_files",
]
