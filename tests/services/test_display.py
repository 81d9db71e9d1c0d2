"""Display System Management (PS3.4 EE): N-GET of a described display system, statuses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from dicomkit.dictionary import tags
from dicomkit.errors import DicomError, DimseError
from dicomkit.net import AE, Association
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import (
    DISPLAY_SYSTEM,
    DISPLAY_SYSTEM_INSTANCE,
    DisplaySystemSCP,
    get_display_system,
    subsystems,
)
from dicomkit.services._n_common import n_request, supported_for

DESCRIPTION = {
    "Manufacturer": "ACME Displays",
    "ManufacturerModelName": "Radiant 5MP",
    "DeviceSerialNumber": "SN-0042",
    "DisplaySubsystemSequence": [
        {
            "DisplaySubsystemID": 1,
            "DisplaySubsystemName": "Left",
            "DisplaySubsystemDescription": "Diagnostic left",
            "CurrentConfigurationID": 1,
            "DisplaySubsystemQAResultsSequence": [
                {
                    "PerformedProcedureStepStartDateTime": "20260101080000",
                    "PerformedProcedureStepEndDateTime": "20260101081500",
                }
            ],
        },
        {"DisplaySubsystemID": 2, "DisplaySubsystemName": "Right"},
    ],
}


def run(scp: DisplaySystemSCP, body: Callable[[Association], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client, server = memory_pair()
        await AE(
            "DISPLAY", handlers=scp.handlers(), supported=supported_for([DISPLAY_SYSTEM])
        ).serve_transport(server)
        async with AE("QA").associate("", 0, transport=client, contexts=[DISPLAY_SYSTEM]) as assoc:
            return await body(assoc)

    return asyncio.run(main())


def config(tmp_path: Path, data: Any = DESCRIPTION) -> Path:
    path = tmp_path / "display.json"
    path.write_text(json.dumps(data))
    return path


def test_get_all_and_some(tmp_path: Path) -> None:
    path = config(tmp_path)
    scp = DisplaySystemSCP.from_file(path)

    async def body(assoc: Association) -> Any:
        full = await get_display_system(assoc)
        some = await get_display_system(assoc, ["Manufacturer", "DeviceSerialNumber"])
        # the file is re-read: a QA tool's new result shows at once
        changed = dict(DESCRIPTION, DeviceSerialNumber="SN-0043")
        path.write_text(json.dumps(changed))
        again = await get_display_system(assoc, ["DeviceSerialNumber"])
        missing = await get_display_system(assoc, ["Manufacturer", "PatientName"])
        return full, some, again, missing

    full, some, again, missing = run(scp, body)
    assert full[0] == 0
    ds = full[1]
    assert ds.Manufacturer == "ACME Displays" and ds.SOPInstanceUID == DISPLAY_SYSTEM_INSTANCE
    subs = subsystems(ds)
    assert [(s.id, s.name) for s in subs] == [("1", "Left"), ("2", "Right")]
    assert subs[0].qa_results == (("DisplaySubsystemQAResultsSequence", 1),)
    assert subs[1].qa_results == ()
    assert some[0] == 0 and sorted(e.keyword for e in some[1].elements()) == [
        "DeviceSerialNumber",
        "Manufacturer",
    ]
    assert again[1].DeviceSerialNumber == "SN-0043"
    assert missing[0] == 0x0107
    assert missing[1].Manufacturer == "ACME Displays" and "PatientName" not in missing[1]


def test_refusals(tmp_path: Path) -> None:
    scp = DisplaySystemSCP.from_file(config(tmp_path))

    async def body(assoc: Association) -> list[int]:
        out = []
        other = dimse.NGetRequest(
            requested_sop_class_uid=DISPLAY_SYSTEM, requested_sop_instance_uid="1.2.3"
        )
        with pytest.raises(DimseError) as info:
            await n_request(assoc, other, what="t")
        out.append(info.value.status)
        # N-SET is not a service of the Display System SOP class (Table EE.2.2-1)
        nset = dimse.NSetRequest(
            requested_sop_class_uid=DISPLAY_SYSTEM,
            requested_sop_instance_uid=DISPLAY_SYSTEM_INSTANCE,
        )
        from dicomkit.core._dataset import Dataset

        mods = Dataset()
        mods.DeviceSerialNumber = "X"
        out.append((await assoc.request(nset, mods)).status)
        return out

    assert run(scp, body) == [0x0112, 0x0211]


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(DicomError, match="no DisplaySubsystemSequence"):
        DisplaySystemSCP.from_file(config(tmp_path, {"Manufacturer": "X"}))
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(DicomError, match="not JSON"):
        DisplaySystemSCP.from_file(bad)
    with pytest.raises(DicomError, match="no such file"):
        DisplaySystemSCP.from_file(tmp_path / "missing.json")
    assert tags.DisplaySubsystemSequence  # the keyword the error names exists
