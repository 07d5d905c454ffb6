"""mosaics app."""
