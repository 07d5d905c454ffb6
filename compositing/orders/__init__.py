"""What a person orders: the validated spec, compositing periods, MGRS tiles and AOI files."""
