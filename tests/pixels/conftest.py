import sys
from pathlib import Path

# Make tests/pixels/pixhelp.py importable as ``pixhelp``.
sys.path.insert(0, str(Path(__file__).parent))
