"""Product layers: the one registry of what each layer is, how it is stored and where its
values come from. Forms, API, CLI, metadata (JSON, STAC, INSPIRE), the NetCDF and GeoTIFF
writers, the reader and the time-series CSV all read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from compositing import l2a
from compositing.products.indices import INDICES, SpectralIndex
from compositing.selection.methods import SELECTION_METHODS


class Source(StrEnum):
    """Where a layer's values come from."""

    REFLECTANCE = "reflectance"  # the chosen observation's surface reflectance
    SELECTION = "selection"  # computed by the selection itself (index, counts, method, spread)
    ACQUISITION = "acquisition"  # the chosen observation's acquisition (its date)
    SCL = "scl"  # the chosen observation's Sen2Cor scene classification
    AOT = "aot"  # the chosen observation's aerosol optical thickness raster
    CONFIDENCE = "confidence"  # a Sen2Cor probability mask of the chosen observation (`asset`)
    ANGLES = "angles"  # the 5 km sun/view angle grids of the chosen observation's granule
    INDEX = "index"  # a spectral index of the chosen observation's reflectance (`indices`)
    CHANGE = "change"  # Change Vector Analysis of a change order's two mosaics (`change`)


@dataclass(frozen=True)
class Layer:
    """One product layer: physical value = stored * scale + offset."""

    name: str
    dtype: str
    scale: float
    nodata: int
    units: str
    description: str
    source: Source = Source.SELECTION
    offset: float = 0.0
    # CF: standard name (None: CF has none; categorical layers are flag variables instead),
    # a comment where the name alone would mislead, and the value -> meaning table of flags.
    standard_name: str | None = None
    comment: str | None = None
    flags: Mapping[int, str] = field(default_factory=dict)
    quality: bool = False  # quality information about the reflectance (ACDD/CF)
    asset: str | None = None  # the input asset key of CONFIDENCE layers
    azimuth: bool = False  # an angle clockwise from north, stored as -180..180
    inputs: tuple[str, ...] = ()  # the reflectance bands an INDEX layer is computed from
    valid_range: tuple[float, float] | None = None  # physical values a layer can hold
    period: str | None = None  # which mosaic of a change order (`PERIODS`), by `period_layer`

    @property
    def kind(self) -> str:
        """The layer's name without a change order's period prefix: 'B04', 'source_index'."""
        return self.name.removeprefix(f"{self.period}_") if self.period else self.name

    @property
    def categorical(self) -> bool:
        """Whether the values are codes (classes, selection methods, indices into the source
        list), whose mean and spread mean nothing."""
        return bool(self.flags) or self.kind == "source_index"

    @property
    def band(self) -> l2a.Band | None:
        """The Sentinel-2 band of a reflectance layer."""
        return l2a.BAND_BY_NAME.get(self.kind) if self.source is Source.REFLECTANCE else None

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
                 f"{info.description} surface reflectance, {info.center_nm} nm",
                 source=Source.REFLECTANCE, standard_name="surface_bidirectional_reflectance")


def _confidence(kind: str, asset: str) -> Layer:
    return Layer(
        f"quality_{kind}_confidence", "uint8", 1, 255, "%",
        f"Sen2Cor {kind} probability of the chosen observation", Source.CONFIDENCE,
        # CF's name for "assessed quality information of another data variable": the
        # probabilities qualify the chosen reflectance; no CF name describes them.
        standard_name="quality_flag", quality=True, asset=asset,
        comment=(f"Sen2Cor's {kind} probability of the chosen observation, from its L2A {kind} "
                 "confidence mask. A probability of a class, not the area fraction that CF's "
                 f"{kind}_area_fraction names; it is given as quality information "
                 "(quality_flag) of the reflectance variables."))


def _angle(name: str, description: str, standard_name: str, azimuth: bool = False) -> Layer:
    return Layer(name, "int16", 0.01, -32768, "degree", description, Source.ANGLES,
                 standard_name=standard_name, azimuth=azimuth)


INDEX_SCALE = 1e-4
INDEX_NODATA = -32768


def _index(index: SpectralIndex) -> Layer:
    # CF names NDVI only; the others are described by long_name and the comment.
    return Layer(index.name, "int16", INDEX_SCALE, INDEX_NODATA, "1",
                 f"{index.title} of the chosen observation, {index.formula}", Source.INDEX,
                 standard_name=index.cf_standard_name,
                 comment=(f"{index.title} ({index.reference}): {index.formula}, from the "
                          "surface reflectance of the observation each pixel's bands come "
                          "from; nodata where no observation was chosen or the formula is "
                          "undefined (a zero denominator)."),
                 inputs=index.inputs, valid_range=index.valid_range)


