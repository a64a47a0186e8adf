"""`retrovue sim`: serve the bundled Plex simulator (placeholder until the simulator lands)."""
