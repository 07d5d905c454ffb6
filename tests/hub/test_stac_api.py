"""The hub's STAC API over the local archive, driven by pystac-client on a live server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pystac
import pytest
import requests
from pystac_client import Client
from pystac_client.conformance import ConformanceClasses

from hub.stac.embedded import names_this_hub, stac_api_url
from tests.compositing.archive.test_store import shifted_item

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
STAC_ITEMS = SHARED / "data" / "real" / "stac_items"
ES_ITEM = "riotilerpds_earthsearch_v1_S2A_29RKH_20200219_0_L2A.json"
PC_ITEM = "odcstac_S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"
PC_ARCTIC_ITEMS = "stacgeoparquet_sentinel-2-l2a-pc.json"

pytestmark = pytest.mark.skipif(
    not (SHARED / "data").is_dir(), reason="the shared sample data (../shared/data) is absent"
)

L2A = "sentinel-2-l2a"
ARCTIC = "sentinel-2-l2a-arctic"
WESTERN_SAHARA = [-12.0, 24.0, -10.5, 25.5]  # holds the whole 29RKH footprint
# Links the API writes (the items keep their own license/derived_from links untouched).
API_RELS = {"self", "root", "parent", "collection", "next"}


@dataclass(frozen=True)
class Scene:
    """What the test archive holds, to compute the expected answers."""

    collection: str
    id: str
    datetime: datetime
    bbox: tuple[float, float, float, float]


def build_archive(root: Path) -> list[Scene]:
    """25 items: 29RKH x 8 and 06VVN x 5 in sentinel-2-l2a, 4 Arctic tiles x 3 in another."""
    es = json.loads((STAC_ITEMS / ES_ITEM).read_text())
    pc = json.loads((STAC_ITEMS / PC_ITEM).read_text())
    arctic = json.loads((STAC_ITEMS / PC_ARCTIC_ITEMS).read_text())
    plan = [(es, L2A, 8), (pc, L2A, 5)] + [(tile, ARCTIC, 3) for tile in arctic]
    scenes = []
    for source, collection, count in plan:
        for k in range(count):
            item = shifted_item(source, 5 * k)
            folder = root / collection / item["id"]
            folder.mkdir(parents=True)
            (folder / f"{item['id']}.json").write_text(json.dumps(item))
            when = datetime.fromisoformat(item["properties"]["datetime"])
            scenes.append(Scene(collection, item["id"], when, tuple(item["bbox"])))
    return scenes


def _overlaps(a: tuple[float, ...], b: list[float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


@pytest.fixture
def archive(tmp_path: Path, settings: Any) -> list[Scene]:
    """The test archive, served by the hub (settings.HUB_ARCHIVE_DIR points at it)."""
    scenes = build_archive(tmp_path / "archive")
    settings.HUB_ARCHIVE_DIR = tmp_path / "archive"
    return scenes


@pytest.fixture
def stac(live_server: Any, archive: list[Scene]) -> Iterator[Client]:
    """pystac-client opened on the live hub."""
    client = Client.open(live_server.url + "/stac/")
    yield client
    # A server thread still holding a kept-alive connection would close the shared test
    # database connection after the live server stopped sharing it.
    client._stac_io.session.close()


def _all_links(document: Any) -> list[dict[str, Any]]:
    """Every link object anywhere in a JSON document."""
    if isinstance(document, dict):
        own = document.get("links", []) if isinstance(document.get("links"), list) else []
        return own + [link for value in document.values() for link in _all_links(value)]
    if isinstance(document, list):
        return [link for value in document for link in _all_links(value)]
    return []


def test_the_landing_page_conforms_to_item_search(stac: Client) -> None:
    for conformance in ("CORE", "COLLECTIONS", "FEATURES", "ITEM_SEARCH", "SORT"):
        assert stac.conforms_to(ConformanceClasses[conformance]), conformance
    methods = {link.extra_fields.get("method") for link in stac.links if link.rel == "search"}
    assert methods == {"GET", "POST"}
    assert {"self", "root", "conformance", "data"} <= {link.rel for link in stac.links}


def test_landing_and_conformance_are_json_with_absolute_links(
    live_server: Any, archive: list[Scene]
) -> None:
    landing = requests.get(live_server.url + "/stac/", timeout=10)
    assert landing.headers["Content-Type"] == "application/json"
    body = landing.json()
    assert body["type"] == "Catalog" and body["stac_version"] == "1.1.0"
    assert all(link["href"].startswith(live_server.url) for link in body["links"])
    conformance = requests.get(live_server.url + "/stac/conformance", timeout=10).json()
    assert set(conformance["conformsTo"]) == set(body["conformsTo"])


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_search_by_bbox_datetime_and_collection(
    stac: Client, archive: list[Scene], method: str
) -> None:
    search = stac.search(
        method=method,
        bbox=WESTERN_SAHARA,
        datetime="2020-03-01/2020-03-31",
        collections=[L2A],
        max_items=100,
    )
    expected = {
        s.id
        for s in archive
        if s.collection == L2A
        and _overlaps(s.bbox, WESTERN_SAHARA)
        and s.datetime.strftime("%Y-%m") == "2020-03"
    }
    assert len(expected) == 5
    assert {item.id for item in search.items()} == expected
    assert search.matched() == 5


def test_max_items_stops_early(stac: Client) -> None:
    assert len(list(stac.search(collections=[L2A], max_items=4).items())) == 4


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_paging_returns_every_item_exactly_once(
    stac: Client, archive: list[Scene], method: str
) -> None:
    search = stac.search(method=method, collections=[L2A, ARCTIC], limit=3, max_items=None)
    pages = list(search.pages_as_dicts())
    ids = [feature["id"] for page in pages for feature in page["features"]]
    assert len(pages) == 9
    assert sorted(ids) == sorted(s.id for s in archive) and len(ids) == 25
    dates = [feature["properties"]["datetime"] for page in pages for feature in page["features"]]
    assert dates == sorted(dates)
    api_links = [link for link in _all_links(pages) if link["rel"] in API_RELS]
    assert api_links and all(link["href"].startswith("http://") for link in api_links)


def test_search_by_intersects(stac: Client, archive: list[Scene]) -> None:
    near_valdez = {
        "type": "Polygon",
        "coordinates": [[[-148, 60.8], [-147.6, 60.8], [-147.6, 61.0], [-148, 61.0], [-148, 60.8]]],
    }
    found = {item.id for item in stac.search(intersects=near_valdez, max_items=100).items()}
    assert found == {s.id for s in archive if "T06VVN" in s.id}
    atlantic = {"type": "Point", "coordinates": [-30.0, 30.0]}
    assert list(stac.search(intersects=atlantic).items()) == []


def test_search_by_ids(stac: Client, archive: list[Scene]) -> None:
    wanted = {archive[0].id, archive[-1].id}
    assert {item.id for item in stac.search(ids=sorted(wanted)).items()} == wanted


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sortby_descending_datetime(stac: Client, archive: list[Scene], method: str) -> None:
    search = stac.search(method=method, collections=[L2A], sortby="-datetime", limit=4)
    dates = [item.datetime for item in search.items()]
    assert len(dates) == 13
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == max(s.datetime for s in archive if s.collection == L2A)


def test_get_collection(stac: Client, archive: list[Scene]) -> None:
    collection = stac.get_collection(L2A)
    assert collection is not None and collection.id == L2A
    start, end = collection.extent.temporal.intervals[0]
    mine = [s.datetime for s in archive if s.collection == L2A]
    assert (start, end) == (min(mine), max(mine))
    assert {c.id for c in stac.get_collections()} == {L2A, ARCTIC, "mosaics"}


def test_served_item_and_collection_are_valid_pystac_objects(
    live_server: Any, archive: list[Scene], tmp_path: Path
) -> None:
    scene = archive[0]
    url = f"{live_server.url}/stac/collections/{L2A}/items/{scene.id}"
    response = requests.get(url, timeout=10)
    assert response.headers["Content-Type"] == "application/geo+json"
    item = pystac.Item.from_dict(response.json())
    assert item.id == scene.id and item.collection_id == L2A
    assert item.get_self_href() == url
    assert item.assets["red"].href == str(tmp_path / "archive" / L2A / scene.id / "B04.tif")
    links = {link.rel: link.href for link in item.links}
    assert links["parent"] == links["collection"] == f"{live_server.url}/stac/collections/{L2A}"
    assert links["root"] == f"{live_server.url}/stac/"
    collection = requests.get(f"{live_server.url}/stac/collections/{L2A}", timeout=10)
    assert collection.headers["Content-Type"] == "application/json"
    assert collection.json()["license"] == "proprietary"
    parsed = pystac.Collection.from_dict(collection.json())
    assert parsed.id == L2A and parsed.extent.spatial.bboxes


def test_collection_items_pages_through_next_links(live_server: Any, archive: list[Scene]) -> None:
    url: str | None = f"{live_server.url}/stac/collections/{L2A}/items?limit=5"
    seen: list[str] = []
    while url:
        page = requests.get(url, timeout=10).json()
        assert page["numberMatched"] == 13 and page["numberReturned"] == len(page["features"])
        seen += [feature["id"] for feature in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert sorted(seen) == sorted(s.id for s in archive if s.collection == L2A)


def test_collection_items_filters_by_datetime(client: Any, archive: list[Scene]) -> None:
    response = client.get(f"/stac/collections/{L2A}/items", {"datetime": "2019-06-01/2019-07-31"})
    assert response["Content-Type"] == "application/geo+json"
    assert response.json()["numberMatched"] == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "0,0,1,north"}, "bbox"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"token": "garbage"}, "token"),
        ({"sortby": "-eo:cloud_cover"}, "sortby"),
        ({"intersects": "{"}, "intersects"),
    ],
)
def test_a_bad_search_parameter_is_a_400_naming_it(
    client: Any, archive: list[Scene], query: dict[str, str], field: str
) -> None:
    response = client.get("/stac/search", query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["field"] == field and response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"bbox": [1, 2, 3]}', "bbox"),
        ('{"bbox": ["a", 0, 1, 1]}', "bbox"),
        ('{"intersects": {"type": "Polygon", "coordinates": 5}}', "intersects"),
        ('{"collections": "sentinel-2-l2a", "limit": -1}', "limit"),
        ('{"sortby": [{"field": "datetime", "direction": "sideways"}]}', "sortby"),
        ("[1, 2]", "body"),
        ("{not json", "body"),
    ],
)
def test_a_bad_post_search_is_a_400_naming_the_field(
    client: Any, archive: list[Scene], body: str, field: str
) -> None:
    response = client.post("/stac/search", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_post_search_needs_no_csrf_token(archive: list[Scene]) -> None:
    from django.test import Client as DjangoClient

    response = DjangoClient(enforce_csrf_checks=True).post(
        "/stac/search", {"collections": [ARCTIC]}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["numberMatched"] == 12


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/stac/collections/unknown", "collection_id"),
        ("/stac/collections/unknown/items", "collection_id"),
        (f"/stac/collections/unknown/items/{ES_ITEM}", "collection_id"),
        (f"/stac/collections/{L2A}/items/unknown", "item_id"),
        ("/stac/nothing/here", None),
    ],
)
def test_unknown_things_are_a_404_in_the_error_shape(
    client: Any, archive: list[Scene], path: str, field: str | None
) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["field"] == field and response.json()["error"]


def test_a_wrong_method_is_a_405(client: Any, archive: list[Scene]) -> None:
    response = client.post("/stac/collections", "{}", content_type="application/json")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


def test_stac_api_url_prefers_the_configured_url(settings: Any) -> None:
    settings.HUB_STAC_URL = "https://earth-search.aws.element84.com/v1"
    assert stac_api_url() == "https://earth-search.aws.element84.com/v1"


@pytest.mark.parametrize(("url", "allowed", "own"), [
    ("http://web:8000/stac/", ["hub.example.org", "web"], True),
    ("https://hub.example.org/stac", ["hub.example.org"], True),
    ("http://127.0.0.1:8000/stac/", ["127.0.0.1"], True),
    ("http://user:secret@web/stac/", [".example.org", "web"], True),
    ("http://sub.example.org/stac/", [".example.org"], True),
    ("http://web:8000/stac/", ["hub.example.org"], False),  # a host it does not answer to
    ("http://web:8000/v1/", ["web"], False),  # another path: another service
    ("https://other.example.net/stac/", ["*"], False),  # the wildcard names no host
    ("https://earth-search.aws.element84.com/v1", ["127.0.0.1"], False),
])
def test_a_configured_url_naming_this_hub_is_recognised(settings: Any, url: str,
                                                        allowed: list[str], own: bool) -> None:
    settings.ALLOWED_HOSTS = [*allowed, "127.0.0.1"] if own else allowed
    assert names_this_hub(url) is own


def test_a_configured_url_naming_this_hub_is_served_in_process(settings: Any,
                                                             archive: list[Scene]) -> None:
    settings.HUB_STAC_URL = "http://web:8000/stac/"
    settings.ALLOWED_HOSTS = ["web", "127.0.0.1"]
    url = stac_api_url()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/stac/")


def test_stac_api_url_serves_the_archive_in_process(settings: Any, archive: list[Scene]) -> None:
    settings.HUB_STAC_URL = ""
    url = stac_api_url()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/stac/")
    assert stac_api_url() == url
    found = Client.open(url).search(collections=[ARCTIC], datetime="2024-04-19", max_items=50)
    assert {item.id for item in found.items()} == {
        s.id for s in archive if s.collection == ARCTIC and s.datetime.day == 19
    }


def test_stac_api_url_starts_a_new_server_after_a_fork(settings: Any, archive: list[Scene]) -> None:
    settings.HUB_STAC_URL = ""
    parent_url = stac_api_url()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, never return into pytest
        status = 1
        try:
            child_url = stac_api_url()
            matched = Client.open(child_url).search(collections=[L2A]).matched()
            os.write(write_end, json.dumps([child_url, matched]).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    child_url, matched = json.loads(answer)
    assert child_url != parent_url and matched == 13
    assert requests.get(parent_url, timeout=10).status_code == 200
