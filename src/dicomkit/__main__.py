import sys

from dicomkit.cli.main import main

sys.exit(main())
