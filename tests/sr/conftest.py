import sys
from pathlib import Path

# Make tests/sr/allkinds.py and dsrdump_tree.py importable.
sys.path.insert(0, str(Path(__file__).parent))
