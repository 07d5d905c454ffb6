"""LocalArchive: the local archive read from disk, cached, filtered and paged (no Django)."""

from __future__ import annotations

import copy
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import pytest

from compositing.archive import query
from compositing.archive import store as store_module
from compositing.archive.query import SearchError, SearchPage
from compositing.archive.store import LocalArchive
from tests.conftest import SHARED_DATA

STAC_ITEMS = SHARED_DATA / "real" / "stac_items"
ES_SCENE = SHARED_DATA / "real" / "earthsearch_S2A_29RKH_20200219_L2A"
ES_ITEM = "riotilerpds_earthsearch_v1_S2A_29RKH_20200219_0_L2A.json"
PC_ITEM = "odcstac_S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"

pytestmark = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason="the shared sample data (../shared/data) is absent"
)

L2A = "sentinel-2-l2a"
WESTERN_SAHARA = [-12.0, 24.0, -10.5, 25.5]  # holds the whole 29RKH footprint
ALASKA = [-149.0, 60.0, -146.5, 61.5]  # holds the whole 06VVN footprint


def shifted_item(source: dict[str, Any], days: int) -> dict[str, Any]:
    """The source item moved `days` later, with relative asset hrefs (./B04.tif …)."""
    item = copy.deepcopy(source)
    original = datetime.fromisoformat(source["properties"]["datetime"])
    when = original + timedelta(days=days)
    item["id"] = source["id"].replace(f"{original:%Y%m%d}", f"{when:%Y%m%d}")
    item["properties"]["datetime"] = when.isoformat().replace("+00:00", "Z")
    for asset in item["assets"].values():
        asset["href"] = "./" + PurePosixPath(urlparse(asset["href"]).path).name
    return item


def _write(archive: Path, collection: str, item: dict[str, Any]) -> Path:
    """Write an item in the archive layout and return its file."""
    folder = archive / collection / item["id"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{item['id']}.json"
    path.write_text(json.dumps(item))
    return path


@pytest.fixture
def sources() -> dict[str, dict[str, Any]]:
    """The real Earth Search and Planetary Computer items."""
    return {
        "es": json.loads((STAC_ITEMS / ES_ITEM).read_text()),
        "pc": json.loads((STAC_ITEMS / PC_ITEM).read_text()),
    }


@pytest.fixture
def archive(tmp_path: Path, sources: dict[str, dict[str, Any]]) -> Path:
    """Three 29RKH acquisitions (2020-02-19, -24, -29) and two 06VVN (2019-06-29, 07-04)."""
    root = tmp_path / "archive"
    for days in (0, 5, 10):
        _write(root, L2A, shifted_item(sources["es"], days))
    for days in (0, 5):
        _write(root, L2A, shifted_item(sources["pc"], days))
    first = root / L2A / "S2A_29RKH_20200219_0_L2A"
    shutil.copy(ES_SCENE / "B04.tif", first / "B04.tif")
    return root


def _ids(page: SearchPage) -> list[str]:
    return [item["id"] for item in page.items]


def test_it_lists_folders_holding_items_as_collections(archive: Path) -> None:
    (archive / "empty-collection").mkdir()
    assert LocalArchive(archive).collection_ids() == [L2A]


def test_a_missing_archive_dir_is_an_empty_archive(tmp_path: Path) -> None:
    store = LocalArchive(tmp_path / "nowhere")
    assert store.collection_ids() == []
    assert store.search().number_matched == 0
    assert store.collection(L2A) is None


def test_it_makes_relative_asset_hrefs_absolute_paths(archive: Path) -> None:
    item = LocalArchive(archive).item(L2A, "S2A_29RKH_20200219_0_L2A")
    assert item is not None
    href = item["assets"]["red"]["href"]
    assert href == str(archive / L2A / "S2A_29RKH_20200219_0_L2A" / "B04.tif")
    assert os.path.isfile(href)


def test_it_keeps_url_hrefs_and_drops_catalogue_links(
    tmp_path: Path, sources: dict[str, dict[str, Any]]
) -> None:
    item = shifted_item(sources["es"], 0)
    item["assets"]["red"]["href"] = "https://example.org/B04.tif"
    item["links"].append({"rel": "root", "href": "../../catalog.json"})
    _write(tmp_path, L2A, item)
    served = LocalArchive(tmp_path).item(L2A, item["id"])
    assert served is not None
    assert served["assets"]["red"]["href"] == "https://example.org/B04.tif"
    assert {link["rel"] for link in served["links"]} == {"canonical", "license", "derived_from"}


def test_the_collection_is_the_folder_whatever_the_file_says(
    tmp_path: Path, sources: dict[str, dict[str, Any]]
) -> None:
    _write(tmp_path, "elsewhere", shifted_item(sources["es"], 0))
    item = LocalArchive(tmp_path).item("elsewhere", "S2A_29RKH_20200219_0_L2A")
    assert item is not None and item["collection"] == "elsewhere"


def test_returned_items_are_copies(archive: Path) -> None:
    store = LocalArchive(archive)
    store.item(L2A, "S2A_29RKH_20200219_0_L2A")["assets"].clear()  # type: ignore[index]
    assert store.item(L2A, "S2A_29RKH_20200219_0_L2A")["assets"]  # type: ignore[index]


def test_the_collection_extent_covers_its_items(archive: Path) -> None:
    collection = LocalArchive(archive).collection(L2A)
    assert collection is not None
    assert collection["type"] == "Collection" and collection["license"] == "proprietary"
    assert any(link["rel"] == "license" for link in collection["links"])
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    assert west == pytest.approx(-148.86876) and east == pytest.approx(-10.8745567866346)
    assert south == pytest.approx(24.29633060395354) and north == pytest.approx(61.33432012718688)
    assert collection["extent"]["temporal"]["interval"] == [
        ["2019-06-29T21:25:29.024000Z", "2020-02-29T11:34:25.405000Z"]
    ]


def test_search_defaults_to_ascending_datetime(archive: Path) -> None:
    page = LocalArchive(archive).search()
    dates = [item["properties"]["datetime"] for item in page.items]
    assert dates == sorted(dates) and page.number_matched == 5 and page.next_token is None


def test_search_by_bbox(archive: Path) -> None:
    store = LocalArchive(archive)
    assert len(store.search(bbox=WESTERN_SAHARA).items) == 3
    assert len(store.search(bbox="-149,60,-146.5,61.5").items) == 2
    assert store.search(bbox=[0, 0, 1, 1]).items == []


def test_a_bbox_across_the_antimeridian_wraps(archive: Path) -> None:
    assert len(LocalArchive(archive).search(bbox=[170, 60, -140, 62]).items) == 2


def test_search_by_intersects(archive: Path) -> None:
    point = {"type": "Point", "coordinates": [-11.5, 24.8]}
    assert len(LocalArchive(archive).search(intersects=point).items) == 3
    assert len(LocalArchive(archive).search(intersects=json.dumps(point)).items) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-02-24T11:34:25.405Z", ["S2A_29RKH_20200224_0_L2A"]),
        ("2020-02-24", ["S2A_29RKH_20200224_0_L2A"]),
        ("2020-02-20T00:00:00Z/2020-02-29T00:00:00Z", ["S2A_29RKH_20200224_0_L2A"]),
        ("2020-02-24/..", ["S2A_29RKH_20200224_0_L2A", "S2A_29RKH_20200229_0_L2A"]),
        (
            "../2019-12-31",
            [
                "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531",
                "S2B_MSIL2A_20190704T212529_R043_T06VVN_20201006T080531",
            ],
        ),
        ("2020-02-24T13:34:25.405+02:00", ["S2A_29RKH_20200224_0_L2A"]),
    ],
)
def test_search_by_datetime(archive: Path, value: str, expected: list[str]) -> None:
    assert _ids(LocalArchive(archive).search(datetime=value)) == expected


