"""Every product file is hashed once, and every list of checksums holds the file's real one."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from compositing.products import naming
from compositing.products.metadata import SHA256_MULTIHASH_PREFIX
from hub.mosaics.models import Status
from hub.mosaics.services import create_request, process_request, read_order
from tests.conftest import TEST_AOI_BBOX as DEMO_AOI_BBOX

pytestmark = pytest.mark.django_db

ORDERS = {
    "geotiff": {"metadata": ["json", "inspire"]},
    # GDAL writes an .aux.xml sidecar beside each JPEG 2000 file: a product file as well.
    "jpeg2000": {"format": "JP2", "aux": ["method"]},
    "tiled": {"tiling": "mgrs", "layout": "per_layer"},
}


@pytest.mark.parametrize("changes", ORDERS.values(), ids=ORDERS.keys())
def test_each_file_is_hashed_once_and_recorded_with_its_real_checksum(
        hub_dirs, alice, monkeypatch, django_capture_on_commit_callbacks, changes):
    hashed: list[Path] = []
    real = naming.sha256_of

    def counting(path: Path, *args, **kwargs) -> str:
        hashed.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(naming, "sha256_of", counting)
    with django_capture_on_commit_callbacks(execute=False):
        req = create_request(read_order({
            "name": "sums", "aoi": list(DEMO_AOI_BBOX), "start": "2023-06-01", "period": "month",
            "resolution": 60, "crs": "UTM", "bands": ["B02", "B03", "B04"], "aux": ["valid_obs"],
            **changes}), alice)
    process_request(str(req.pk))
    req.refresh_from_db()
    assert req.status == Status.DONE, req.error

    folder = hub_dirs["media"] / req.product_folder
    # The files were made in a staging folder of the same name, moved into place after.
    staging = {a for p in hashed for a in p.parents if a.name == folder.name}
    assert len(staging) == 1 and staging != {folder}
    on_disk = {str(p.relative_to(folder)): p for p in folder.rglob("*") if p.is_file()}
    assert Counter(str(p.relative_to(*staging)) for p in hashed) == Counter(on_disk.keys())
    assert set(Counter(on_disk.keys()).values()) == {1}
    truth = {name: (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
             for name, p in on_disk.items()}

    assert {f.name: (f.size, f.sha256) for f in req.files.all()} == truth
    manifest = (folder / "manifest.sha256").read_text(encoding="utf-8").splitlines()
    listed = {name: digest for digest, name in (line.split("  ", 1) for line in manifest)}
    assert listed == {name: digest for name, (_, digest) in truth.items()
                      if name != "manifest.sha256"}
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    later = {"metadata.json", "inspire.xml", "stac_item.json", "manifest.sha256"}
    assert {f["name"]: (f["size"], f["sha256"]) for f in metadata["files"]} == {
        name: value for name, value in truth.items() if name not in later}
    item = json.loads((folder / "stac_item.json").read_text(encoding="utf-8"))
    checksums = {a["title"]: (a["file:size"], a["file:checksum"])
                 for a in item["assets"].values() if "file:checksum" in a}
    assert checksums == {name: (size, SHA256_MULTIHASH_PREFIX + digest)
                         for name, (size, digest) in truth.items()
                         if name not in {"stac_item.json", "manifest.sha256"}}
    if changes.get("format") == "JP2":
        assert any(name.endswith(".jp2.aux.xml") for name in truth)
    if changes.get("tiling") == "mgrs":
        assert any("/" in name for name in truth), "tile subfolders"
