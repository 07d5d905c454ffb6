"""The observations of one chunk as the selection reads them: one uint16 reflectance array.

Reflectance is kept as Sen2Cor's processing-baseline 04.00 encoding, whatever the encoding of
the input: reflectance = (DN + STACK_DN_OFFSET) * STACK_SCALE, DN 0 = no data. Baseline-04
inputs (most of the archive) are copied as they are, older baselines shift by +1000 DN, and
every reflectance from -0.1 up fits, so the selection sees the values Sen2Cor wrote. Half the
bytes of float32, no NaN arithmetic, and the medoid's uint16 path is the faster one; a shift
by a constant changes no spectral distance, and the STC and the snow test take the offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STACK_DTYPE = np.uint16
STACK_NODATA = 0
STACK_SCALE = 1e-4
STACK_DN_OFFSET = -1000
_MAX_DN = int(np.iinfo(STACK_DTYPE).max)


@dataclass
class Stack:
    """Observations of one chunk.

    `refl`, `aot`, `oblique` and `extra` cover the chunk; `scl` covers it grown by `halo`
    pixels on each side, for the selection's neighbourhood tests (cloud buffer, distance to
    clouds), which look at the scene classification only.
    """

    obs_index: np.ndarray  # (t,) index into the product's observation list
    band_names: tuple[str, ...]
    refl: np.ndarray  # (t, band, y, x) uint16 stack DN, STACK_NODATA where no data
    scl: np.ndarray  # (t, y + 2 halo, x + 2 halo) uint8, 0 where no data
    aot: np.ndarray  # (t, y, x) float32, NaN where no data (read-only NaN if not read)
    # (t, y, x) True where the observation's mean view zenith is too high (S2GM validity);
    # None where no observation of the chunk is.
    oblique: np.ndarray | None
    halo: int = 0
    # Per-observation layers by product layer name (`layers.CONFIDENCE_LAYERS`,
    # `layers.ANGLE_LAYERS`), (t, y, x) float32, NaN where the input has none.
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def scl_core(self) -> np.ndarray:
        """The scene classification on the chunk only."""
        h = self.halo
        return self.scl if h == 0 else self.scl[:, h:-h, h:-h]

    def reflectance(self) -> np.ndarray:
        """Reflectance (t, band, y, x) as float32, NaN where no data (a copy: for small
        stacks, such as the time series of one pixel)."""
        return to_reflectance(self.refl)

    @classmethod
    def empty(cls, band_names: tuple[str, ...], shape: tuple[int, int], halo: int = 0,
              extras: tuple[str, ...] = ()) -> Stack:
        h, w = shape
        return cls(np.zeros(0, np.int64), band_names, np.zeros((0, len(band_names), h, w),
                                                               STACK_DTYPE),
                   np.zeros((0, h + 2 * halo, w + 2 * halo), np.uint8),
                   np.zeros((0, h, w), np.float32), np.zeros((0, h, w), bool), halo,
                   {name: np.zeros((0, h, w), np.float32) for name in extras})


def to_reflectance(dn: np.ndarray) -> np.ndarray:
    """Stack DN to float32 reflectance, NaN for no data."""
    out = (dn.astype(np.float32) + np.float32(STACK_DN_OFFSET)) * np.float32(STACK_SCALE)
    out[dn == STACK_NODATA] = np.nan
    return out


def from_reflectance(values: np.ndarray) -> np.ndarray:
    """Float reflectance to stack DN (rounded; NaN becomes no data)."""
    values = np.asarray(values, np.float64)
    dn = np.clip(np.rint(np.nan_to_num(values / STACK_SCALE - STACK_DN_OFFSET)), 1, _MAX_DN)
    return np.where(np.isfinite(values), dn, STACK_NODATA).astype(STACK_DTYPE)


def stack_dn_shift(scale: float, offset: float) -> int | None:
    """The whole number of DN that turns an input's DN into stack DN, or None when the input's
    encoding is not a shifted copy of the stack's (another scale: converted through floats)."""
    if abs(scale - STACK_SCALE) > 1e-12:
        return None
    shift = (offset / STACK_SCALE) - STACK_DN_OFFSET
    nearest = round(shift)
    return nearest if abs(shift - nearest) < 1e-6 else None


def encode_into(out: np.ndarray, dn: np.ndarray, nodata: float | None, scale: float,
                offset: float, where: np.ndarray | None = None) -> None:
    """Write input values (DN of an asset: reflectance = DN * scale + offset; integer, or
    float from an average with NaN for no data) as stack DN into `out`, only `where` given."""
    shift = stack_dn_shift(scale, offset)
    if dn.dtype.kind in "ui" and shift is not None:
        if shift == 0 and nodata in (None, STACK_NODATA) and dn.dtype == STACK_DTYPE:
            converted = dn
        else:
            wide = dn.astype(np.int32) + shift
            np.clip(wide, 1, _MAX_DN, out=wide)
            if nodata is not None:
                wide[dn == nodata] = STACK_NODATA
            converted = wide.astype(STACK_DTYPE)
    else:
        physical = dn.astype(np.float64) * scale + offset
        if nodata is not None and dn.dtype.kind in "ui":
            physical[dn == nodata] = np.nan
        converted = from_reflectance(physical)
    np.copyto(out, converted, where=True if where is None else where)
