"""stac app."""
