"""Virtual Window: remote video service windows for government citizen centers."""

__version__ = "0.1.0"
