"""What a finished product is made of: layers, intermediate rasters, the delivered
formats, metadata, file names and checksums.
"""
