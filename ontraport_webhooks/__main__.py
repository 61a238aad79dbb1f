import sys

from ontraport_webhooks.cli import main

sys.exit(main())
