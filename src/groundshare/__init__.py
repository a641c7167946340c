"""groundshare: many partners' satellite ground stations run as one shared network."""

__version__ = "0.1.0"
