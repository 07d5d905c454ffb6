"""Several archives in priority order, searched through real STAC APIs on loopback: this
hub's own, and a second hub serving a mirror whose items name their assets as Earth Search
does. A granule in both is read from the first; what only the second holds comes from it; the
order preview counts each, the order form's date span covers both, and an archive that cannot
be reached fails an order clearly instead of leaving its scenes out."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from shapely.geometry import box

from compositing.archive.archives import PRESETS, load_archives
from compositing.archive.scenes import ArchiveDataError, search_scenes
from compositing.demo.archive import DEMO_END, DEMO_START
from hub.mosaics.operator import archive_interval, archives
from hub.stac.views import local_interval
from tests.conftest import TEST_AOI_BBOX
from tests.hubstack import free_port, running_hub

pytestmark = [pytest.mark.heavy, pytest.mark.django_db]  # a second hub in gunicorn
COLLECTION = "sentinel-2-l2a"
LATE = date(2023, 7, 15)  # after the local archive's last acquisition


def _copy_item(src: Path, dst_root: Path, *, days: int = 0, when: date | None = None) -> str:
    """Copy a scene folder into dst_root with its assets keyed as Earth Search keys them;
    `days`/`when` move it to another datatake (a granule the source archive lacks)."""
    item = json.loads((src / f"{src.name}.json").read_text())
    sensed = datetime.fromisoformat(item["properties"]["datetime"].replace("Z", "+00:00"))
    if when is not None:
        sensed = sensed.replace(year=when.year, month=when.month, day=when.day)
    sensed += timedelta(days=days)
    if days or when:
        item["id"] = f"{item['id']}_moved_{sensed:%Y%m%d}"
        item["properties"]["datetime"] = sensed.isoformat().replace("+00:00", "Z")
        item["properties"]["s2:datatake_id"] = f"GS2A_{sensed:%Y%m%dT%H%M%S}_000001_N05.10"
    keys = {raster: common for raster, (common, _) in PRESETS["earth-search"].asset_keys.items()}
    item["assets"] = {keys.get(k, k): v for k, v in item["assets"].items() if k != "angles"}
    folder = dst_root / COLLECTION / item["id"]
    shutil.copytree(src, folder)
    (folder / f"{src.name}.json").unlink()
    (folder / f"{item['id']}.json").write_text(json.dumps(item))
    return item["id"]


@pytest.fixture(scope="module")
def mirror(demo_archive: Path, tmp_path_factory: pytest.TempPathFactory):
    """A second hub serving one granule of the demo archive again, one the demo archive lacks
    (the next day) and one after the demo's month."""
    root = tmp_path_factory.mktemp("mirror")
    scenes = sorted(p for p in (demo_archive / COLLECTION).iterdir() if p.is_dir())
    same = _copy_item(scenes[0], root)
    extra = _copy_item(scenes[1], root, days=1)
    late = _copy_item(scenes[2], root, when=LATE)
    with running_hub("embedded", tmp_path_factory.mktemp("mirror-hub"), root,
                     workers=0) as hub:
        yield {"url": hub["base"] + "/stac/", "root": root, "same": same, "extra": extra,
               "late": late, "same_source": scenes[0].name}


@pytest.fixture
def two_archives(settings, hub_dirs, mirror, tmp_path: Path):
    file = tmp_path / "archives.toml"
    file.write_text(f'[archives.mirror]\npreset = "earth-search"\nstac_url = "{mirror["url"]}"\n'
                    f'[archives.gone]\nstac_url = "http://127.0.0.1:{free_port()}/stac/"\n')
    settings.HUB_ARCHIVES = load_archives("local,mirror", file)
    return file


def test_a_granule_in_two_archives_is_read_from_the_first(two_archives, mirror, hub_dirs):
    aoi = box(*TEST_AOI_BBOX)
    local_only = search_scenes(archives()[:1], aoi, DEMO_START, DEMO_END)
    found = search_scenes(archives(), aoi, DEMO_START, DEMO_END)
    by_id = {s.id: s for s in found}
    assert len(found) == len(local_only) + 1
    assert by_id[mirror["same_source"]].archive == "local"
    assert all(s.archive == "local" for s in found if s.id != mirror["extra"])
    extra = by_id[mirror["extra"]]
    # Found through the mirror's own API, its Earth Search keys read by the preset.
    assert extra.archive == "mirror"
    assert {"B02", "B04", "B8A", "SCL", "AOT"} <= set(extra.assets)
    assert extra.assets["B04"].href.startswith(str(mirror["root"]))
    assert hub_dirs["archive"].as_posix() in by_id[mirror["same_source"]].assets["B04"].href


def _preview(client, user) -> dict:
    """The order preview of a month over the test AOI, as the form asks for it."""
    client.force_login(user)
    response = client.get("/requests/preview", {
        "aoi": ",".join(map(str, TEST_AOI_BBOX)), "period": "month", "start": "2023-06-01",
        "resolution": "20", "bands": ["B04"]})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_preview_counts_each_archive_and_the_form_spans_both(two_archives, client, alice):
    data = _preview(client, alice)
    assert data["scenes_by_archive"] == {"local": 12, "mirror": 2}
    assert data["scenes"] == 12 and "archive_errors" not in data
    local_first, local_last = local_interval()
    assert local_last < LATE
    assert archive_interval() == (local_first, LATE)  # the mirror's stated end


def test_an_unreachable_archive_is_named_in_the_preview_and_fails_an_order(
        settings, two_archives, client, alice):
    settings.HUB_ARCHIVES = load_archives("local,gone", two_archives)
    data = _preview(client, alice)
    assert data["scenes_by_archive"] == {"local": 12}
    assert list(data["archive_errors"]) == ["gone"]
    assert archive_interval() == local_interval()  # the form opens on the local span
    with pytest.raises(ArchiveDataError, match=r"the archive gone \(http://127\.0\.0\.1:\d+/stac/"
                                               r"\) could not be searched"):
        search_scenes(archives(), box(*TEST_AOI_BBOX), DEMO_START, DEMO_END)
