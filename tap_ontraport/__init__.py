"""tap-ontraport: a Singer tap for the Ontraport REST API."""

__version__ = "0.1.0"
