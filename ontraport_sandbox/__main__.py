"""`python -m ontraport_sandbox` = the `ontraport-sandbox` command."""

from .cli import main

raise SystemExit(main())
