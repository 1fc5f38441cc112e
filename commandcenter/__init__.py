"""Command Center."""
