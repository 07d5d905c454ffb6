"""Facts about Sentinel-2 MSI Level-2A products: bands, scene classes, digital numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Band:
    """One L2A spectral band."""

    name: str
    center_nm: int
    native_m: int
    common_name: str
    description: str
    # Whether it is offered as surface reflectance (orders, time series). B09 sits in a water
    # vapour absorption band: Sen2Cor uses it to retrieve the atmosphere's water, and what is
    # left is not a surface's reflectance, so S2GM did not offer it (nor B10, cirrus, which
    # L2A products do not carry). Archives still hold and ingest it.
    surface: bool = True


BANDS: tuple[Band, ...] = (
    Band("B01", 443, 60, "coastal", "coastal aerosol"),
    Band("B02", 490, 10, "blue", "blue"),
    Band("B03", 560, 10, "green", "green"),
    Band("B04", 665, 10, "red", "red"),
    Band("B05", 705, 20, "rededge", "red edge 1"),
    Band("B06", 740, 20, "rededge", "red edge 2"),
    Band("B07", 783, 20, "rededge", "red edge 3"),
    Band("B08", 842, 10, "nir", "near infrared (broad)"),
    Band("B8A", 865, 20, "nir08", "near infrared (narrow)"),
    Band("B09", 945, 60, "nir09", "water vapour", surface=False),
    Band("B11", 1610, 20, "swir16", "short-wave infrared 1"),
    Band("B12", 2190, 20, "swir22", "short-wave infrared 2"),
)
BAND_BY_NAME: dict[str, Band] = {b.name: b for b in BANDS}
BAND_NAMES: tuple[str, ...] = tuple(b.name for b in BANDS)
# The bands offered as surface reflectance (`Band.surface`).
SURFACE_BANDS: tuple[Band, ...] = tuple(b for b in BANDS if b.surface)
SURFACE_BAND_NAMES: tuple[str, ...] = tuple(b.name for b in SURFACE_BANDS)

# The medoid is computed on these bands whatever the user downloads, so that the choice of
# observation never depends on the ordered band set (S2GM ATBD v1.3.3).
MEDOID_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B06", "B08", "B11", "B12")

# Observations per pixel from which the medoid is used (S2GM mosaics V1.1.0); below it the
# short-term composite decides.
MEDOID_MIN_OBSERVATIONS = 4

RESOLUTIONS_M: tuple[int, ...] = (10, 20, 60)

# Auxiliary L2A rasters (not reflectance) and their native resolution.
SCL_NATIVE_M = 20
AOT_NATIVE_M = 20

# Scene classification (Sen2Cor SCL) classes.
SCL_NO_DATA = 0
SCL_SATURATED = 1
SCL_DARK = 2
SCL_CLOUD_SHADOW = 3
SCL_VEGETATION = 4
SCL_BARE_SOIL = 5
SCL_WATER = 6
SCL_UNCLASSIFIED = 7
SCL_CLOUD_MEDIUM = 8
SCL_CLOUD_HIGH = 9
SCL_CIRRUS = 10
SCL_SNOW = 11

SCL_CLASS_NAMES: dict[int, str] = {
    0: "no data",
    1: "saturated or defective",
    2: "dark feature or shadow",
    3: "cloud shadow",
    4: "vegetation",
    5: "bare soil",
    6: "water",
    7: "unclassified",
    8: "cloud medium probability",
    9: "cloud high probability",
    10: "thin cirrus",
    11: "snow or ice",
}

# Classes kept for compositing ("weak 1" filter of the S2GM ATBD); 11 only after the snow test.
SCL_VALID_CLASSES: frozenset[int] = frozenset({2, 4, 5, 6, 11})

QUANTIFICATION_VALUE = 10000.0
DN_NODATA = 0
# Processing baseline from which Sen2Cor adds BOA_ADD_OFFSET = -1000 to every band.
OFFSET_BASELINE = (4, 0)
BASELINE_04_OFFSET_DN = -1000


def boa_offset_dn(processing_baseline: str) -> int:
    """BOA_ADD_OFFSET in DN for a processing baseline string such as '04.00' or '02.14'."""
    major, minor = (int(p) for p in processing_baseline.split(".")[:2])
    return BASELINE_04_OFFSET_DN if (major, minor) >= OFFSET_BASELINE else 0


def scl_valid_lut() -> np.ndarray:
    """Boolean lookup table indexed by SCL value (0..255): True where the class is valid."""
    lut = np.zeros(256, dtype=bool)
    lut[list(SCL_VALID_CLASSES)] = True
    return lut


def parse_bands(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """Split and validate a list of surface reflectance bands (a list of names or a
    comma-separated string); raise ValueError naming the first unknown or not offered band,
    whatever the value."""
    if isinstance(text, str):
        names = [t for t in text.replace(" ", "").split(",") if t]
    elif isinstance(text, list | tuple):
        names = list(text)
    else:
        raise ValueError("give a list of band names or a comma-separated string")
    if not names:
        raise ValueError("at least one band is required")
    out: list[str] = []
    for raw in names:
        if not isinstance(raw, str):
            raise ValueError(f"a band is a name such as B04, not {raw!r}")
        name = normalise_band_name(raw)
        if name not in BAND_BY_NAME:
            raise ValueError(f"unknown band {raw!r}; the surface reflectance bands are "
                             f"{', '.join(SURFACE_BAND_NAMES)}")
        if not BAND_BY_NAME[name].surface:
            raise ValueError(f"{name} ({BAND_BY_NAME[name].description}) is not a surface "
                             f"reflectance band and is not offered, as in S2GM; the bands "
                             f"are {', '.join(SURFACE_BAND_NAMES)}")
        if name not in out:
            out.append(name)
    return sorted(out, key=BAND_NAMES.index)


def normalise_band_name(name: str) -> str:
    """'b4', 'B4' and 'B04' all mean B04; 'b8a' means B8A."""
    n = name.strip().upper()
    if len(n) == 2 and n[0] == "B" and n[1].isdigit():
        n = f"B0{n[1]}"
    return n
