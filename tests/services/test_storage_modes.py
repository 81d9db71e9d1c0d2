"""A storage SCP's files (``receive``, ``get``, ``serve``) get the mode the umask gives."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import dicomkit
from dicomkit.net._sync import SyncAE
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._storage import StorageSCP, store

CT = "1.2.840.10008.5.1.4.1.1.2"


def test_received_file_mode_follows_umask(tmp_path: Path) -> None:
    ds = dicomkit.Dataset()
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.77"
    ds.PatientName = "MODE^TEST"
    src = tmp_path / "in.dcm"
    dicomkit.write(ds, src)
    out = tmp_path / "out"
    old = os.umask(0o027)
    try:
        with (
            SyncAE("SCP") as ae,
            ae.serve(0, {dimse.CStoreRequest: StorageSCP(out)}) as server,
            SyncAE("SCU") as scu,
            scu.associate("127.0.0.1", server.port, contexts=[CT]) as assoc,
        ):
            assoc.call(store, src)
    finally:
        os.umask(old)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o640
