"""De-identification by the Basic Application Level Confidentiality Profile and its options
(PS3.15 Annex E)::

    from dicomkit.deid import deidentify, Option, UIDMap
    uids = UIDMap()                       # share it across a study to keep references
    clean = deidentify(ds, options={Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}, uid_map=uids)
    uids.save("uid-map.json")

The action table is generated from the standard's Table E.1-1 by ``tools/gen_deid.py``.
"""

from __future__ import annotations

from dicomkit.deid._actions import DEFAULT_DUMMIES
from dicomkit.deid._engine import Change, deidentify
from dicomkit.deid._options import OPTION_CODES, Option, Rule, check_options, rule_for
from dicomkit.deid._uids import UIDMap, hashed_uid

__all__ = [
    "DEFAULT_DUMMIES",
    "OPTION_CODES",
    "Change",
    "Option",
    "Rule",
    "UIDMap",
    "check_options",
    "deidentify",
    "hashed_uid",
    "rule_for",
]
