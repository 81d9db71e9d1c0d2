"""DCMTK against `dicomkit serve`: storescu in, findscu, movescu (to DCMTK storescp), getscu.

Everything DCMTK stores, finds or retrieves is compared with what was stored.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import serving, synthetic, write_files
from corpus import manifest
from peers import dcmtk, dcmtk_server, free_port, run_dcmtk, stop

import dicomkit

pytestmark = pytest.mark.interop
ROWS = synthetic(4)


class Node:
    def __init__(self, root: Path, port: int, dest_port: int) -> None:
        self.root, self.port, self.dest_port = root, port, dest_port


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    dcmtk("storescu")
    tmp = tmp_path_factory.mktemp("dcmtk")
    files = write_files(ROWS, tmp / "in")
    port, dest_port = free_port(), free_port()
    with serving(tmp / "arch", port, "--peer", f"STORESCP=127.0.0.1:{dest_port}"):
        run_dcmtk("storescu", "-aec", "DICOMKIT", "127.0.0.1", str(port), *map(str, files))
        yield Node(tmp, port, dest_port)


def test_storescu_corpus_files_are_stored_intact(tmp_path: Path) -> None:
    port = free_port()
    # (Debian's storescu cannot send encapsulated pixel data without its codecs)
    corpus = [
        f
        for f in manifest()
        if not f.broken
        and not f.encapsulated
        and f.sop not in ("", "Media Storage Directory Storage")
    ][:12]
    with serving(tmp_path / "arch", port):
        for f in corpus:
            # -R: propose each file's own transfer syntax (compressed ones too)
            run_dcmtk(
                "storescu",
                "-R",
                "-aec",
                "DICOMKIT",
                "127.0.0.1",
                str(port),
                str(f.path),
                check=False,
            )
    stored = {p.stem: p for p in (tmp_path / "arch").rglob("*.dcm")}
    assert len(stored) >= 6
    for f in corpus:
        ds = dicomkit.read(f.path, stop_before_pixels=True)
        p = stored.get(str(ds.SOPInstanceUID))
        if p is None:
            continue  # e.g. an invalid UID refused with C000
        a = dicomkit.read(p)
        b = dicomkit.read(f.path)
        assert a.get("PixelData") == b.get("PixelData")
        assert a.get("PatientName") == b.get("PatientName")


def test_findscu_study_level(node: Node, tmp_path: Path) -> None:
    run_dcmtk(
        "findscu",
        "-S",
        "-aec",
        "DICOMKIT",
        "-X",
        "-od",
        str(tmp_path),
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        "StudyInstanceUID=",
        "-k",
        "PatientName=DOE*",
        "-k",
        "NumberOfStudyRelatedInstances=",
        "127.0.0.1",
        str(node.port),
    )
    got = {}
    for f in sorted(tmp_path.glob("rsp*.dcm")):
        ds = dicomkit.read(f)
        got[str(ds.StudyInstanceUID)] = int(ds.NumberOfStudyRelatedInstances)
    want = {}
    for r in ROWS:
        if r["PatientName"].upper().startswith("DOE"):
            want[r["StudyInstanceUID"]] = want.get(r["StudyInstanceUID"], 0) + 1
    assert got == want


def test_findscu_patient_root_image_level(node: Node, tmp_path: Path) -> None:
    row = ROWS[-1]
    run_dcmtk(
        "findscu",
        "-P",
        "-aec",
        "DICOMKIT",
        "-X",
        "-od",
        str(tmp_path),
        "-k",
        "QueryRetrieveLevel=IMAGE",
        "-k",
        f"PatientID={row['PatientID']}",
        "-k",
        f"StudyInstanceUID={row['StudyInstanceUID']}",
        "-k",
        f"SeriesInstanceUID={row['SeriesInstanceUID']}",
        "-k",
        "SOPInstanceUID=",
        "-k",
        "InstanceNumber=",
        "127.0.0.1",
        str(node.port),
    )
    got = {str(dicomkit.read(f).SOPInstanceUID) for f in tmp_path.glob("rsp*.dcm")}
    assert got == {
        r["SOPInstanceUID"] for r in ROWS if r["SeriesInstanceUID"] == row["SeriesInstanceUID"]
    }


def test_findscu_refused_identifier(node: Node) -> None:
    proc = run_dcmtk(
        "findscu",
        "-v",
        "-S",
        "-aec",
        "DICOMKIT",
        "-k",
        "QueryRetrieveLevel=SERIES",
        "-k",
        "SeriesInstanceUID=",
        "127.0.0.1",
        str(node.port),
        check=False,
    )
    assert "datasetdoesnotmatchsopclass" in (proc.stdout + proc.stderr).lower()  # A900


def test_movescu_to_dcmtk_storescp(node: Node, tmp_path: Path) -> None:
    study = ROWS[-1]["StudyInstanceUID"]
    recv = tmp_path / "recv"
    recv.mkdir()
    with dcmtk_server(
        "storescp", "-aet", "STORESCP", "-od", str(recv), str(node.dest_port), port=node.dest_port
    ):
        run_dcmtk(
            "movescu",
            "-S",
            "-aec",
            "DICOMKIT",
            "-aem",
            "STORESCP",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            f"StudyInstanceUID={study}",
            "127.0.0.1",
            str(node.port),
        )
    got = {str(dicomkit.read(p).SOPInstanceUID) for p in recv.iterdir()}
    assert got == {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}
    for p in recv.iterdir():
        assert dicomkit.read(p).PixelData == b"\x01\x00\x02\x00\x03\x00\x04\x00"


def test_movescu_unknown_destination(node: Node) -> None:
    proc = run_dcmtk(
        "movescu",
        "-S",
        "-aec",
        "DICOMKIT",
        "-aem",
        "NOBODY",
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={ROWS[0]['StudyInstanceUID']}",
        "127.0.0.1",
        str(node.port),
        check=False,
    )
    assert "movedestinationunknown" in (proc.stdout + proc.stderr).lower()  # A801


def test_getscu(node: Node, tmp_path: Path) -> None:
    study = ROWS[1]["StudyInstanceUID"]
    run_dcmtk(
        "getscu",
        "-S",
        "-aec",
        "DICOMKIT",
        "-od",
        str(tmp_path),
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={study}",
        "127.0.0.1",
        str(node.port),
    )
    got = {str(dicomkit.read(p).SOPInstanceUID) for p in tmp_path.iterdir()}
    assert got == {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}


def test_getscu_compressed_instance_is_decompressed_for_it(node: Node, tmp_path: Path) -> None:
    """getscu proposes only uncompressed syntaxes; the stored JPEG Lossless file is decoded."""
    from archive_helpers import cli

    src = next(f for f in manifest() if f.rel == "dcm4che/MR-JPEGLosslessSV1.dcm")
    code, _o, err = cli(
        "store", "127.0.0.1", str(node.port), "--aec", "DICOMKIT", "-q", str(src.path)
    )
    assert code == 0, err
    head = dicomkit.read(src.path, stop_before_pixels=True)
    run_dcmtk(
        "getscu",
        "-S",
        "-aec",
        "DICOMKIT",
        "-od",
        str(tmp_path),
        "-k",
        "QueryRetrieveLevel=SERIES",
        "-k",
        f"StudyInstanceUID={head.StudyInstanceUID}",
        "-k",
        f"SeriesInstanceUID={head.SeriesInstanceUID}",
        "127.0.0.1",
        str(node.port),
    )
    (got,) = list(tmp_path.iterdir())
    out = dicomkit.read(got)
    assert str(out.SOPInstanceUID) == str(head.SOPInstanceUID)
    assert str(out.transfer_syntax) in ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
    assert len(out.PixelData) == int(out.Rows) * int(out.Columns) * 2


def _dcmtk_has_tls() -> bool:
    return "--enable-tls" in run_dcmtk("echoscu", "--help", check=False).stdout


def test_serve_tls_with_dcmtk(tmp_path: Path) -> None:
    """`dicomkit serve --tls-cert/--tls-key/--tls-ca`: DCMTK echoscu and storescu over TLS
    with a client certificate; a plain TCP caller and one without a certificate fail."""
    pytest.importorskip("cryptography")
    from archive_helpers import make_pki

    dcmtk("echoscu")
    if not _dcmtk_has_tls():
        pytest.skip("this DCMTK build has no TLS")
    pki = make_pki(tmp_path / "pki")
    files = write_files(ROWS[:3], tmp_path / "in")
    port = free_port()
    tls = ["+tls", str(pki["client_key"]), str(pki["client"]), "+cf", str(pki["ca"])]
    with serving(
        tmp_path / "arch",
        port,
        "--tls-cert",
        str(pki["server"]),
        "--tls-key",
        str(pki["server_key"]),
        "--tls-ca",
        str(pki["ca"]),
    ) as proc:
        run_dcmtk("echoscu", *tls, "-aec", "DICOMKIT", "127.0.0.1", str(port))
        run_dcmtk("storescu", *tls, "-aec", "DICOMKIT", "127.0.0.1", str(port), *map(str, files))
        plain = run_dcmtk(
            "echoscu",
            "-aec",
            "DICOMKIT",
            "-to",
            "5",
            "-ta",
            "5",
            "127.0.0.1",
            str(port),
            check=False,
            timeout=30,
        )
        assert plain.returncode != 0  # no TLS: no association
        anon = run_dcmtk(
            "echoscu",
            "+tla",
            "-ic",
            "-aec",
            "DICOMKIT",
            "127.0.0.1",
            str(port),
            check=False,
            timeout=30,
        )
        assert anon.returncode != 0  # TLS without a client certificate: refused
    _out, out = stop(proc)  # stopped already: what it printed
    assert "(TLS, client certificates required)" in out
    from dicomkit.archive import Archive

    with Archive(tmp_path / "arch") as arch:
        assert arch.index.count() == len(files)
