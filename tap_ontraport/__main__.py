"""`python -m tap_ontraport` runs the tap."""

from tap_ontraport.tap import TapOntraport

TapOntraport.cli()
