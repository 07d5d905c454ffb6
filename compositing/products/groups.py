"""Which layers an order delivers and how they are grouped into files: the one answer that the
pipeline's intermediates, the format writers, the metadata and the size estimate read.

A group is the layers one multi-band file holds when the format keeps bands together: a
mosaic's reflectance bands ("bands"), or each of a change order's two mosaics ("before",
"after"); every other layer is a group of its own, named as the layer. Formats that write one
file per layer split every group (`Grouping.PER_LAYER`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from compositing.products.layers import (
    AUX_LAYERS,
    CHANGE_LAYERS,
    CHANGE_PERIOD_LAYERS,
    PERIODS,
    Layer,
    period_layer,
    reflectance_layer,
)

if TYPE_CHECKING:
    from compositing.orders.spec import MosaicSpec

LayerGroups = dict[str, tuple[Layer, ...]]
# The bands of a true-colour quicklook, in the order of its red, green and blue.
RGB: tuple[str, str, str] = ("B04", "B03", "B02")


def delivered_groups(spec: MosaicSpec) -> LayerGroups:
    """The order's delivered layers by group, in file order."""
    if not spec.is_change:
        groups: LayerGroups = {"bands": tuple(reflectance_layer(b) for b in spec.bands)}
        groups.update({name: (AUX_LAYERS[name],) for name in spec.aux})
        return groups
    groups = {period: tuple(period_layer(reflectance_layer(b), period) for b in spec.bands)
              for period in PERIODS}
    groups.update({name: (layer,) for name, layer in CHANGE_LAYERS.items()})
    for period in PERIODS:
        for name in CHANGE_PERIOD_LAYERS:
            layer = period_layer(AUX_LAYERS[name], period)
            groups[layer.name] = (layer,)
    return groups


def band_groups(spec: MosaicSpec) -> tuple[str, ...]:
    """The groups holding reflectance bands: what a true-colour quicklook is made from, one
    per mosaic ("bands"; "before" and "after")."""
    return PERIODS if spec.is_change else ("bands",)


def quicklook_groups(spec: MosaicSpec) -> LayerGroups:
    """The true-colour bands of each mosaic that did not order all of them: composed for its
    quicklook, never delivered ("rgb"; "rgb_before" and "rgb_after")."""
    if set(RGB) <= set(spec.bands):
        return {}
    if not spec.is_change:
        return {"rgb": tuple(reflectance_layer(b) for b in RGB)}
    return {f"rgb_{period}": tuple(period_layer(reflectance_layer(b), period) for b in RGB)
            for period in PERIODS}


def quicklook_source(spec: MosaicSpec, group: str) -> tuple[str, tuple[str, str, str]]:
    """The intermediate group holding a band group's true colour, and the names of its red,
    green and blue layers."""
    extra = quicklook_groups(spec)
    source = next((name for name in extra if name in ("rgb", f"rgb_{group}")), group)
    prefix = f"{group}_" if spec.is_change else ""
    red, green, blue = (f"{prefix}{b}" for b in RGB)
    return source, (red, green, blue)
