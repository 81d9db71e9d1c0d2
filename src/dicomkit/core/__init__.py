"""The data model: tags, VRs, data elements, data sets, sequences (PS3.5 7)."""

from dicomkit.core.dataset import Dataset
from dicomkit.core.element import DataElement
from dicomkit.core.sequence import Sequence
from dicomkit.core.tag import Tag

__all__ = ["DataElement", "Dataset", "Sequence", "Tag"]
