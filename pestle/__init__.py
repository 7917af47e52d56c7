"""Pestle: a compounding-pharmacy fulfilment server, wire-compatible with the Blend API."""

__version__ = "0.1.0"
