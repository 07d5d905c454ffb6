"""An archive whose files are served over HTTP (nginx on loopback, Range requests) composes the
same product, pixel for pixel, as the same files read from disk."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import rasterio

from compositing.archive.archives import load_archives
from compositing.archive.network import NETWORK_OPTIONS, configure_network
from compositing.archive.read import close_datasets
from compositing.archive.scenes import ArchiveDataError
from compositing.orders.spec import parse_spec
from compositing.pipeline import REMOTE_READ_AHEAD, plan_mosaic, run_mosaic
from hub.mosaics.services import mosaic_settings
from tests.archive_files import assert_same_rasters, rasters, write_archives_file
from tests.conftest import TEST_AOI_BBOX
from tests.webserver import nginx_serving

pytestmark = [pytest.mark.heavy, pytest.mark.django_db]  # nginx, and two orders

ORDER = {"aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
         "resolution": 20, "crs": "EPSG:32629", "bands": ["B02", "B04", "B08", "B11"],
         "aux": ["source_index", "valid_obs", "method", "quality_scene_classification",
                 "quality_aot", "view_zenith_mean", "quality_cloud_confidence"],
         "name": "remote"}


def order_from_archive(settings, tmp_path: Path, name: str, **fields: object):
    """The test order read from one archive defined by `fields` (an operator's archives file):
    its result, or the ArchiveDataError it failed with; datasets closed after."""
    file = write_archives_file(tmp_path / f"{name}.toml", name, **fields)
    settings.HUB_ARCHIVES = load_archives(name, file)
    try:
        return run_mosaic(parse_spec(ORDER), mosaic_settings(), tmp_path / name, name)
    except ArchiveDataError as exc:
        return exc
    finally:
        close_datasets()


def test_a_composite_read_over_http_equals_the_one_read_from_disk(settings, hub_dirs,
                                                                   tmp_path: Path) -> None:
    spec = parse_spec(ORDER)
    # Small chunks: several are read ahead of the one composed (two from a remote archive).
    chunked = replace(mosaic_settings(), chunk_size=48)
    local = run_mosaic(spec, chunked, tmp_path / "local", "local")
    close_datasets()
    assert local.chunks >= 4 and plan_mosaic(spec, chunked).read_ahead == 1
    with nginx_serving(hub_dirs["archive"], tmp_path / "nginx") as web:
        file = write_archives_file(tmp_path / "archives.toml", "web", preset="local",
                                   href_rewrites=[[f"{hub_dirs['archive']}/", f"{web.base}/"]])
        settings.HUB_ARCHIVES = load_archives("web", file)
        chunked = replace(mosaic_settings(), chunk_size=48)
        assert plan_mosaic(spec, chunked).read_ahead == REMOTE_READ_AHEAD > 1
        remote = run_mosaic(spec, chunked, tmp_path / "remote", "remote")
        close_datasets()
        served = web.requests()
    assert_same_rasters(local.folder, remote.folder)
    assert len(rasters(local.folder)) >= 5
    # Every input came over HTTP, by ranges: no file was downloaded whole to be read.
    tifs = [r for r in served if r.path.endswith(".tif")]
    assert {Path(r.path).name for r in tifs} >= {"B02.tif", "B04.tif", "SCL.tif", "B11.tif"}
    assert all(r.status == 206 and r.range.startswith("bytes=") for r in tifs
               if r.method == "GET"), [r for r in tifs if r.status != 206][:5]
    assert any(r.path.endswith("angles.json") and r.status == 200 for r in served)


def test_a_worker_s_next_order_over_a_tile_opens_no_file_to_lay_out_its_chunks(
        settings, hub_dirs, tmp_path: Path) -> None:
    """The chunk layout follows the files' block grid; a process finds it once per tile of
    an archive, not again for every order (round trips before the first chunk)."""
    with nginx_serving(hub_dirs["archive"], tmp_path / "nginx") as web:
        file = write_archives_file(tmp_path / "archives.toml", f"web-{tmp_path.name}",
                                   preset="local",
                                   href_rewrites=[[f"{hub_dirs['archive']}/", f"{web.base}/"]])
        settings.HUB_ARCHIVES = load_archives(f"web-{tmp_path.name}", file)
        chunked = replace(mosaic_settings(), chunk_size=48)
        first = plan_mosaic(parse_spec({**ORDER, "period": "tenday", "start": "2023-06-01"}),
                            chunked)
        opened = {r.path for r in web.requests() if r.path.endswith(".tif")}
        assert opened, "the first plan looked at the central granule's files"
        second = plan_mosaic(parse_spec({**ORDER, "period": "tenday", "start": "2023-06-11"}),
                             chunked)
        assert {r.path for r in web.requests() if r.path.endswith(".tif")} == opened
    # Other granules of the same tiles, laid out alike.
    assert ({s.id for o in first.observations for s in o.scenes}
            .isdisjoint(s.id for o in second.observations for s in o.scenes))
    assert second.layout == first.layout and second.chunk_count > 1


def test_the_network_options_are_the_hub_s_unless_the_operator_set_them() -> None:
    env = {"GDAL_HTTP_TIMEOUT": "5"}
    options = configure_network(env)
    assert options["GDAL_HTTP_TIMEOUT"] == "5"  # the operator's
    assert options["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"  # on remote paths only
    assert set(options) == {*NETWORK_OPTIONS, "GDAL_DISABLE_READDIR_ON_OPEN"}
    assert "GDAL_DISABLE_READDIR_ON_OPEN" not in env  # local files keep their sidecars


def test_remote_files_are_opened_without_looking_for_sidecars(hub_dirs, tmp_path: Path
                                                              ) -> None:

    from compositing.archive import files  # noqa: F401 - sets the hub's network options

    scene = next(p for p in (hub_dirs["archive"] / "sentinel-2-l2a").iterdir() if p.is_dir())
    with nginx_serving(scene.resolve(), tmp_path / "nginx") as web:
        with rasterio.open(f"{web.base}/B04.tif") as src:
            src.read(1, window=((0, 4), (0, 4)))
        served = web.requests()
    assert {r.path for r in served} == {"/B04.tif"}, served  # no folder, no .aux.xml, .msk


def test_angle_grids_are_read_from_a_granule_s_remote_mtd_tl_xml(shared_data: Path,
                                                                 tmp_path: Path) -> None:
    """Other catalogues list the granule's MTD_TL.xml (granule_metadata): read over HTTP as
    the rasters are, it gives the grids ingest takes from a SAFE."""
    from compositing.archive.angles import angle_grids, load_angles

    folder = shared_data / "real" / "safe_metadata"
    name = "S2A_MSIL2A_20230821T221941_N0509_R029_T01KAB_20230822T021825__MTD_TL.xml"
    with nginx_serving(folder.resolve(), tmp_path / "nginx") as web:
        remote = load_angles(f"{web.base}/{name}")
        assert angle_grids(f"{web.base}/{name}") is not None
        served = web.requests()
    assert remote == load_angles(str(folder / name))
    assert remote["crs"] == "EPSG:32701" and remote["sun_zenith"]
    # GDAL looks at the folder once before reading a whole file (nginx refuses to list it).
    assert [r.status for r in served if r.path.endswith(name)] and all(
        r.status in (200, 206) for r in served if r.path.endswith(name))
