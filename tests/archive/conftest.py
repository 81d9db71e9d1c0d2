import sys
from pathlib import Path

# Make archive_helpers importable from the archive tests (and tests/services, tests/interop).
sys.path.insert(0, str(Path(__file__).parent))
