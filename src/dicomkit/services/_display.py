"""Display System Management (PS3.4 Annex EE), both sides.

A QA station (the SCU) reads the description of a display system -- its manufacturer,
model, serial number, and for each display subsystem its configuration and the results of
its calibration and quality checks (Display Subsystem Sequence (0028,7023), Table
EE.2.2.1-2) -- with N-GET on the well-known SOP Instance 1.2.840.10008.5.1.1.40.1. N-GET is
the only DIMSE service of the Display System SOP Class (Table EE.2.2-1): an N-SET or any
other request is answered 0x0211 (unrecognized operation) by the AE.

SCP: :class:`DisplaySystemSCP` serves a description read from a file
(:meth:`DisplaySystemSCP.from_file`: Part 10, DICOM JSON or keyword JSON, see
:func:`~dicomkit.services.read_datasets`); re-read on each request when ``reload`` so that
a QA tool may rewrite it. Statuses: another SOP instance -> 0x0112; attributes asked for that
the description does not hold -> 0x0107 (warning, the others returned, PS3.7 10.1.2.1.9).

SCU: :func:`get_display_system` (the attributes asked for, all by default) and
:func:`subsystems` (one summary per display subsystem).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.errors import DicomError
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._dataset_files import read_datasets
from dicomkit.services._n_common import install_handlers, n_request, select, text

log = logging.getLogger("dicomkit.services.display")

DISPLAY_SYSTEM = uids.DisplaySystem
DISPLAY_SYSTEM_INSTANCE = uids.DisplaySystemInstance


class DisplaySystemSCP:
    """The N-GET handler of the Display System SOP Class (PS3.4 EE.2.2.1)."""

    sop_class = DISPLAY_SYSTEM

    def __init__(self, description: Dataset, *, path: Path | None = None, reload: bool = False):
        self._description = description
        self.path = path
        self.reload = reload and path is not None
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path, *, reload: bool = True) -> DisplaySystemSCP:
        """Serve the description in ``path`` (re-read on each N-GET when ``reload``)."""
        return cls(_read_description(Path(path)), path=Path(path), reload=reload)

    @property
    def description(self) -> Dataset:
        """The description served (read again from the file when ``reload``)."""
        if self.reload and self.path is not None:
            try:
                fresh = _read_description(self.path)
            except DicomError as exc:  # keep serving the last good one
                log.warning("display description not re-read: %s", exc)
            else:
                with self._lock:
                    self._description = fresh
        with self._lock:
            return self._description

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """``{NGetRequest: self.get}``."""
        return {dimse.NGetRequest: self.get}

    def add_to(self, ae: Any) -> None:
        """Serve this SCP on ``ae`` (an AE or a SyncAE), offering its SOP classes."""
        install_handlers(ae, self.handlers(), [DISPLAY_SYSTEM])

    def get(self, incoming: Incoming) -> Any:
        """N-GET (PS3.4 EE.2.2.1)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NGetRequest)
        if text(msg.requested_sop_instance_uid) != DISPLAY_SYSTEM_INSTANCE:
            return response_for(
                msg,
                status_codes.NoSuchSOPInstance,
                error_comment=f"the display system is the well-known instance "
                f"{DISPLAY_SYSTEM_INSTANCE}",
            )
        ds = self.description.copy()
        ds.set(tags.SOPClassUID, DISPLAY_SYSTEM, vr="UI")
        ds.set(tags.SOPInstanceUID, DISPLAY_SYSTEM_INSTANCE, vr="UI")
        wanted = msg.attribute_identifier_list
        missing = [t for t in wanted or () if t not in ds]
        answer = select(ds, wanted)
        if missing:
            names = ", ".join(f"({t >> 16:04X},{t & 0xFFFF:04X})" for t in missing)
            return (
                response_for(
                    msg,
                    status_codes.AttributeListWarning,
                    error_comment=f"not described here: {names}",
                ),
                answer,
            )
        return response_for(msg, status_codes.Success), answer


def _read_description(path: Path) -> Dataset:
    found = read_datasets(path)
    if len(found) != 1:
        raise DicomError(f"{path}: a display system description is one object, not {len(found)}")
    ds = found[0]
    if not ds.get(tags.DisplaySubsystemSequence):
        raise DicomError(
            f"{path}: no DisplaySubsystemSequence: describe at least one display subsystem "
            "(PS3.4 Table EE.2.2.1-2)"
        )
    return ds


# -- SCU -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubsystemSummary:
    """One display subsystem as :func:`subsystems` reads it."""

    id: str
    name: str
    description: str
    #: the Current Configuration ID (0028,7002)
    configuration: str
    #: (QA result sequence keyword, number of items) for each QA result present
    qa_results: tuple[tuple[str, int], ...]


async def get_display_system(
    assoc: Association, attributes: Iterable[int | str] | None = None
) -> tuple[int, Dataset]:
    """N-GET the display system's description (``attributes`` tags or keywords, all when
    None); returns (status, data set) -- 0x0107 when some were not described."""
    wanted = tuple(a if isinstance(a, int) else int(getattr(tags, a)) for a in attributes or ())
    msg = dimse.NGetRequest(
        requested_sop_class_uid=DISPLAY_SYSTEM,
        requested_sop_instance_uid=DISPLAY_SYSTEM_INSTANCE,
        attribute_identifier_list=wanted or None,
    )
    rsp, ds = await n_request(assoc, msg, what="Display System N-GET")
    return rsp.status, ds if ds is not None else Dataset()


_RESULTS = ("ResultsSequence", "ResultSequence")


def subsystems(ds: Dataset) -> list[SubsystemSummary]:
    """A summary of each item of the Display Subsystem Sequence."""
    out = []
    for item in ds.get(tags.DisplaySubsystemSequence) or ():
        qa = tuple(
            (el.keyword, len(el.value))
            for el in item.elements()
            if el.vr == "SQ" and (el.keyword or "").endswith(_RESULTS) and el.value
        )
        out.append(
            SubsystemSummary(
                text(item.get(tags.DisplaySubsystemID)),
                text(item.get(tags.DisplaySubsystemName)),
                text(item.get(tags.DisplaySubsystemDescription)),
                text(item.get(tags.CurrentConfigurationID)),
                qa,
            )
        )
    return out


__all__ = [
    "DISPLAY_SYSTEM",
    "DISPLAY_SYSTEM_INSTANCE",
    "DisplaySystemSCP",
    "SubsystemSummary",
    "get_display_system",
    "subsystems",
]
