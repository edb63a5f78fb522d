"""Allow ``python -m wordstat``."""

from .cli import main

raise SystemExit(main())
