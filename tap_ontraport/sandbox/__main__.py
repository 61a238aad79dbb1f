"""`python -m tap_ontraport.sandbox` = the `ontraport-sandbox` command."""

from .cli import main

raise SystemExit(main())
