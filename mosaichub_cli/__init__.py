"""Command-line tools for a Mosaic Hub; standard library only, so they install anywhere."""
