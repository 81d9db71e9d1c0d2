"""``dicomkit build sc|seg|gsps`` and ``dicomkit export --gsps``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "builders"))
from buildkit import ct_slices

import dicomkit
from dicomkit.builders import apply_presentation_state, read_png, read_segmentation
from dicomkit.cli._main import main
from dicomkit.pixels._png import encode_png


def _slices(tmp_path: Path, n: int = 2) -> tuple[list[dicomkit.Dataset], list[Path]]:
    src = ct_slices(n)
    paths = []
    for i, ds in enumerate(src):
        paths.append(tmp_path / f"ct{i}.dcm")
        dicomkit.write(ds, paths[-1])
    return src, paths


def test_build_sc_from_png_like_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, paths = _slices(tmp_path, 1)
    img = np.random.default_rng(0).integers(0, 256, (9, 11, 3)).astype(np.uint8)
    png = tmp_path / "shot.png"
    png.write_bytes(encode_png(img))
    out = tmp_path / "sc.dcm"
    assert main(["build", "sc", str(png), "-o", str(out), "--like", str(paths[0])]) == 0
    assert str(out) in capsys.readouterr().out
    ds = dicomkit.read(out)
    assert ds.PatientID == "PID-7" and ds.PhotometricInterpretation == "RGB"
    assert np.array_equal(dicomkit.pixels.pixel_array(ds), img)


def test_build_sc_multiframe_from_pngs_and_keys(tmp_path: Path) -> None:
    frames = [np.full((5, 6), v, np.uint8) for v in (10, 20, 30)]
    paths = []
    for i, f in enumerate(frames):
        paths.append(tmp_path / f"f{i}.png")
        paths[-1].write_bytes(encode_png(f))
    out = tmp_path / "mf.dcm"
    args = ["build", "sc", *map(str, paths), "-o", str(out), "-k", "PatientID=X1"]
    assert main(args) == 0
    ds = dicomkit.read(out)
    assert int(ds.NumberOfFrames) == 3 and ds.PatientID == "X1"
    assert np.array_equal(dicomkit.pixels.pixel_array(ds), np.stack(frames))


def test_build_seg_from_label_map(tmp_path: Path) -> None:
    src, paths = _slices(tmp_path)
    labels = np.zeros((2, 16, 12), np.uint8)
    labels[0, 2:5, 2:5] = 1
    labels[1, 8:, :] = 2
    npy = tmp_path / "labels.npy"
    np.save(npy, labels)
    out = tmp_path / "seg.dcm"
    args = [
        "build",
        "seg",
        str(npy),
        "--source",
        *map(str, paths),
        "-o",
        str(out),
        "--segment",
        "liver=SCT:10200004:Liver",
        "--segment",
        "spot",
        "--algorithm",
        "unet",
    ]
    assert main(args) == 0
    seg = read_segmentation(out)
    assert [(s.label, s.type.value, s.algorithm_name) for s in seg.segments] == [
        ("liver", "10200004", "unet"),
        ("spot", "85756007", "unet"),
    ]
    assert np.array_equal(seg.mask(1, sources=src), labels == 1)
    assert np.array_equal(seg.mask(2, sources=src), labels == 2)


def test_build_gsps_and_export_through_it(tmp_path: Path) -> None:
    src, paths = _slices(tmp_path, 1)
    pr_path = tmp_path / "pr.dcm"
    args = [
        "build",
        "gsps",
        str(paths[0]),
        "-o",
        str(pr_path),
        "--window",
        "0",
        "500",
        "--shutter-rect",
        "2",
        "10",
        "3",
        "14",
        "--shutter-value",
        "65535",
        "--text",
        "4",
        "4",
        "here",
        "--polyline",
        "1,1 8,8",
        "--rotate",
        "90",
    ]
    assert main(args) == 0
    pr = dicomkit.read(pr_path)
    assert pr.Modality == "PR" and pr.ImageRotation == 90
    png = tmp_path / "out.png"
    assert main(["export", str(paths[0]), str(png), "--gsps", str(pr_path)]) == 0
    got = read_png(png)
    assert got.shape == (12, 16)  # rotated
    assert np.array_equal(got, apply_presentation_state(src[0], pr))
    assert (got[:, -2:] == 255).all()  # rows 1-2 are shuttered (white), now the right columns


def test_build_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, paths = _slices(tmp_path, 1)
    npy = tmp_path / "m.npy"
    np.save(npy, np.zeros((3, 16, 12), bool))
    out = tmp_path / "seg.dcm"
    args = ["build", "seg", str(npy), "--source", str(paths[0]), "-o", str(out), "--segment", "a"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("dicomkit build:") and "shape" in err and err.count("\n") == 1
    assert main(["build", "sc", str(npy), "-o", str(out), "-k", "PatientID"]) == 1
    assert "KEYWORD=VALUE" in capsys.readouterr().err
    assert not out.exists()
