"""Ingests to compare ours against: the seed design's algorithm, python-plexapi, and the fetch floor."""
