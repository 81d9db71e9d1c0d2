import sys
from pathlib import Path

# Make tests/peers.py and tests/corpus.py importable as ``peers`` / ``corpus``.
sys.path.insert(0, str(Path(__file__).parent))

from hypothesis import HealthCheck, settings

# No test may depend on how fast the machine is: no deadlines, no too-slow health checks.
settings.register_profile(
    "dicomkit", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("dicomkit")
