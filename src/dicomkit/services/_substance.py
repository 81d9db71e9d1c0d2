"""Substance Administration Query (PS3.4 Annex V), both sides.

Two C-FIND SOP classes answer a device (an injector, a modality) before it administers a
substance (contrast, a radiopharmaceutical):

- **Product Characteristics Query** (V.6.1): given the Product Package Identifier (0044,0001)
  of a package (its barcode), what is it -- Product Type Code Sequence, Product Name,
  Product Description, Product Lot Identifier, Product Expiration DateTime, Product Parameter
  Sequence ... Zero or one pending response.
- **Substance Approval Query** (V.6.2): may this patient (Patient ID) receive this package
  (Product Package Identifier), optionally by this route (Administration Route Code
  Sequence)? One pending response with Substance Administration Approval (0044,0002)
  APPROVED, WARNING or CONTRA_INDICATED and Approval Status Further Description (0044,0003),
  or none: the SCP cannot decide (V.6.2.2.3).

SCP: :class:`SubstanceQuerySCP` over a :class:`SubstanceCatalogue` the user supplies
(:meth:`SubstanceCatalogue.from_file`: a JSON list or DICOM file; an entry with Substance
Administration Approval is an approval, any other a product). Matching is the attribute
matching of PS3.4 C.2.2.2; each response holds exactly the keys asked for. When several
approvals match, the most restrictive one answers (CONTRA_INDICATED over WARNING over
APPROVED); an approval that names no route applies to every route. Statuses: a query without its required key (Product Package Identifier; Patient ID
for approvals) -> 0xA900 naming it; a key it cannot match -> matched as absent (universal).

SCU: :func:`product_characteristics`, :func:`substance_approval` and their query builders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.errors import DicomError
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._dataset_files import read_datasets
from dicomkit.services._n_common import install_handlers, text
from dicomkit.services._worklist import find as c_find
from dicomkit.services._worklist import matches, response_for_item

log = logging.getLogger("dicomkit.services.substance")

PRODUCT_CHARACTERISTICS_QUERY = uids.ProductCharacteristicsQuery
SUBSTANCE_APPROVAL_QUERY = uids.SubstanceApprovalQuery
SUBSTANCE_QUERY_CLASSES = (PRODUCT_CHARACTERISTICS_QUERY, SUBSTANCE_APPROVAL_QUERY)
APPROVED, WARNING, CONTRA_INDICATED = "APPROVED", "WARNING", "CONTRA_INDICATED"
_SEVERITY = {APPROVED: 0, WARNING: 1, CONTRA_INDICATED: 2}
#: the keys each query must carry with a value (PS3.4 V.6.1.1, V.6.2.1)
REQUIRED_KEYS = {
    PRODUCT_CHARACTERISTICS_QUERY: (tags.ProductPackageIdentifier,),
    SUBSTANCE_APPROVAL_QUERY: (tags.PatientID, tags.ProductPackageIdentifier),
}


@dataclass
class SubstanceCatalogue:
    """The products and approvals a Substance Administration Query SCP answers from."""

    products: list[Dataset] = field(default_factory=list)
    approvals: list[Dataset] = field(default_factory=list)

    @classmethod
    def from_datasets(cls, entries: Iterable[Dataset]) -> SubstanceCatalogue:
        """Sort entries: those with Substance Administration Approval are approvals."""
        out = cls()
        for n, ds in enumerate(entries, 1):
            if tags.SubstanceAdministrationApproval in ds:
                value = text(ds.get(tags.SubstanceAdministrationApproval)).upper()
                if value not in _SEVERITY:
                    raise DicomError(
                        f"catalogue entry {n}: SubstanceAdministrationApproval {value!r} must "
                        "be APPROVED, WARNING or CONTRA_INDICATED"
                    )
                for tag, name in ((tags.PatientID, "PatientID"), (tags.ProductPackageIdentifier, "ProductPackageIdentifier")):  # fmt: skip
                    if not text(ds.get(tag)):
                        raise DicomError(f"catalogue entry {n}: an approval needs {name}")
                out.approvals.append(ds)
            else:
                if not text(ds.get(tags.ProductPackageIdentifier)):
                    raise DicomError(
                        f"catalogue entry {n}: a product needs ProductPackageIdentifier"
                    )
                out.products.append(ds)
        return out

    @classmethod
    def from_file(cls, path: str | Path) -> SubstanceCatalogue:
        """Read a catalogue (JSON list of entries, or DICOM; see
        :func:`~dicomkit.services.read_datasets`)."""
        return cls.from_datasets(read_datasets(path))


class SubstanceQuerySCP:
    """C-FIND handler of both Substance Administration Query SOP classes (PS3.4 V.6)."""

    def __init__(self, catalogue: SubstanceCatalogue) -> None:
        self.catalogue = catalogue

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """``{CFindRequest: self}``."""
        return {dimse.CFindRequest: self}

    def add_to(self, ae: Any) -> None:
        """Serve this SCP on ``ae`` (an AE or a SyncAE), offering its SOP classes."""
        install_handlers(ae, self.handlers(), SUBSTANCE_QUERY_CLASSES)

    def __call__(self, incoming: Incoming) -> Iterator[Any]:
        msg = incoming.message
        assert isinstance(msg, dimse.CFindRequest)
        sop_class = msg.affected_sop_class_uid
        if sop_class not in SUBSTANCE_QUERY_CLASSES:
            yield response_for(msg, status_codes.SOPClassNotSupported)
            return
        query = incoming.dataset
        if query is None:
            yield response_for(
                msg, status_codes.IdentifierDoesNotMatchSOPClass, error_comment="no identifier"
            )
            return
        for tag in REQUIRED_KEYS[sop_class]:
            if not text(query.get(tag)):
                yield response_for(
                    msg,
                    status_codes.IdentifierDoesNotMatchSOPClass,
                    offending_element=(tag,),
                    error_comment=f"the query needs a value for ({tag >> 16:04X},{tag & 0xFFFF:04X})",
                )
                return
        if sop_class == PRODUCT_CHARACTERISTICS_QUERY:
            found = [p for p in self.catalogue.products if matches(query, p)][:1]
        else:
            hits = [a for a in self.catalogue.approvals if _applies(query, a)]
            hits.sort(
                key=lambda a: -_SEVERITY[text(a.get(tags.SubstanceAdministrationApproval)).upper()]
            )
            found = hits[:1]
        for item in found:
            if incoming.cancelled:
                return
            yield status_codes.Pending, response_for_item(query, item)
        yield response_for(msg, status_codes.Success)


def _applies(query: Dataset, approval: Dataset) -> bool:
    """An approval that names no route (or other key) applies whatever the query asks for
    it: only the keys the approval holds are matched."""
    narrowed = Dataset()
    for el in query.elements():
        if el.tag in approval:
            narrowed.set(el.tag, el.value, vr=el.vr)
    return matches(narrowed, approval)


# -- SCU -------------------------------------------------------------------------------------


def product_query(package_id: str, keys: Iterable[str] = ()) -> Dataset:
    """A Product Characteristics identifier: the package and the product keys to return
    (default: type, name, description, lot, expiration, parameters)."""
    ds = Dataset()
    ds.ProductPackageIdentifier = package_id
    for kw in keys or (
        "ProductName",
        "ProductDescription",
        "ProductLotIdentifier",
        "ProductExpirationDateTime",
    ):
        ds.set(kw, None)
    for kw in ("ProductTypeCodeSequence", "ProductParameterSequence"):
        if not keys or kw in keys:
            ds.set(kw, Sequence())
    return ds


def approval_query(
    patient_id: str, package_id: str, *, route: tuple[str, str, str] | None = None
) -> Dataset:
    """A Substance Approval identifier; ``route`` (code, scheme, meaning) of the
    Administration Route Code Sequence."""
    ds = Dataset()
    ds.PatientID = patient_id
    ds.ProductPackageIdentifier = package_id
    if route is not None:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = route
        ds.AdministrationRouteCodeSequence = Sequence([item])
    ds.SubstanceAdministrationApproval = None
    ds.ApprovalStatusFurtherDescription = None
    ds.ApprovalStatusDateTime = None
    return ds


@dataclass(frozen=True, slots=True)
class Approval:
    """A Substance Approval answer; ``decision`` "" when the SCP could not decide."""

    decision: str
    description: str = ""
    datetime: str = ""


async def product_characteristics(assoc: Association, query: Dataset | str) -> Dataset | None:
    """The product answering a Product Characteristics query (a package identifier or an
    identifier from :func:`product_query`); None when the SCP knows no such package."""
    ds = product_query(query) if isinstance(query, str) else query
    found = [d async for d in c_find(assoc, ds, sop_class=PRODUCT_CHARACTERISTICS_QUERY)]
    return found[0] if found else None


async def substance_approval(
    assoc: Association,
    patient_id: str,
    package_id: str,
    *,
    route: tuple[str, str, str] | None = None,
) -> Approval:
    """May ``patient_id`` receive ``package_id``? (Substance Approval Query)."""
    query = approval_query(patient_id, package_id, route=route)
    answers = [d async for d in c_find(assoc, query, sop_class=SUBSTANCE_APPROVAL_QUERY)]
    if not answers:
        return Approval("")
    found = answers[0]
    return Approval(
        text(found.get(tags.SubstanceAdministrationApproval)),
        text(found.get(tags.ApprovalStatusFurtherDescription)),
        text(found.get(tags.ApprovalStatusDateTime)),
    )


__all__ = [
    "APPROVED",
    "CONTRA_INDICATED",
    "PRODUCT_CHARACTERISTICS_QUERY",
    "SUBSTANCE_APPROVAL_QUERY",
    "SUBSTANCE_QUERY_CLASSES",
    "WARNING",
    "Approval",
    "SubstanceCatalogue",
    "SubstanceQuerySCP",
    "approval_query",
    "product_characteristics",
    "product_query",
    "substance_approval",
]
