"""Interop with pynetdicom (a test oracle only): its SCU against our SCP, our SCU against its
SCP, in several transfer syntaxes including compressed ones; plus N-GET and TLS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peers
import pytest
from corpus import manifest

from dicomkit.core._dataset import Dataset
from dicomkit.net import AEConfig, TLSConfig
from dicomkit.net._sync import SyncAE
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._storage import StorageSCP, contexts_for, read_instance, store

pytestmark = pytest.mark.interop
pynetdicom = peers.require_module("pynetdicom")
pydicom = peers.require_module("pydicom")

SYNTAXES = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.5",
]
VERIFICATION = "1.2.840.10008.1.1"


def corpus_by_ts() -> dict[str, Path]:
    chosen: dict[str, tuple[int, Path]] = {}
    for row in manifest():
        if row.broken or not row.preamble or row.ts not in SYNTAXES or "Directory" in row.sop:
            continue
        size = row.path.stat().st_size
        if size < 2_000_000 and (row.ts not in chosen or size < chosen[row.ts][0]):
            chosen[row.ts] = (size, row.path)
    if not chosen:
        pytest.skip("corpus not available")
    return {ts: path for ts, (_, path) in chosen.items()}


def assert_same(original: Path, stored: Path) -> None:
    a, b = pydicom.dcmread(original), pydicom.dcmread(stored)
    tags_a = [e.tag for e in a if e.tag & 0xFFFF]
    assert tags_a == [e.tag for e in b if e.tag & 0xFFFF]
    for tag in tags_a:
        if a[tag].VR == "SQ":
            assert len(a[tag].value) == len(b[tag].value), tag
        elif "UN" not in (a[tag].VR, b[tag].VR):
            assert a[tag].value == b[tag].value, tag
    assert b.file_meta.TransferSyntaxUID == a.file_meta.TransferSyntaxUID


@pytest.fixture
def our_scp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    out = tmp_path / "received"

    with (
        SyncAE("OURSCP") as ae,
        ae.serve(0, {dimse.CStoreRequest: StorageSCP(out, fsync=False)}) as server,
    ):
        yield server.port, out


def _pyn_ae() -> Any:
    ae = pynetdicom.AE(ae_title="PYNSCU")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 20
    return ae


def test_pynetdicom_scu_echo_and_store(our_scp: tuple[int, Path]) -> None:
    port, out = our_scp
    files = corpus_by_ts()
    ae = _pyn_ae()
    ae.add_requested_context(VERIFICATION)
    instances = {ts: read_instance(p) for ts, p in files.items()}
    for ts, inst in instances.items():
        ae.add_requested_context(inst.sop_class, [ts])
    assoc = ae.associate("127.0.0.1", port, ae_title="OURSCP")
    assert assoc.is_established
    try:
        assert assoc.send_c_echo().Status == 0
        for ts, path in files.items():
            status = assoc.send_c_store(str(path))
            assert status.Status == 0, (ts, status)
    finally:
        assoc.release()
    for ts, inst in instances.items():
        assert_same(files[ts], out / f"{inst.sop_instance}.dcm")


def test_pynetdicom_scu_n_get_against_our_handler() -> None:
    printer = "1.2.840.10008.5.1.1.16"
    with (
        SyncAE("OURSCP", supported={printer: ["1.2.840.10008.1.2"]}) as ae,
        ae.serve(0, {dimse.NGetRequest: lambda inc: (0, _patient("N^GET"))}) as server,
    ):
        pae = _pyn_ae()
        pae.add_requested_context(printer)
        assoc = pae.associate("127.0.0.1", server.port)
        try:
            status, ds = assoc.send_n_get([0x00100010], printer, "1.2.840.10008.5.1.1.17")
            assert status.Status == 0 and str(ds.PatientName) == "N^GET"
        finally:
            assoc.release()


def _patient(name: str) -> Dataset:
    ds = Dataset()
    ds.PatientName = name
    return ds


@pytest.fixture
def pynetdicom_scp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    from pynetdicom import evt
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    out = tmp_path / "pyn"
    out.mkdir()

    def on_store(event: Any) -> int:
        ds = event.dataset
        ds.file_meta = event.file_meta
        ds.save_as(out / f"{ds.SOPInstanceUID}.dcm", enforce_file_format=True)
        return 0

    ae = pynetdicom.AE(ae_title="PYNSCP")
    ae.add_supported_context(Verification)
    for ts, path in corpus_by_ts().items():
        ae.add_supported_context(read_instance(path).sop_class, [ts, *SYNTAXES[:3]])
    port = peers.free_port()
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    try:
        yield port, out
    finally:
        server.shutdown()


def test_our_scu_against_pynetdicom_scp(pynetdicom_scp: tuple[int, Path]) -> None:
    port, out = pynetdicom_scp
    files = corpus_by_ts()
    instances = [read_instance(p) for p in files.values()]
    with (
        SyncAE("OURSCU") as ae,
        ae.associate(
            "127.0.0.1", port, ae_title="PYNSCP", contexts=[*contexts_for(instances), VERIFICATION]
        ) as assoc,
    ):
        assert assoc.echo().status == 0
        for inst in instances:
            rsp = assoc.call(store, inst)
            assert rsp.status == 0, (inst.path, rsp)
    for inst in instances:
        assert_same(inst.path, out / f"{inst.sop_instance}.dcm")


def test_tls_pynetdicom_scu_against_our_scp(tmp_path: Path) -> None:
    x509 = pytest.importorskip("cryptography.x509")
    import datetime
    import ipaddress

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from dicomkit.net import _tls as dktls

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "c.pem", tmp_path / "k.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_ctx = dktls.server_context(cert=cert_file, key=key_file)
    with (
        SyncAE("OURSCP", config=AEConfig(tls=TLSConfig(server=server_ctx))) as ae,
        ae.serve(0) as server,
    ):
        client_ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert_file))
        pae = _pyn_ae()
        pae.add_requested_context(VERIFICATION)
        assoc = pae.associate("127.0.0.1", server.port, tls_args=(client_ctx, "127.0.0.1"))
        assert assoc.is_established
        try:
            assert assoc.send_c_echo().Status == 0
        finally:
            assoc.release()