AUX_LAYERS: dict[str, Layer] = {layer.name: layer for layer in (
    Layer("source_index", "int16", 1, -1, "1",
          "index of the chosen observation in the product's source list",
          comment=("The acquisition each pixel's values come from: an index into flag_meanings "
                   "(the acquisition ids) and into Source_product_list of the product's "
                   "metadata.json, which names its L2A granules; the fill value where no "
                   "observation was valid.")),
    Layer("valid_obs", "uint8", 1, 255, "1", "number of valid observations",
          standard_name="number_of_observations", quality=True),
    Layer("total_obs", "uint8", 1, 255, "1", "number of observations, valid or not",
          standard_name="number_of_observations", quality=True),
    Layer("method", "uint8", 1, 255, "1",
          "selection method: " + ", ".join(f"{m.code} {m.name}"
                                           for m in SELECTION_METHODS.values()),
          flags={m.code: m.flag for m in SELECTION_METHODS.values()}, quality=True),
    Layer("medoid_mos", "uint16", 1e-4, 65535, "1",
          "medoid's sum of distances divided by the number of valid observations",
          standard_name="quality_flag", quality=True,
          comment=("Sum of the spectral (Euclidean) distances from the chosen medoid to the "
                   f"pixel's other valid observations over {', '.join(l2a.MEDOID_BANDS)}, in "
                   "reflectance, divided by the number of valid observations (S2GM "
                   "medoid_mos): the spread of the observations around the chosen one. Fill "
                   "where the medoid did not choose. No CF standard name describes this "
                   "statistic of the compositing algorithm; it is given as quality "
                   "information (quality_flag) of the reflectance variables.")),
    Layer("acquisition_date", "int32", 1, -2147483648, "days since 1970-01-01",
          "acquisition day of the chosen observation", Source.ACQUISITION,
          standard_name="time"),
    Layer("quality_scene_classification", "uint8", 1, 255, "1",
          "Sen2Cor scene classification (SCL) of the chosen observation", Source.SCL,
          flags=l2a.SCL_CLASS_NAMES, quality=True),
    Layer("quality_aot", "uint16", 1e-3, 65535, "1",
          "aerosol optical thickness at 550 nm of the chosen observation", Source.AOT,
          standard_name="atmosphere_optical_thickness_due_to_ambient_aerosol_particles",
          quality=True),
    _confidence("cloud", "CLD"),
    _confidence("snow", "SNW"),
    _angle("view_zenith_mean", "viewing incidence zenith angle of the chosen observation, "
           "mean over the bands", "sensor_zenith_angle"),
    _angle("view_azimuth_mean", "viewing incidence azimuth angle of the chosen observation, "
           "mean over the bands, clockwise from north, -180 to 180", "sensor_azimuth_angle",
           azimuth=True),
    _angle("sun_zenith", "sun zenith angle of the chosen observation", "solar_zenith_angle"),
    _angle("sun_azimuth", "sun azimuth angle of the chosen observation, clockwise from north, "
           "-180 to 180", "solar_azimuth_angle", azimuth=True),
    *(_index(index) for index in INDICES.values()),
)}
# Per-observation layers a stack may carry (read from the inputs, gathered from the chosen
# observation): angles only where the inputs' metadata hold angle grids, confidences only where
# the inputs hold Sen2Cor's probability masks; elsewhere the layer is nodata.
CONFIDENCE_LAYERS: tuple[str, ...] = tuple(
    n for n, lyr in AUX_LAYERS.items() if lyr.source is Source.CONFIDENCE)
ANGLE_LAYERS: tuple[str, ...] = tuple(
    n for n, lyr in AUX_LAYERS.items() if lyr.source is Source.ANGLES)


# A change order's layers beside its two mosaics' (`period_layer`): Change Vector Analysis of
# the compared bands (`compositing.change`, `compositing.change_pieces`).
CHANGE_LAYERS: dict[str, Layer] = {layer.name: layer for layer in (
    Layer("cva_magnitude", "uint16", 1e-4, 65535, "1",
          "change vector magnitude: norm of the per-band reflectance differences", Source.CHANGE,
          comment=("Euclidean norm of the differences of the compared bands' surface "
                   "reflectance, second mosaic (radiometrically normalised to the first) minus "
                   "first; fill where either mosaic has no value.")),
    Layer("cva_angle", "uint16", 0.01, 65535, "degree",
          "change vector angle to the reference direction (the first compared band's axis)",
          Source.CHANGE,
          comment=("Angle between the change vector and the reference vector (1, 0, ...): 0 "
                   "degrees where only the first compared band rose, 180 where it alone fell; "
                   "fill where either mosaic has no value or nothing changed at all.")),
    Layer("change_mask", "uint8", 1, 255, "1", "significant change at the ordered confidence",
          Source.CHANGE, flags={0: "no_change", 1: "change"},
          comment=("1 where the squared Mahalanobis distance of the band differences (centre "
                   "and covariance fitted on the unchanged pixels) passes the chi-squared "
                   "quantile of the ordered confidence (degrees of freedom: the number of "
                   "compared bands); fill where either mosaic has no value.")),
    Layer("change_class", "uint8", 1, 255, "1",
          "class of change: k-means on (magnitude, angle), numbered by rising magnitude",
          Source.CHANGE, flags={0: "no_change", **{k: f"change_class_{k}" for k in range(1, 11)}},
          comment=("0 where nothing changed; 1 to k for changed pixels, by k-means on the "
                   "standardised change vector magnitude and angle, class 1 the smallest mean "
                   "magnitude; the class centres are in the product's metadata.json.")),
)}
# The two mosaics of a change order, in the order of their layer names' prefixes.
PERIODS: tuple[str, str] = ("before", "after")
# What each mosaic of a change order delivers beside its bands: enough to name, for every
# pixel, the observation each of its two values comes from.
CHANGE_PERIOD_LAYERS: tuple[str, ...] = ("source_index", "acquisition_date")


def period_layer(layer: Layer, period: str) -> Layer:
    """A layer of one of a change order's two mosaics: `before_B04`, `after_source_index`."""
    which = "first (earlier)" if period == PERIODS[0] else "second (later)"
    return replace(layer, name=f"{period}_{layer.name}", period=period,
                   description=f"{layer.description}, {which} period's mosaic")


def aux_layer(name: str) -> Layer:
    """The auxiliary layer of that name (KeyError for an unknown name)."""
    return AUX_LAYERS[name]


def encode(values: np.ndarray, layer: Layer, missing: np.ndarray | None = None) -> np.ndarray:
    """Physical values to the stored type: scaled, rounded, clipped to range, nodata filled."""
    info = np.iinfo(np.dtype(layer.dtype))
    scaled = (np.asarray(values, dtype=np.float64) - layer.offset) / layer.scale
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
