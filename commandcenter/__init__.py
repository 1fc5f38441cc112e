"""Command Center: control-room and emergency command for industrial sites."""

__version__ = "0.1.0"
