"""A catalogue item as the catalogue tests need it: the LWQ dekad of 2018-08-11."""

from __future__ import annotations

from typing import Any

from hub.catalogue.models import Item, ItemFile, ProductFamily

LWQ = "c_gls_LWQ1km_201808110000_GL"


def create_lwq_item(footprint: dict[str, Any], *, local_quicklook: bool = False) -> Item:
    """The item with its NetCDF at an external URL, and optionally a locally stored quicklook."""
    item = Item.objects.create(family=ProductFamily.objects.get(slug="lwq"), identifier=LWQ,
                               start="2018-08-11", end="2018-08-20", footprint=footprint)
    ItemFile.objects.create(item=item, name=f"{LWQ}.nc", url="https://example.org/lwq.nc",
                            size=1234, sha256="e" * 64)
    if local_quicklook:
        ItemFile.objects.create(item=item, name=f"{LWQ}_QL.tif", path="lwq/ql.tif", size=99,
                                sha256="f" * 64)
    return item
