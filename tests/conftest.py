import sys
from pathlib import Path

# Make tests/peers.py and tests/corpus.py importable as ``peers`` / ``corpus``.
sys.path.insert(0, str(Path(__file__).parent))
