"""The STAC version and extension schemas of every STAC document the hub writes.

STAC 1.1.0 is the version whose core schemas pystac ships, so tests validate our documents
against them offline; the extensions keep the versions that 1.1.0 catalogues use.
"""

from __future__ import annotations

STAC_VERSION = "1.1.0"


def extension(name_and_version: str) -> str:
    """Schema URI of a STAC extension, e.g. extension('eo/v1.1.0')."""
    return f"https://stac-extensions.github.io/{name_and_version}/schema.json"


FILE_EXTENSION = extension("file/v2.1.0")
