"""Sentinel-2 L2A archives: STAC search, the local store, SAFE ingest,
windowed reads and reprojection, sun and view angles.
"""
