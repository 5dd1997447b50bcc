"""Allow `python -m devsim`."""

import sys

from devsim.cli import main

sys.exit(main())
