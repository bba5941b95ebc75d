"""Cumulo: self-hosted object storage (Swift and S3 APIs) with a credentials portal."""

__version__ = "0.1.0"
