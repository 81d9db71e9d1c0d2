"""DICOM service classes (PS3.4), SCU and SCP sides, built on :mod:`dicomkit.net`.

Each service module offers SCU functions taking an :class:`~dicomkit.net.Association` and SCP
handlers for :class:`~dicomkit.net.AE`::

    from dicomkit.services import CStoreRequest, StorageSCP, echo, find, store
    ae.serve(11112, {CStoreRequest: StorageSCP("incoming")})

Print Management (PS3.4 H) is here as :class:`PrintSCP` and the SCU calls
:func:`print_images`, :func:`create_film_session` ... (see the print page of the docs).
The Storage Commitment, Modality Worklist, MPPS and UPS modules are here too
(``from dicomkit.services import mpps``; their SCU functions share names such as ``find`` and
``create``, so those are reached through the module), with their classes and constants.

The names below load their module on first use (PEP 562), so that a command that only
echoes never imports the storage or query/retrieve code. The DIMSE message types a handler
is keyed by (``CStoreRequest``, ``CFindRequest`` ...) are :mod:`dicomkit.net`'s, offered here
too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit.net.proto._dimse import (
        CEchoRequest as CEchoRequest,
    )
    from dicomkit.net.proto._dimse import (
        CFindRequest as CFindRequest,
    )
    from dicomkit.net.proto._dimse import (
        CGetRequest as CGetRequest,
    )
    from dicomkit.net.proto._dimse import (
        CMoveRequest as CMoveRequest,
    )
    from dicomkit.net.proto._dimse import (
        CStoreRequest as CStoreRequest,
    )
    from dicomkit.net.proto._dimse import (
        NActionRequest as NActionRequest,
    )
    from dicomkit.net.proto._dimse import (
        NCreateRequest as NCreateRequest,
    )
    from dicomkit.net.proto._dimse import (
        NEventReportRequest as NEventReportRequest,
    )
    from dicomkit.net.proto._dimse import (
        NSetRequest as NSetRequest,
    )
    from dicomkit.services import _commitment as commitment
    from dicomkit.services import _ian as ian
    from dicomkit.services import _media_creation as media_creation
    from dicomkit.services import _mpps as mpps
    from dicomkit.services import _rt_verification as rt_verification
    from dicomkit.services import _ups as ups
    from dicomkit.services import _worklist as worklist
    from dicomkit.services._commitment import EVENT_FAILURES as EVENT_FAILURES
    from dicomkit.services._commitment import EVENT_SUCCESS as EVENT_SUCCESS
    from dicomkit.services._commitment import LISTENER_ROLES as LISTENER_ROLES
    from dicomkit.services._commitment import STORAGE_COMMITMENT as STORAGE_COMMITMENT
    from dicomkit.services._commitment import (
        STORAGE_COMMITMENT_INSTANCE as STORAGE_COMMITMENT_INSTANCE,
    )
    from dicomkit.services._commitment import CommitmentListener as CommitmentListener
    from dicomkit.services._commitment import CommitmentResult as CommitmentResult
    from dicomkit.services._commitment import StorageCommitmentSCP as StorageCommitmentSCP
    from dicomkit.services._commitment import action_information as action_information
    from dicomkit.services._commitment import commit as commit
    from dicomkit.services._commitment import event_information as event_information
    from dicomkit.services._commitment import request_commitment as request_commitment
    from dicomkit.services._dataset_files import read_datasets as read_datasets
    from dicomkit.services._display import DISPLAY_SYSTEM as DISPLAY_SYSTEM
    from dicomkit.services._display import DISPLAY_SYSTEM_INSTANCE as DISPLAY_SYSTEM_INSTANCE
    from dicomkit.services._display import DisplaySystemSCP as DisplaySystemSCP
    from dicomkit.services._display import SubsystemSummary as SubsystemSummary
    from dicomkit.services._display import get_display_system as get_display_system
    from dicomkit.services._display import subsystems as subsystems
    from dicomkit.services._event_log import PROCEDURAL_EVENT_LOGGING as PROCEDURAL_EVENT_LOGGING
    from dicomkit.services._event_log import (
        PROCEDURAL_EVENT_LOGGING_INSTANCE as PROCEDURAL_EVENT_LOGGING_INSTANCE,
    )
    from dicomkit.services._event_log import EventLogFolder as EventLogFolder
    from dicomkit.services._event_log import EventRecord as EventRecord
    from dicomkit.services._event_log import ProceduralEventLogSCP as ProceduralEventLogSCP
    from dicomkit.services._event_log import event_record as event_record
    from dicomkit.services._event_log import log_event as log_event
    from dicomkit.services._ian import IANSCP as IANSCP
    from dicomkit.services._ian import (
        INSTANCE_AVAILABILITY_NOTIFICATION as INSTANCE_AVAILABILITY_NOTIFICATION,
    )
    from dicomkit.services._media_creation import CANCEL_MEDIA_CREATION as CANCEL_MEDIA_CREATION
    from dicomkit.services._media_creation import INITIATE_MEDIA_CREATION as INITIATE_MEDIA_CREATION
    from dicomkit.services._media_creation import (
        MEDIA_CREATION_MANAGEMENT as MEDIA_CREATION_MANAGEMENT,
    )
    from dicomkit.services._media_creation import MediaBuilder as MediaBuilder
    from dicomkit.services._media_creation import MediaCancelled as MediaCancelled
    from dicomkit.services._media_creation import MediaCreationSCP as MediaCreationSCP
    from dicomkit.services._media_creation import MediaJob as MediaJob
    from dicomkit.services._media_creation import MediaRequest as MediaRequest
    from dicomkit.services._media_creation import MediaResult as MediaResult
    from dicomkit.services._media_creation import MediaStatus as MediaStatus
    from dicomkit.services._media_creation import media_request as media_request
    from dicomkit.services._mpps import MPPS as MPPS
    from dicomkit.services._mpps import MPPSSCP as MPPSSCP
    from dicomkit.services._mpps import MPPSStore as MPPSStore
    from dicomkit.services._mpps import in_progress as in_progress
    from dicomkit.services._print_render import PrinterProfile as PrinterProfile
    from dicomkit.services._print_scp import PRINT_SOP_CLASSES as PRINT_SOP_CLASSES
    from dicomkit.services._print_scp import PrintSCP as PrintSCP
    from dicomkit.services._print_scu import FilmBoxRef as FilmBoxRef
    from dicomkit.services._print_scu import FilmOptions as FilmOptions
    from dicomkit.services._print_scu import PrintResult as PrintResult
    from dicomkit.services._print_scu import create_film_box as create_film_box
    from dicomkit.services._print_scu import create_film_session as create_film_session
    from dicomkit.services._print_scu import create_presentation_lut as create_presentation_lut
    from dicomkit.services._print_scu import delete_film_box as delete_film_box
    from dicomkit.services._print_scu import delete_film_session as delete_film_session
    from dicomkit.services._print_scu import delete_presentation_lut as delete_presentation_lut
    from dicomkit.services._print_scu import get_print_job as get_print_job
    from dicomkit.services._print_scu import get_printer as get_printer
    from dicomkit.services._print_scu import image_item as image_item
    from dicomkit.services._print_scu import print_contexts as print_contexts
    from dicomkit.services._print_scu import print_film_box as print_film_box
    from dicomkit.services._print_scu import print_film_session as print_film_session
    from dicomkit.services._print_scu import print_images as print_images
    from dicomkit.services._print_scu import set_annotation_box as set_annotation_box
    from dicomkit.services._print_scu import set_image_box as set_image_box
    from dicomkit.services._qr_scp import QueryRetrieveSCP as QueryRetrieveSCP
    from dicomkit.services._query_retrieve import FIND as FIND
    from dicomkit.services._query_retrieve import GET as GET
    from dicomkit.services._query_retrieve import MOVE as MOVE
    from dicomkit.services._query_retrieve import Model as Model
    from dicomkit.services._query_retrieve import RetrieveResult as RetrieveResult
    from dicomkit.services._query_retrieve import find as find
    from dicomkit.services._query_retrieve import get as get
    from dicomkit.services._query_retrieve import identifier as identifier
    from dicomkit.services._query_retrieve import move as move
    from dicomkit.services._relevant_patient import (
        BREAST_RELEVANT_PATIENT as BREAST_RELEVANT_PATIENT,
    )
    from dicomkit.services._relevant_patient import (
        CARDIAC_RELEVANT_PATIENT as CARDIAC_RELEVANT_PATIENT,
    )
    from dicomkit.services._relevant_patient import (
        GENERAL_RELEVANT_PATIENT as GENERAL_RELEVANT_PATIENT,
    )
    from dicomkit.services._relevant_patient import (
        RELEVANT_PATIENT_CLASSES as RELEVANT_PATIENT_CLASSES,
    )
    from dicomkit.services._relevant_patient import FolderPatientRecords as FolderPatientRecords
    from dicomkit.services._relevant_patient import ListPatientRecords as ListPatientRecords
    from dicomkit.services._relevant_patient import PatientRecords as PatientRecords
    from dicomkit.services._relevant_patient import RelevantPatientSCP as RelevantPatientSCP
    from dicomkit.services._relevant_patient import (
        query_relevant_information as query_relevant_information,
    )
    from dicomkit.services._relevant_patient import relevant_patient_query as relevant_patient_query
    from dicomkit.services._rt_verification import (
        EVENT_VERIFICATION_DONE as EVENT_VERIFICATION_DONE,
    )
    from dicomkit.services._rt_verification import (
        MACHINE_VERIFICATION_CLASSES as MACHINE_VERIFICATION_CLASSES,
    )
    from dicomkit.services._rt_verification import (
        RT_CONVENTIONAL_MACHINE_VERIFICATION as RT_CONVENTIONAL_MACHINE_VERIFICATION,
    )
    from dicomkit.services._rt_verification import (
        RT_ION_MACHINE_VERIFICATION as RT_ION_MACHINE_VERIFICATION,
    )
    from dicomkit.services._rt_verification import MachineVerificationSCP as MachineVerificationSCP
    from dicomkit.services._rt_verification import ParameterResult as ParameterResult
    from dicomkit.services._rt_verification import RangeVerifier as RangeVerifier
    from dicomkit.services._rt_verification import VerificationListener as VerificationListener
    from dicomkit.services._rt_verification import VerificationResult as VerificationResult
    from dicomkit.services._storage import StorageSCP as StorageSCP
    from dicomkit.services._storage import contexts_for as contexts_for
    from dicomkit.services._storage import read_instance as read_instance
    from dicomkit.services._storage import store as store
    from dicomkit.services._storage import store_files as store_files
    from dicomkit.services._substance import (
        PRODUCT_CHARACTERISTICS_QUERY as PRODUCT_CHARACTERISTICS_QUERY,
    )
    from dicomkit.services._substance import SUBSTANCE_APPROVAL_QUERY as SUBSTANCE_APPROVAL_QUERY
    from dicomkit.services._substance import SUBSTANCE_QUERY_CLASSES as SUBSTANCE_QUERY_CLASSES
    from dicomkit.services._substance import Approval as Approval
    from dicomkit.services._substance import SubstanceCatalogue as SubstanceCatalogue
    from dicomkit.services._substance import SubstanceQuerySCP as SubstanceQuerySCP
    from dicomkit.services._substance import approval_query as approval_query
    from dicomkit.services._substance import product_characteristics as product_characteristics
    from dicomkit.services._substance import product_query as product_query
    from dicomkit.services._substance import substance_approval as substance_approval
    from dicomkit.services._ups import UPS_EVENT as UPS_EVENT
    from dicomkit.services._ups import UPS_GLOBAL as UPS_GLOBAL
    from dicomkit.services._ups import UPS_PULL as UPS_PULL
    from dicomkit.services._ups import UPS_PUSH as UPS_PUSH
    from dicomkit.services._ups import UPS_QUERY as UPS_QUERY
    from dicomkit.services._ups import UPS_SOP_CLASSES as UPS_SOP_CLASSES
    from dicomkit.services._ups import UPS_WATCH as UPS_WATCH
    from dicomkit.services._ups import UPSSCP as UPSSCP
    from dicomkit.services._ups import UPSEvent as UPSEvent
    from dicomkit.services._ups import UPSEventListener as UPSEventListener
    from dicomkit.services._ups import change_state as change_state
    from dicomkit.services._ups import request_cancel as request_cancel
    from dicomkit.services._ups import scheduled as scheduled
    from dicomkit.services._ups import subscribe as subscribe
    from dicomkit.services._ups import suspend_global as suspend_global
    from dicomkit.services._ups import unsubscribe as unsubscribe
    from dicomkit.services._verification import echo as echo
    from dicomkit.services._verification import handle_echo as handle_echo
    from dicomkit.services._worklist import MODALITY_WORKLIST_FIND as MODALITY_WORKLIST_FIND
    from dicomkit.services._worklist import FolderSource as FolderSource
    from dicomkit.services._worklist import ListSource as ListSource
    from dicomkit.services._worklist import WorklistSCP as WorklistSCP
    from dicomkit.services._worklist import WorklistSource as WorklistSource
    from dicomkit.services._worklist import matches as matches
    from dicomkit.services._worklist import response_for_item as response_for_item
    from dicomkit.services._worklist import worklist_query as worklist_query
    from dicomkit.services._worklist import write_item as write_item

#: public name -> the module that defines it
_WHERE = {
    **dict.fromkeys(
        (
            "CEchoRequest",
            "CFindRequest",
            "CGetRequest",
            "CMoveRequest",
            "CStoreRequest",
            "NActionRequest",
            "NCreateRequest",
            "NEventReportRequest",
            "NSetRequest",
        ),
        "dicomkit.net.proto._dimse",
    ),
    **dict.fromkeys(
        (
            "FilmBoxRef",
            "FilmOptions",
            "PrintResult",
            "create_film_box",
            "create_film_session",
            "create_presentation_lut",
            "delete_film_box",
            "delete_film_session",
            "delete_presentation_lut",
            "get_print_job",
            "get_printer",
            "image_item",
            "print_contexts",
            "print_film_box",
            "print_film_session",
            "print_images",
            "set_annotation_box",
            "set_image_box",
        ),
        "dicomkit.services._print_scu",
    ),
    **dict.fromkeys(("PrintSCP", "PRINT_SOP_CLASSES"), "dicomkit.services._print_scp"),
    "PrinterProfile": "dicomkit.services._print_render",
    "QueryRetrieveSCP": "dicomkit.services._qr_scp",
    **dict.fromkeys(
        (
            "BREAST_RELEVANT_PATIENT",
            "CARDIAC_RELEVANT_PATIENT",
            "GENERAL_RELEVANT_PATIENT",
            "RELEVANT_PATIENT_CLASSES",
            "FolderPatientRecords",
            "ListPatientRecords",
            "PatientRecords",
            "RelevantPatientSCP",
            "query_relevant_information",
            "relevant_patient_query",
        ),
        "dicomkit.services._relevant_patient",
    ),
    **dict.fromkeys(
        (
            "PRODUCT_CHARACTERISTICS_QUERY",
            "SUBSTANCE_APPROVAL_QUERY",
            "SUBSTANCE_QUERY_CLASSES",
            "Approval",
            "SubstanceCatalogue",
            "SubstanceQuerySCP",
            "approval_query",
            "product_characteristics",
            "product_query",
            "substance_approval",
        ),
        "dicomkit.services._substance",
    ),
    **dict.fromkeys(
        ("read_datasets",),
        "dicomkit.services._dataset_files",
    ),
    **dict.fromkeys(
        (
            "DISPLAY_SYSTEM",
            "DISPLAY_SYSTEM_INSTANCE",
            "DisplaySystemSCP",
            "SubsystemSummary",
            "get_display_system",
            "subsystems",
        ),
        "dicomkit.services._display",
    ),
    **dict.fromkeys(
        (
            "CANCEL_MEDIA_CREATION",
            "INITIATE_MEDIA_CREATION",
            "MEDIA_CREATION_MANAGEMENT",
            "MediaBuilder",
            "MediaCancelled",
            "MediaCreationSCP",
            "MediaJob",
            "MediaRequest",
            "MediaResult",
            "MediaStatus",
            "media_request",
        ),
        "dicomkit.services._media_creation",
    ),
    **dict.fromkeys(
        (
            "EVENT_VERIFICATION_DONE",
            "MACHINE_VERIFICATION_CLASSES",
            "RT_CONVENTIONAL_MACHINE_VERIFICATION",
            "RT_ION_MACHINE_VERIFICATION",
            "MachineVerificationSCP",
            "ParameterResult",
            "RangeVerifier",
            "VerificationListener",
            "VerificationResult",
        ),
        "dicomkit.services._rt_verification",
    ),
    **dict.fromkeys(
        (
            "PROCEDURAL_EVENT_LOGGING",
            "PROCEDURAL_EVENT_LOGGING_INSTANCE",
            "EventLogFolder",
            "EventRecord",
            "ProceduralEventLogSCP",
            "event_record",
            "log_event",
        ),
        "dicomkit.services._event_log",
    ),
    **dict.fromkeys(
        ("FIND", "GET", "MOVE", "Model", "RetrieveResult", "find", "get", "identifier", "move"),
        "dicomkit.services._query_retrieve",
    ),
    **dict.fromkeys(
        ("StorageSCP", "contexts_for", "read_instance", "store", "store_files"),
        "dicomkit.services._storage",
    ),
    **dict.fromkeys(("echo", "handle_echo"), "dicomkit.services._verification"),
    "WorklistSCP": "dicomkit.services._worklist",
    **dict.fromkeys(
        (
            "CommitmentListener",
            "CommitmentResult",
            "EVENT_FAILURES",
            "EVENT_SUCCESS",
            "LISTENER_ROLES",
            "STORAGE_COMMITMENT",
            "STORAGE_COMMITMENT_INSTANCE",
            "StorageCommitmentSCP",
            "action_information",
            "commit",
            "event_information",
            "request_commitment",
        ),
        "dicomkit.services._commitment",
    ),
    **dict.fromkeys(
        (
            "FolderSource",
            "ListSource",
            "MODALITY_WORKLIST_FIND",
            "WorklistSource",
            "matches",
            "response_for_item",
            "worklist_query",
            "write_item",
        ),
        "dicomkit.services._worklist",
    ),
    **dict.fromkeys(("MPPS", "MPPSSCP", "MPPSStore", "in_progress"), "dicomkit.services._mpps"),
    **dict.fromkeys(("IANSCP", "INSTANCE_AVAILABILITY_NOTIFICATION"), "dicomkit.services._ian"),
    **dict.fromkeys(
        (
            "UPSEvent",
            "UPSEventListener",
            "UPSSCP",
            "UPS_EVENT",
            "UPS_GLOBAL",
            "UPS_PULL",
            "UPS_PUSH",
            "UPS_QUERY",
            "UPS_SOP_CLASSES",
            "UPS_WATCH",
            "change_state",
            "request_cancel",
            "scheduled",
            "subscribe",
            "suspend_global",
            "unsubscribe",
        ),
        "dicomkit.services._ups",
    ),
}
#: the service modules themselves (their ``find``, ``create`` ... share names)
_MODULES = ("commitment", "ian", "media_creation", "mpps", "rt_verification", "ups", "worklist")

__all__ = [
    "BREAST_RELEVANT_PATIENT",
    "CANCEL_MEDIA_CREATION",
    "CARDIAC_RELEVANT_PATIENT",
    "DISPLAY_SYSTEM",
    "DISPLAY_SYSTEM_INSTANCE",
    "EVENT_FAILURES",
    "EVENT_SUCCESS",
    "EVENT_VERIFICATION_DONE",
    "FIND",
    "GENERAL_RELEVANT_PATIENT",
    "GET",
    "IANSCP",
    "INITIATE_MEDIA_CREATION",
    "INSTANCE_AVAILABILITY_NOTIFICATION",
    "LISTENER_ROLES",
    "MACHINE_VERIFICATION_CLASSES",
    "MEDIA_CREATION_MANAGEMENT",
    "MODALITY_WORKLIST_FIND",
    "MOVE",
    "MPPS",
    "MPPSSCP",
    "PRINT_SOP_CLASSES",
    "PROCEDURAL_EVENT_LOGGING",
    "PROCEDURAL_EVENT_LOGGING_INSTANCE",
    "PRODUCT_CHARACTERISTICS_QUERY",
    "RELEVANT_PATIENT_CLASSES",
    "RT_CONVENTIONAL_MACHINE_VERIFICATION",
    "RT_ION_MACHINE_VERIFICATION",
    "STORAGE_COMMITMENT",
    "STORAGE_COMMITMENT_INSTANCE",
    "SUBSTANCE_APPROVAL_QUERY",
    "SUBSTANCE_QUERY_CLASSES",
    "UPSSCP",
    "UPS_EVENT",
    "UPS_GLOBAL",
    "UPS_PULL",
    "UPS_PUSH",
    "UPS_QUERY",
    "UPS_SOP_CLASSES",
    "UPS_WATCH",
    "Approval",
    "CEchoRequest",
    "CFindRequest",
    "CGetRequest",
    "CMoveRequest",
    "CStoreRequest",
    "CommitmentListener",
    "CommitmentResult",
    "DisplaySystemSCP",
    "EventLogFolder",
    "EventRecord",
    "FilmBoxRef",
    "FilmOptions",
    "FolderPatientRecords",
    "FolderSource",
    "ListPatientRecords",
    "ListSource",
    "MPPSStore",
    "MachineVerificationSCP",
    "MediaBuilder",
    "MediaCancelled",
    "MediaCreationSCP",
    "MediaJob",
    "MediaRequest",
    "MediaResult",
    "MediaStatus",
    "Model",
    "NActionRequest",
    "NCreateRequest",
    "NEventReportRequest",
    "NSetRequest",
    "ParameterResult",
    "PatientRecords",
    "PrintResult",
    "PrintSCP",
    "PrinterProfile",
    "ProceduralEventLogSCP",
    "QueryRetrieveSCP",
    "RangeVerifier",
    "RelevantPatientSCP",
    "RetrieveResult",
    "StorageCommitmentSCP",
    "StorageSCP",
    "SubstanceCatalogue",
    "SubstanceQuerySCP",
    "SubsystemSummary",
    "UPSEvent",
    "UPSEventListener",
    "VerificationListener",
    "VerificationResult",
    "WorklistSCP",
    "WorklistSource",
    "action_information",
    "approval_query",
    "change_state",
    "commit",
    "commitment",
    "contexts_for",
    "create_film_box",
    "create_film_session",
    "create_presentation_lut",
    "delete_film_box",
    "delete_film_session",
    "delete_presentation_lut",
    "echo",
    "event_information",
    "event_record",
    "find",
    "get",
    "get_display_system",
    "get_print_job",
    "get_printer",
    "handle_echo",
    "ian",
    "identifier",
    "image_item",
    "in_progress",
    "log_event",
    "matches",
    "media_creation",
    "media_request",
    "move",
    "mpps",
    "print_contexts",
    "print_film_box",
    "print_film_session",
    "print_images",
    "product_characteristics",
    "product_query",
    "query_relevant_information",
    "read_datasets",
    "read_instance",
    "relevant_patient_query",
    "request_cancel",
    "request_commitment",
    "response_for_item",
    "rt_verification",
    "scheduled",
    "set_annotation_box",
    "set_image_box",
    "store",
    "store_files",
    "subscribe",
    "substance_approval",
    "subsystems",
    "suspend_global",
    "unsubscribe",
    "ups",
    "worklist",
    "worklist_query",
    "write_item",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"dicomkit.services._{name}")
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'dicomkit.services' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
