import sys
from pathlib import Path

# Make docs_examples importable from the docs tests.
sys.path.insert(0, str(Path(__file__).parent))
