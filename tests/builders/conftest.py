import sys
from pathlib import Path

# Make tests/builders/buildkit.py importable.
sys.path.insert(0, str(Path(__file__).parent))
