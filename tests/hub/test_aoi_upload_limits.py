"""Hostile AOI uploads through the real endpoint: refused with a 400 naming `aoi_file`, nothing
stored, and no temporary upload file left behind."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hub.mosaics.models import MosaicRequest
from tests.compositing.orders.test_aoi_files import SQUARE, clockwise, shp_bytes, zipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload_dir(settings, tmp_path):
    """Where Django spools uploads over FILE_UPLOAD_MAX_MEMORY_SIZE, to see it emptied."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    return tmp_path


def refused(client, name: str, data: bytes) -> str:
    response = client.post("/requests/aoi-upload",
                           {"aoi_file": SimpleUploadedFile(name, data)})
    assert response.status_code == 400 and response.json()["field"] == "aoi_file"
    return response.json()["error"]


def zip_bomb(size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z, z.open(
            "bomb.shp", "w", force_zip64=True) as member:
        for _ in range(size // (1024 * 1024)):
            member.write(bytes(1024 * 1024))
    return out.getvalue()


def test_hostile_uploads_are_refused_naming_the_field_and_leave_nothing(client, alice,
                                                                        upload_dir):
    client.force_login(alice)
    empty_shps = zipped({f"d/{i}.shp": shp_bytes([]) for i in range(30_000)})
    assert len(empty_shps) > 3_000_000  # spooled to FILE_UPLOAD_TEMP_DIR, not kept in memory
    assert "holds 30,000 files, over the limit of 200" in refused(client, "many.zip", empty_shps)
    assert "unpacks to 1074 MB" in refused(client, "bomb.zip", zip_bomb(1024 * 1024 * 1024))
    deep = b"<kml>" + b"<a>" * 1_000_000 + b"</a>" * 1_000_000 + b"</kml>"
    assert "nests elements more than 64 deep" in refused(client, "deep.kml", deep)
    assert list(upload_dir.iterdir()) == [] and not MosaicRequest.objects.exists()


def test_the_member_limit_is_the_hub_max_upload_members_setting(client, alice, settings):
    client.force_login(alice)
    layer = zipped({"a.shp": shp_bytes([[clockwise(SQUARE)]]), "a.shx": b"", "a.dbf": b""})
    settings.HUB_MAX_UPLOAD_MEMBERS = 2
    assert "holds 3 files, over the limit of 2" in refused(client, "a.zip", layer)
    settings.HUB_MAX_UPLOAD_MEMBERS = 3
    response = client.post("/requests/aoi-upload", {"aoi_file": SimpleUploadedFile("a.zip", layer)})
    assert response.status_code == 200 and response.json()["polygons"] == 1
