"""The synthetic demo L2A archive: scenes with known ground truth."""
