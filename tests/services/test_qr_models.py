"""The retrieve-only information models: SOP classes per operation, bulk data removal."""

from __future__ import annotations

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import tags, uids
from dicomkit.errors import InvalidValueError
from dicomkit.services import _query_retrieve as qr


def test_sop_classes_of_the_composite_instance_models() -> None:
    ci, wbd = qr.Model.COMPOSITE_INSTANCE_ROOT, qr.Model.WITHOUT_BULK_DATA
    assert qr.sop_class_for(qr.MOVE, ci, "C-MOVE") == uids.CompositeInstanceRootRetrieveMove
    assert qr.sop_class_for(qr.GET, ci, "C-GET") == uids.CompositeInstanceRootRetrieveGet
    assert (
        qr.sop_class_for(qr.GET, wbd, "C-GET") == uids.CompositeInstanceRetrieveWithoutBulkDataGet
    )
    assert qr.MODEL_OF[uids.CompositeInstanceRetrieveWithoutBulkDataGet] is wbd


@pytest.mark.parametrize(
    ("table", "model", "verb"),
    [
        (qr.FIND, qr.Model.COMPOSITE_INSTANCE_ROOT, "C-FIND"),
        (qr.FIND, qr.Model.WITHOUT_BULK_DATA, "C-FIND"),
        (qr.MOVE, qr.Model.WITHOUT_BULK_DATA, "C-MOVE"),
    ],
)
def test_a_model_without_the_operation_is_a_typed_error(
    table: dict[qr.Model, str], model: qr.Model, verb: str
) -> None:
    with pytest.raises(InvalidValueError, match=verb):
        qr.sop_class_for(table, model, verb)


def test_strip_bulk_data_at_any_depth() -> None:
    ds = Dataset()
    ds.Rows = 2
    ds.set(tags.PixelData, b"\0" * 8, vr="OW")
    ds.set(0x60020010, 2, vr="US")  # Overlay Rows: kept
    ds.set(0x60023000, b"\0\0", vr="OW")  # Overlay Data: bulk
    item = Dataset()
    item.set(tags.WaveformData, b"\0\0", vr="OW")
    item.set("NumberOfWaveformChannels", 1)
    ds.set("WaveformSequence", Sequence([item]))
    assert qr.strip_bulk_data(ds) == 3
    assert tags.PixelData not in ds and 0x60023000 not in ds
    assert 0x60020010 in ds and ds.Rows == 2
    assert tags.WaveformData not in ds.WaveformSequence[0]
    assert "NumberOfWaveformChannels" in ds.WaveformSequence[0]
