"""Product layers with their S2GM names, storage types, scales and nodata values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compositing import l2a


@dataclass(frozen=True)
class Layer:
    """How one product layer is stored: physical value = stored * scale."""

    name: str
    dtype: str
    scale: float
    nodata: int
    units: str
    description: str

    @property
    def dtype_size(self) -> int:
        """Bytes per stored value."""
        return int(np.dtype(self.dtype).itemsize)


REFLECTANCE_NODATA = 65535
REFLECTANCE_SCALE = 1e-4


def reflectance_layer(band: str) -> Layer:
    """Storage of a surface reflectance band."""
    info = l2a.BAND_BY_NAME[band]
    return Layer(band, "uint16", REFLECTANCE_SCALE, REFLECTANCE_NODATA, "1",
                 f"{info.description} surface reflectance, {info.center_nm} nm")


AUX_LAYER_STORAGE: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer("source_index", "int16", 1, -1, "1", "index into the product's source list"),
        Layer("valid_obs", "uint8", 1, 255, "1", "number of valid observations"),
        Layer("total_obs", "uint8", 1, 255, "1", "number of observations"),
        Layer("method", "uint8", 1, 255, "1", "selection method: 1 medoid, 2 STC, 0 none"),
        Layer("medoid_mos", "uint16", 1e-4, 65535, "1",
              "medoid sum of distances / number of valid observations"),
        Layer("acquisition_date", "int32", 1, -2147483648, "days since 1970-01-01",
              "acquisition day of the chosen observation"),
        Layer("quality_scene_classification", "uint8", 1, 255, "1", "Sen2Cor SCL class"),
        Layer("quality_aot", "uint16", 1e-3, 65535, "1", "aerosol optical thickness at 550 nm"),
        Layer("quality_cloud_confidence", "uint8", 1, 255, "%", "Sen2Cor cloud probability"),
        Layer("quality_snow_confidence", "uint8", 1, 255, "%", "Sen2Cor snow probability"),
        Layer("view_zenith_mean", "int16", 0.01, -32768, "degree",
              "viewing incidence zenith angle, mean over the bands"),
        Layer("view_azimuth_mean", "int16", 0.01, -32768, "degree",
              "viewing incidence azimuth angle, mean over the bands, clockwise from north, "
              "-180 to 180"),
        Layer("sun_zenith", "int16", 0.01, -32768, "degree", "sun zenith angle"),
        Layer("sun_azimuth", "int16", 0.01, -32768, "degree",
              "sun azimuth angle, clockwise from north, -180 to 180"),
    )
}
# Per-observation layers a stack may carry (read from the inputs, gathered from the chosen
# observation). Angles only where the inputs' metadata hold angle grids, confidences only where
# the inputs hold Sen2Cor's probability masks; elsewhere the layer is nodata.
CONFIDENCE_LAYERS: tuple[str, ...] = ("quality_cloud_confidence", "quality_snow_confidence")
ANGLE_LAYERS: tuple[str, ...] = ("view_zenith_mean", "view_azimuth_mean", "sun_zenith",
                                 "sun_azimuth")
AZIMUTH_LAYERS: frozenset[str] = frozenset({"view_azimuth_mean", "sun_azimuth"})

METHOD_NONE, METHOD_MEDOID, METHOD_STC = 0, 1, 2


def encode(values: np.ndarray, layer: Layer, missing: np.ndarray | None = None) -> np.ndarray:
    """Physical values to the stored type: scaled, rounded, clipped to range, nodata filled."""
    info = np.iinfo(np.dtype(layer.dtype))
    scaled = np.asarray(values, dtype=np.float64) / layer.scale
    bad = ~np.isfinite(scaled)
    if missing is not None:
        bad |= missing
    # Negative reflectance (possible after the baseline-04 offset) is clipped to 0, and the
    # top of the range is kept free for the nodata value.
    low = 0 if layer.dtype.startswith("uint") else info.min + 1
    high = info.max - 1 if layer.nodata == info.max else info.max
    stored = np.clip(np.rint(np.where(bad, 0, scaled)), low, high).astype(layer.dtype)
    stored[bad] = layer.nodata
    return stored
