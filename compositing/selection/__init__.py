"""Choosing one observation per pixel: validity masks, the medoid and STC kernels
with their references, the per-chunk composite.
"""