def test_search_by_ids_and_collections(archive: Path) -> None:
    store = LocalArchive(archive)
    wanted = ["S2A_29RKH_20200229_0_L2A", "S2A_29RKH_20200219_0_L2A"]
    assert _ids(store.search(ids=wanted)) == sorted(wanted)
    assert _ids(store.search(ids=",".join(wanted))) == sorted(wanted)
    assert store.search(collections=["other"]).number_matched == 0
    assert store.search(collections=L2A).number_matched == 5


def test_paging_visits_every_item_once(archive: Path) -> None:
    store = LocalArchive(archive)
    seen: list[str] = []
    token = None
    while True:
        page = store.search(limit=2, token=token)
        assert page.number_matched == 5
        seen += _ids(page)
        token = page.next_token
        if token is None:
            break
    assert seen == _ids(store.search(limit=10))


@pytest.mark.parametrize(
    "sortby",
    [
        "-datetime",
        "-properties.datetime",
        ["-datetime"],
        [{"field": "datetime", "direction": "desc"}],
    ],
)
def test_sortby_descending_datetime(archive: Path, sortby: Any) -> None:
    page = LocalArchive(archive).search(sortby=sortby)
    dates = [item["properties"]["datetime"] for item in page.items]
    assert dates == sorted(dates, reverse=True)


def test_sortby_id_with_a_space_for_plus(archive: Path) -> None:
    page = LocalArchive(archive).search(sortby=" id")
    assert _ids(page) == sorted(_ids(page))


