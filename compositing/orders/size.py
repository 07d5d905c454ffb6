"""How big an order's product is, and how an order too big for one product is delivered.

S2GM delivered large orders as Sentinel-2 MGRS tiles. Here an order whose estimated product
passes the operator's limit is delivered the same way when its CRS is a UTM zone whose tiles
cover the area (`fit_to_limit` turns its tiling to 'mgrs'), and is refused with the reason
otherwise, before anything is queued. The same figures feed the ordering dialogue's preview.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from compositing.grid import OutputGrid
from compositing.orders.spec import MosaicSpec, SpecError, check_tiling

# Deflate typically halves surface reflectance: the estimate is an estimate, shown as such.
COMPRESSION_RATIO = 0.5
# Storage an order needs while it is made, in estimated products: the pieces of its chunks
# (uncompressed, `compositing.pieces`), the intermediate GeoTIFFs and the delivered files.
WORKING_FACTOR = 1 / COMPRESSION_RATIO + 2


@dataclass(frozen=True)
class ProductSize:
    """An order's output grid, its estimated size on disk and the tiles it is delivered as."""

    width: int
    height: int
    estimated_bytes: int
    tiles: int  # MGRS tile subfolders; 0 for a single product

    @property
    def working_bytes(self) -> int:
        """Storage the order occupies at its peak, while its product is assembled."""
        return int(self.estimated_bytes * WORKING_FACTOR)

    def describe(self) -> str:
        """'will be delivered as 37 MGRS tiles, about 160 GB'."""
        size = human_bytes(self.estimated_bytes)
        if self.tiles:
            return f"will be delivered as {self.tiles} MGRS tiles, about {size}"
        return f"will be delivered as one product, about {size}"


def product_size(spec: MosaicSpec) -> ProductSize:
    """The size of the order's product: the storage size of every delivered layer (both
    mosaics and the change layers of a change order), per output pixel, compressed by about
    COMPRESSION_RATIO."""
    from compositing.products.groups import delivered_groups
    from compositing.products.tiling import product_parts

    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    bytes_per_px = sum(layer.dtype_size for group in delivered_groups(spec).values()
                       for layer in group)
    estimate = int(grid.width * grid.height * bytes_per_px * COMPRESSION_RATIO)
    return ProductSize(grid.width, grid.height, estimate, len(product_parts(spec, grid)))


def fit_to_limit(spec: MosaicSpec, max_product_bytes: int) -> MosaicSpec:
    """The order as it will be delivered: unchanged within the limit; beyond it, as MGRS tile
    subfolders where its CRS allows, else SpecError saying why and what to order instead."""
    size = product_size(spec)
    if size.estimated_bytes <= max_product_bytes or spec.tiling == "mgrs":
        return spec
    tiled = replace(spec, tiling="mgrs")
    try:
        check_tiling(tiled)
    except SpecError as exc:
        raise SpecError("crs", f"the product would be about {human_bytes(size.estimated_bytes)}"
                               f", more than one product may be on this hub "
                               f"({human_bytes(max_product_bytes)}); larger orders are "
                               f"delivered as Sentinel-2 MGRS tiles, which this order cannot "
                               f"be ({exc.message}). Order the area's UTM zone, a smaller "
                               f"area, fewer bands or a coarser resolution") from None
    return tiled


def human_bytes(n: float) -> str:
    """'160 GB', '1.2 GB', '350 MB': decimal units, as disks are sold."""
    unit = "bytes"
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            break
        n /= 1000
    return f"{n:.1f} {unit}" if n < 10 and unit != "bytes" else f"{n:.0f} {unit}"
