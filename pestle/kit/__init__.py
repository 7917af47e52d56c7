"""Shared mechanics with no knowledge of any domain."""
