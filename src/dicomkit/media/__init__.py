"""Media storage: DICOMDIR files and File-sets (PS3.10 8-9, PS3.3 Annex F, PS3.11).

``read_dicomdir(path)`` links the records of a DICOMDIR into a tree (PATIENT -> STUDY ->
SERIES -> IMAGE ...) with their referenced files resolved; ``create_dicomdir(folder)`` makes a
File-set of a folder of instances (copied and converted to an application profile of PS3.11,
:mod:`dicomkit.media._profiles`, into an output folder) and writes its DICOMDIR, or adds
instances to an existing one (``update=True``).
"""

from dicomkit.media._creation import build_media, write_iso
from dicomkit.media._dicomdir import DicomDir, Record, read_dicomdir, resolve_file_id
from dicomkit.media._fileset import CreateResult, create_dicomdir, is_conformant_file_id
from dicomkit.media._profiles import PROFILES, Profile, get_profile
from dicomkit.media._records import record_type_for
from dicomkit.media._writer import Node, encode_dicomdir, nodes_from, write_dicomdir

__all__ = [
    "PROFILES",
    "CreateResult",
    "DicomDir",
    "Node",
    "Profile",
    "Record",
    "build_media",
    "create_dicomdir",
    "encode_dicomdir",
    "get_profile",
    "is_conformant_file_id",
    "nodes_from",
    "read_dicomdir",
    "record_type_for",
    "resolve_file_id",
    "write_dicomdir",
    "write_iso",
]
