"""Retrovue Ingest: mirror Plex Media Server libraries into a local SQL catalog."""

__version__ = "0.1.0"