@pytest.mark.parametrize("limit", [5000, "5000", "99999999999999999999999"])
def test_a_limit_above_the_maximum_is_the_maximum(archive: Path, limit: Any) -> None:
    assert query.parse_limit(limit) == query.MAX_LIMIT
    assert len(LocalArchive(archive).search(limit=limit).items) == 5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": [0, 10, 1, 5]}, "bbox"),
        ({"bbox": [0, 0, 200, 1]}, "bbox"),
        ({"bbox": "nan,0,1,1"}, "bbox"),
        ({"bbox": ["0", 0, 1, 1]}, "bbox"),
        ({"intersects": "{not json"}, "intersects"),
        ({"intersects": {"type": "Feature"}}, "intersects"),
        ({"intersects": {"type": "Polygon", "coordinates": [[1, 2]]}}, "intersects"),
        (
            {"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0, 0]}},
            "intersects",
        ),
        ({"datetime": "yesterday"}, "datetime"),
        ({"datetime": "2020-13-01"}, "datetime"),
        ({"datetime": "../.."}, "datetime"),
        ({"datetime": "2020-02-01/2020-01-01"}, "datetime"),
        ({"datetime": "2020/2021/2022"}, "datetime"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": "\u00b2"}, "limit"),
        ({"limit": "-99999999999999999999999"}, "limit"),
        ({"bbox": [10**400, 0, 1, 1]}, "bbox"),
        ({"sortby": [{"field": ["datetime"]}]}, "sortby"),
        ({"intersects": {"type": "Polygon", "coordinates": [[["a", "b"]]]}}, "intersects"),
        ({"token": "page-2"}, "token"),
        ({"sortby": "eo:cloud_cover"}, "sortby"),
        ({"sortby": [{"field": "datetime", "direction": "up"}]}, "sortby"),
        ({"collections": [1, 2]}, "collections"),
        ({"ids": {"a": 1}}, "ids"),
    ],
)
def test_it_rejects_bad_parameters(archive: Path, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(SearchError) as caught:
        LocalArchive(archive).search(**kwargs)
    assert caught.value.field == field


def test_it_sees_added_changed_and_removed_items(
    archive: Path, sources: dict[str, dict[str, Any]]
) -> None:
    store = LocalArchive(archive)
    assert store.search().number_matched == 5
    added = _write(archive, L2A, shifted_item(sources["es"], 15))
    assert store.search().number_matched == 6
    item = json.loads(added.read_text())
    item["properties"]["eo:cloud_cover"] = 99.0
    added.write_text(json.dumps(item))
    stat = added.stat()
    os.utime(added, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert store.item(L2A, item["id"])["properties"]["eo:cloud_cover"] == 99.0  # type: ignore[index]
    shutil.rmtree(added.parent)
    assert store.search().number_matched == 5


def test_with_a_rescan_interval_a_new_item_is_served_once_it_has_passed(
    archive: Path, sources: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(store_module, "monotonic", lambda: clock[0])
    store = LocalArchive(archive, rescan_s=1.0)
    assert store.search().number_matched == 5
    _write(archive, L2A, shifted_item(sources["es"], 15))
    clock[0] += 0.9
    assert store.search().number_matched == 5  # the look of 0.9 s ago still holds
    clock[0] += 0.1
    assert store.search().number_matched == 6


def test_it_parses_only_changed_files(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalArchive(archive)
    store.search()
    calls: list[str] = []
    load = store_module._load_entry

    def counting(path: str, collection: str) -> Any:
        calls.append(path)
        return load(path, collection)

    monkeypatch.setattr(store_module, "_load_entry", counting)
    store.search()
    assert calls == []
    touched = archive / L2A / "S2A_29RKH_20200224_0_L2A" / "S2A_29RKH_20200224_0_L2A.json"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    store.search()
    assert calls == [str(touched)]


def test_broken_item_files_are_left_out(archive: Path, sources: dict[str, dict[str, Any]]) -> None:
    (archive / L2A / "half-written").mkdir()
    (archive / L2A / "half-written" / "half-written.json").write_text('{"type": "Feat')
    misnamed = shifted_item(sources["es"], 20)
    folder = archive / L2A / "another-name"
    folder.mkdir()
    (folder / "another-name.json").write_text(json.dumps(misnamed))
    (archive / L2A / "no-json-yet").mkdir()
    assert LocalArchive(archive).search().number_matched == 5


def test_an_item_with_a_datetime_range_matches_overlapping_intervals(
    tmp_path: Path, sources: dict[str, dict[str, Any]]
) -> None:
    item = shifted_item(sources["es"], 0)
    item["properties"].update(
        datetime=None, start_datetime="2020-01-01T00:00:00Z", end_datetime="2020-01-31T00:00:00Z"
    )
    _write(tmp_path, L2A, item)
    store = LocalArchive(tmp_path)
    assert store.search(datetime="2020-01-15T00:00:00Z").number_matched == 1
    assert store.search(datetime="2020-01-30/2020-03-01").number_matched == 1
    assert store.search(datetime="2020-02-01/..").number_matched == 0
    collection = store.collection(L2A)
    assert collection is not None
    assert collection["extent"]["temporal"]["interval"] == [
        ["2020-01-01T00:00:00Z", "2020-01-31T00:00:00Z"]
    ]


def test_format_datetime_writes_utc_with_z() -> None:
    moment = datetime(2020, 2, 19, 11, 34, 25, tzinfo=UTC)
    assert store_module.format_datetime(moment) == "2020-02-19T11:34:25Z"
