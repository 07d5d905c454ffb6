"""How a pixel's observation was chosen: the one registry of selection methods.

The `method` layer stores `code`; NetCDF flag meanings, the time-series CSV and the metadata
read the names from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SelectionMethod:
    """One way of choosing the observation of a pixel."""

    code: int  # value of the `method` layer
    name: str  # short name: time-series CSV, API
    flag: str  # CF flag_meanings word
    description: str


NONE = SelectionMethod(0, "none", "none", "no valid observation: the pixel is nodata")
MEDOID = SelectionMethod(1, "medoid", "medoid",
                         "spectral medoid of the valid observations (S2GM, 4 or more)")
STC = SelectionMethod(2, "stc", "short_term_composite",
                      "S2GM short-term composite decision tree (1 to 3 valid observations)")
SELECTION_METHODS: dict[int, SelectionMethod] = {m.code: m for m in (NONE, MEDOID, STC)}
METHOD_NONE, METHOD_MEDOID, METHOD_STC = NONE.code, MEDOID.code, STC.code
