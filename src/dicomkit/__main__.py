import sys

from dicomkit.cli._main import main

sys.exit(main())
