"""Frame Level Retrieve pieces: the frame range keys, frame selection, the CLI's --frames."""

from __future__ import annotations

import argparse

import pytest

from dicomkit.cli._find import UsageError
from dicomkit.cli._get import frame_keys
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import tags
from dicomkit.services import _frames as frames


def _ds(n: int, frame_time: float | None = None) -> Dataset:
    ds = Dataset()
    ds.NumberOfFrames = n
    if frame_time is not None:
        ds.FrameTime = frame_time
    return ds


@pytest.mark.parametrize(
    ("key", "values", "want"),
    [
        (tags.SimpleFrameList, [3, 1, 3], [3, 1]),
        (tags.CalculatedFrameList, [2, 9, 3, 1, 1, 1], [2, 5, 8, 1]),
        (tags.CalculatedFrameList, [5, 100, 5], [5, 10]),
        (tags.TimeRange, [0.05, 0.25], [2, 3]),
    ],
)
def test_select_frames(key: int, values: list[float], want: list[int]) -> None:
    assert frames.select_frames({key: values}, _ds(10, 100.0)) == want


def test_select_frames_failures() -> None:
    with pytest.raises(frames.FrameRetrieveError) as e:
        frames.select_frames({tags.SimpleFrameList: [11]}, _ds(10))
    assert e.value.status == frames.NO_SUCH_FRAMES
    with pytest.raises(frames.FrameRetrieveError) as e:
        frames.select_frames({tags.TimeRange: [0.0, 1.0]}, _ds(10))
    assert e.value.status == frames.NOT_TIME_BASED
    with pytest.raises(frames.FrameRetrieveError) as e:
        frames.frame_request(Dataset())
    assert e.value.status == frames.INVALID_REQUEST


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("1-10", {"CalculatedFrameList": [1, 10, 1]}),
        ("1-100/10", {"CalculatedFrameList": [1, 100, 10]}),
        ("1,5,9", {"SimpleFrameList": [1, 5, 9]}),
        ("2,4-6", {"SimpleFrameList": [2, 4, 5, 6]}),
    ],
)
def test_cli_frames(spec: str, want: dict[str, list[int]]) -> None:
    assert frame_keys(argparse.Namespace(frames=spec, frame_times=None)) == want


@pytest.mark.parametrize("spec", ["a-b", "0-3", "1-"])
def test_cli_frames_refused(spec: str) -> None:
    with pytest.raises(UsageError):
        frame_keys(argparse.Namespace(frames=spec, frame_times=None))


def test_cli_frame_times() -> None:
    got = frame_keys(argparse.Namespace(frames=None, frame_times="0-1.5"))
    assert got == {"TimeRange": [0.0, 1.5]}
