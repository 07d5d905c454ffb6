"""The Django project of the Mosaic Hub."""
