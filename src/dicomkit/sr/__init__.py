"""Structured Reporting (PS3.3 C.17, A.35; templates of PS3.16).

>>> from dicomkit import sr
>>> doc = sr.read("report.dcm")                     # doctest: +SKIP
>>> print(sr.render.text(doc))                      # doctest: +SKIP
>>> doc.root.find("Finding").value                  # doctest: +SKIP

The content tree is :class:`ContentItem` nodes (:mod:`dicomkit.sr._model`); :mod:`.items` has
a constructor per value type; :mod:`.constraints` checks an IOD's relationship rules;
:mod:`.render` prints text, HTML and XML; :mod:`.templates` builds and reads TID 1500, TID 2000,
Key Object Selection and reads dose reports.
"""

from __future__ import annotations

from dicomkit.sr import _items as items
from dicomkit.sr import _render as render
from dicomkit.sr._code import Code
from dicomkit.sr._codes import DCM, LN, RFC5646, SCT, UCUM, UMLS
from dicomkit.sr._constraints import Problem, check
from dicomkit.sr._document import SR_SOP_CLASSES, Document, new_document, read
from dicomkit.sr._model import ContentItem, Reference, Relationship, ValueType

__all__ = [
    "DCM",
    "LN",
    "RFC5646",
    "SCT",
    "SR_SOP_CLASSES",
    "UCUM",
    "UMLS",
    "Code",
    "ContentItem",
    "Document",
    "Problem",
    "Reference",
    "Relationship",
    "ValueType",
    "check",
    "items",
    "new_document",
    "read",
    "render",
]
