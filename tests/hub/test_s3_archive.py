"""An archive in S3 (a real S3 API on loopback: moto's server), read through GDAL's /vsis3/
with the endpoint and credentials of that archive only, composes the product read from disk,
pixel for pixel; the angle grids come from the bucket too."""

from __future__ import annotations

import json
import os

import pytest

from compositing.archive.archives import load_archives
from compositing.archive.network import path_option
from compositing.archive.read import close_datasets
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.operator import archives
from hub.mosaics.services import mosaic_settings
from tests.archive_files import assert_same_rasters, s3_fields, write_archives_file
from tests.hub.test_remote_archive import ORDER
from tests.s3server import REGION, s3_serving

pytestmark = [pytest.mark.heavy, pytest.mark.django_db]  # an S3 server, two orders


def test_an_archive_in_s3_composes_the_product_read_from_disk(settings, hub_dirs, tmp_path,
                                                              monkeypatch):
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    # No credentials but the archive's: no shared file, no instance metadata.
    monkeypatch.setenv("CPL_AWS_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("CPL_AWS_AUTODETECT_EC2", "NO")
    monkeypatch.setenv("MIRROR_S3_KEY", "hub-reader")
    monkeypatch.setenv("MIRROR_S3_SECRET", "hub-reader-secret")
    spec = parse_spec(ORDER)
    local = run_mosaic(spec, mosaic_settings(), tmp_path / "local", "local")
    close_datasets()
    with s3_serving(hub_dirs["archive"], tmp_path / "s3", prefix="demo") as s3:
        file = write_archives_file(
            tmp_path / "archives.toml", "bucket", preset="local",
            href_rewrites=[[f"{hub_dirs['archive']}/", f"s3://{s3.bucket}/demo/"]],
            file_prefixes=[f"s3://{s3.bucket}/"], **s3_fields(s3.endpoint, REGION),
            credentials={"AWS_ACCESS_KEY_ID": "MIRROR_S3_KEY",
                         "AWS_SECRET_ACCESS_KEY": "MIRROR_S3_SECRET"})
        settings.HUB_ARCHIVES = load_archives("bucket", file)
        archives()  # as a worker's settings do: the options are set for the bucket's paths
        some_file = f"s3://{s3.bucket}/demo/x.tif"
        assert path_option(some_file, "AWS_ACCESS_KEY_ID") == "hub-reader"
        assert path_option("s3://another-bucket/x.tif", "AWS_ACCESS_KEY_ID") is None
        sessions = _counting_boto3_sessions(monkeypatch)
        remote = run_mosaic(spec, mosaic_settings(), tmp_path / "remote", "remote")
        close_datasets()
        reads = s3.get_requests()
    assert_same_rasters(local.folder, remote.folder)
    # GDAL reads the bucket with the archive's own options: rasterio built no boto3 session,
    # whose credential lookup cost most of a remote order's CPU (`network.open_raster`).
    assert sessions == []
    assert any("/B04.tif" in line and '" 206 ' in line for line in reads), reads[:5]
    assert any("/angles.json" in line for line in reads), reads[:5]


def _counting_boto3_sessions(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The paths rasterio builds an AWS (boto3) session for from now on."""
    from rasterio.session import AWSSession

    built: list[object] = []
    original = AWSSession.__init__

    def counted(self: AWSSession, *args: object, **kwargs: object) -> None:
        built.append(args or kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(AWSSession, "__init__", counted)
    return built


def test_a_safe_s_jpeg2000_files_in_s3_compose_as_on_disk(settings, tmp_path, shared_data,
                                                          monkeypatch):
    """SAFE products keep their rasters as JPEG 2000: read by window from the bucket too."""
    from compositing.archive.ingest import ingest_path
    from tests.hub.test_ingest_command import SAFE_NAME, _spec

    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CPL_AWS_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("CPL_AWS_AUTODETECT_EC2", "NO")
    archive = tmp_path / "archive"
    settings.HUB_ARCHIVE_DIR, settings.HUB_STAC_URL = archive, ""
    settings.HUB_MEDIA_ROOT = tmp_path / "media"
    safe_dir = shared_data / "real" / f"{SAFE_NAME}.SAFE"
    ingest_path(safe_dir, archive, "sentinel-2-l2a")
    item = json.loads((archive / "sentinel-2-l2a" / SAFE_NAME / f"{SAFE_NAME}.json").read_text())
    scl = item["assets"]["SCL_20m"]["href"] if "SCL_20m" in item["assets"] else next(
        a["href"] for k, a in item["assets"].items() if k.startswith("SCL"))
    in_place = scl[:scl.index(".SAFE/") + len(".SAFE/")]  # ingest reads the SAFE where it is
    spec = _spec("safe-s3")
    local = run_mosaic(spec, mosaic_settings(), tmp_path / "local", "local")
    close_datasets()
    with s3_serving(safe_dir, tmp_path / "s3", prefix=f"safe/{SAFE_NAME}.SAFE") as s3:
        file = write_archives_file(
            tmp_path / "archives.toml", "bucket", preset="local",
            href_rewrites=[[in_place, f"s3://{s3.bucket}/safe/{SAFE_NAME}.SAFE/"]],
            file_prefixes=[f"s3://{s3.bucket}/"],
            **s3_fields(s3.endpoint, REGION, AWS_ACCESS_KEY_ID="reader",
                        AWS_SECRET_ACCESS_KEY="reader"))
        settings.HUB_ARCHIVES = load_archives("bucket", file)
        remote = run_mosaic(spec, mosaic_settings(), tmp_path / "remote", "remote")
        close_datasets()
        reads = s3.get_requests()
    assert_same_rasters(local.folder, remote.folder)
    jp2 = [line for line in reads if ".jp2 " in line]
    assert any("_B04_60m.jp2" in line for line in jp2) and any("SCL_" in line for line in jp2)
    assert all('" 206 ' in line for line in jp2), jp2[:3]  # by ranges, never whole
