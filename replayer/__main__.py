"""``python -m replayer``: the ``replay`` command."""

import sys

from replayer.cli import main

sys.exit(main())
