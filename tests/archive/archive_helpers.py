"""Synthetic instances for archive tests: plain dicts (the truth) and Datasets built from them."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
SR = "1.2.840.10008.5.1.4.1.1.88.22"
ROOT = "1.2.826.0.1.3680043.10.543"

NAMES = [
    "DOE^JOHN",
    "DOE^JANE",
    "Doe^Jim",
    "SMITH^ANN",
    "MÜLLER^JÖRG",
    "O'NEIL^PAT",
    "LEE^A[1]",
    "YAMADA^TARO=山田^太郎",
]


def synthetic(n_patients: int = 8, seed: int = 5) -> list[dict[str, Any]]:
    """Instances as flat dicts: patient / study / series / instance attributes."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for p in range(n_patients):
        patient = {
            "PatientName": NAMES[p % len(NAMES)],
            "PatientID": f"PID{p:03d}",
            "PatientBirthDate": f"19{50 + p:02d}0{1 + p % 9}15",
            "PatientSex": "MFO"[p % 3],
        }
        for s in range(1 + p % 3):
            study_uid = f"{ROOT}.{p}.{s}"
            study = {
                "StudyInstanceUID": study_uid,
                "StudyDate": f"2020{1 + (p + s) % 12:02d}{10 + s:02d}",
                "StudyTime": f"{8 + (p * 3 + s) % 12:02d}{(p * 7) % 60:02d}00",
                "AccessionNumber": f"ACC{p}{s}",
                "StudyID": f"S{s}",
                "StudyDescription": rng.choice(["CHEST", "Head routine", "ABDOMEN_%"]),
                "ReferringPhysicianName": rng.choice(["WELBY^MARCUS", "HOUSE^G", ""]),
                "ProcedureCodeSequence": [
                    {"CodeValue": f"P{p % 2}", "CodingSchemeDesignator": "LOCAL"}
                ],
            }
            for e in range(1 + (p + s) % 2):
                mod = ["CT", "MR", "SR"][(p + s + e) % 3]
                series = {
                    "SeriesInstanceUID": f"{study_uid}.{e}",
                    "Modality": mod,
                    "SeriesNumber": str(e + 1),
                    "SeriesDescription": f"series {e}",
                    "RequestAttributesSequence": [
                        {"RequestedProcedureID": f"RP{p}{s}", "ScheduledProcedureStepID": f"SPS{e}"}
                    ],
                }
                for i in range(1 + e):
                    sop_class = {"CT": CT, "MR": MR, "SR": SR}[mod]
                    inst = {
                        "SOPInstanceUID": f"{study_uid}.{e}.{i + 1}",
                        "SOPClassUID": sop_class,
                        "InstanceNumber": str(i + 1),
                        "ContentDate": study["StudyDate"],
                        "ContentTime": study["StudyTime"],
                        "AcquisitionDateTime": f"{study['StudyDate']}{study['StudyTime']}",
                    }
                    out.append({**patient, **study, **series, **inst})
    return out


def to_dataset(row: dict[str, Any], *, pixels: bool = False) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    for kw, value in row.items():
        if isinstance(value, list):
            seq = Sequence()
            for item in value:
                it = Dataset()
                for k, v in item.items():
                    it.set(k, v)
                seq.append(it)
            ds.set(kw, seq)
        else:
            ds.set(kw, value)
    if pixels:
        ds.Rows = 2
        ds.Columns = 2
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.SamplesPerPixel = 1
        ds.PixelRepresentation = 0
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = b"\x01\x00\x02\x00\x03\x00\x04\x00"
    return ds


def by_level(rows: list[dict[str, Any]], uid_key: str) -> dict[str, dict[str, Any]]:
    """The first row of each entity (first instance wins, like the index)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        out.setdefault(r[uid_key], r)
    return out


# -- a `dicomkit serve` subprocess -----------------------------------------------------------

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def serving(
    archive: Path, port: int, *extra: str, aet: str = "DICOMKIT"
) -> Iterator[subprocess.Popen[str]]:
    """Run ``dicomkit serve ARCHIVE --port PORT`` until the block ends (SIGINT, then wait).
    ``peers.stop(proc)`` returns what it printed, (stdout, stderr)."""
    from peers import start_server, stop, wait_for_output

    proc = start_server(
        [
            sys.executable,
            "-m",
            "dicomkit",
            "serve",
            str(archive),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--aet",
            aet,
            *extra,
        ],
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        # the node's own word that it serves, printed once DIMSE and every service (DICOMweb
        # too) listen -- not its log line of the DIMSE port alone, nor something listening
        # on the port: that may be another process's
        wait_for_output(
            proc, re.compile(r"^dicomkit serve: \S+ listening on ", re.MULTILINE), timeout=20
        )
        yield proc
    finally:
        stop(proc, signal.SIGINT, timeout=15)


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``dicomkit ARGS`` in this process: (exit status, stdout, stderr).

    (In-process: a fresh interpreter per call would spend seconds importing.)"""
    import io

    from dicomkit.cli._main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def cli_subprocess(*args: str) -> tuple[int, str, str]:
    """Run ``dicomkit ARGS`` in a subprocess (for what must not share this process)."""
    proc = subprocess.run(
        [sys.executable, "-m", "dicomkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def write_files(rows: list[dict[str, Any]], folder: Path) -> list[Path]:
    import dicomkit

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for row in rows:
        path = folder / f"{row['SOPInstanceUID']}.dcm"
        dicomkit.write(to_dataset(row, pixels=True), path)
        out.append(path)
    return out


def make_pki(folder: Path) -> dict[str, Path]:
    """A CA, a server and a client certificate (RSA 2048, PEM) for TLS tests (needs the
    ``cryptography`` package): keys ``ca``, ``server``, ``server_key``, ``client``,
    ``client_key``."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def issue(cn: str, issuer: Any, issuer_key: Any, ca: bool) -> tuple[Any, Any]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
            )
        cert = builder.sign(issuer_key or key, hashes.SHA256())
        return cert, key

    def save(name: str, cert: Any, key: Any) -> None:
        (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )

    ca_cert, ca_key = issue("dicomkit test CA", None, None, True)
    save("ca", ca_cert, ca_key)
    for name in ("server", "client"):
        cert, key = issue(f"dicomkit test {name}", ca_cert.subject, ca_key, False)
        save(name, cert, key)
    return {
        "ca": folder / "ca.pem",
        "server": folder / "server.pem",
        "server_key": folder / "server.key",
        "client": folder / "client.pem",
        "client_key": folder / "client.key",
    }


def write_temp(archive: Any, row: dict, **kw: object) -> Path:
    """Write a synthetic instance into the archive's incoming folder (what a receiver does)."""
    path = archive.incoming_path()
    dicomkit.write(to_dataset(row, **kw), path)  # type: ignore[arg-type]
    return path


def run_node(
    tmp_path: Path, cfg: Any, client: Callable[[int], Awaitable[Any]], timeout: float = 120
) -> tuple[Any, Any]:
    """Run an ArchiveNode (``cfg`` with its archive in ``tmp_path``/a, 127.0.0.1, any port)
    on a fresh loop while ``await client(port)`` runs; (its result, the node), the node's
    server and stores closed."""
    from dicomkit.archive._app import ArchiveNode

    node = ArchiveNode(cfg.replace(archive=tmp_path / "a", host="127.0.0.1", port=0))

    async def main() -> Any:
        server = await node.start()
        try:
            return await client(server.port)
        finally:
            await server.close()
            node.storage.close()

    try:
        return asyncio.run(asyncio.wait_for(main(), timeout)), node
    finally:
        node.archive.close()
