"""Sentinel-2 L2A compositing: the science and its I/O, importable without Django."""
