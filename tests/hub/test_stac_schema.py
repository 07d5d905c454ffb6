"""The hub's STAC documents against the STAC core JSON schemas that pystac ships (offline).

pystac bundles the STAC 1.1.0 core schemas (item, catalog, collection, GeoJSON), the version
the hub writes; extension schemas would need the network, which tests do not have.
"""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft7Validator
from pystac.validation.local_validator import get_local_schema_cache
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

pytestmark = pytest.mark.django_db
BASE = "https://schemas.stacspec.org/v1.1.0"


def validator(kind: str) -> Draft7Validator:
    cache = get_local_schema_cache()
    registry = Registry().with_resources(
        (uri, Resource.from_contents(schema, default_specification=DRAFT7))
        for uri, schema in cache.items())
    return Draft7Validator(cache[f"{BASE}/{kind}-spec/json-schema/{kind}.json"],
                           registry=registry)


def errors(kind: str, document: dict) -> list[str]:
    """Schema errors against the STAC 1.1.0 core."""
    return [f"{'/'.join(map(str, e.path))}: {e.message}"
            for e in validator(kind).iter_errors(document)]


def test_served_catalog_collection_and_items_are_valid_stac(client, hub_dirs):
    landing = client.get("/stac/").json()
    assert errors("catalog", landing) == []
    collection = client.get("/stac/collections/sentinel-2-l2a").json()
    assert errors("collection", collection) == []
    page = client.get("/stac/search", {"limit": 5}).json()
    assert len(page["features"]) == 5  # of the demo archive's 12
    for item in page["features"]:
        assert errors("item", item) == [], item["id"]


def test_product_stac_items_are_valid_stac(hub_dirs, tmp_path):
    from compositing.orders.spec import parse_spec
    from compositing.pipeline import run_mosaic
    from hub.mosaics.services import mosaic_settings
    from tests.conftest import TEST_AOI_BBOX

    spec = parse_spec({"aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 60, "crs": "EPSG:32629", "bands": ["B04"]})
    result = run_mosaic(spec, mosaic_settings(), tmp_path, "stac")
    item = json.loads((result.folder / "stac_item.json").read_text())
    assert errors("item", item) == []


def test_the_validator_catches_a_broken_item(client, hub_dirs):
    item = client.get("/stac/search", {"limit": 1}).json()["features"][0]
    del item["properties"]["datetime"]
    assert errors("item", item)


def test_the_mosaics_collection_is_valid_stac(client, hub_dirs):
    assert errors("collection", client.get("/stac/collections/mosaics").json()) == []
    landing = client.get("/stac/").json()
    assert "http://testserver/stac/collections/mosaics" in \
        [link["href"] for link in landing["links"] if link["rel"] == "child"]
