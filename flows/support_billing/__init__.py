"""support-billing: a billing warehouse for the hh2 Pro-Support Plus agreement."""

__version__ = "0.1.0"
