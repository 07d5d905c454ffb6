"""Mosaics published in the catalogue, in a real headless Chromium: anyone browses the demo
mosaics, opens one, downloads a file; a CLMS family links its official page; staff publish a
finished mosaic from its product page.

Screenshots test-artifacts/65-… to 69-… (look at them).
"""

from __future__ import annotations

import hashlib
import time

import pytest
import requests

from tests.browser.chromium import log_in, shot
from tests.conftest import TEST_AOI_BBOX
from tests.hubstack import manage, running_hub

pytestmark = [pytest.mark.browser, pytest.mark.heavy]

MOSAICS = "sentinel-2-global-mosaic"
ORDER = {"name": "carlow-june", "aoi": list(TEST_AOI_BBOX), "period": "month",
         "start": "2023-06-01", "resolution": 60, "crs": "UTM", "format": "GTiff",
         "bands": ["B02", "B03", "B04"]}


def finished_order(hub: dict) -> str:
    """A small order of the hub's user, placed through the API and waited for."""
    headers = {"Authorization": f"Token {hub['token']}"}
    placed = requests.post(f"{hub['base']}/api/v1/mosaics", json=ORDER, headers=headers,
                           timeout=30)
    assert placed.status_code == 201, placed.text
    url = f"{hub['base']}/api/v1/mosaics/{placed.json()['id']}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = requests.get(url, headers=headers, timeout=30).json()["status"]
        if status not in ("QUEUED", "RUNNING"):
            assert status == "DONE", status
            return placed.json()["id"]
        time.sleep(1)
    raise AssertionError("the order did not finish within 240 s")


def test_published_mosaics_are_public_and_staff_publish_more(browser, tmp_path,  # noqa: F811
                                                             demo_archive):
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        published = manage(hub["env"], "publish_demo_mosaics", "--owner", hub["user"])
        assert published.count(" created in Sentinel-2 Global Mosaic") == 2, published
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)

        # Anyone, without an account: the catalogue, the family, an item, a file.
        page.goto(hub["base"] + "/catalogue/")
        row = page.locator(f"tr[data-family={MOSAICS}]")
        assert row.locator("td").last.text_content().strip().startswith("2")
        row.locator("a").first.click()
        page.wait_for_selector("table.items")
        identifiers = page.eval_on_selector_all("tr[data-item]",
                                                "rows => rows.map(r => r.dataset.item)")
        assert [i[:9] for i in identifiers] == ["S2GM_M20_", "S2GM_Q20_"]
        shot(page, "65-catalogue-published-mosaics")

        page.locator("td.identifier a").first.click()
        page.wait_for_selector("#product-map img.quicklook")
        page.wait_for_function("document.querySelector('#product-map img.quicklook')"
                               ".naturalWidth > 0")
        assert page.text_content("h1") == identifiers[0]
        names = page.eval_on_selector_all("#item-files tr[data-file]",
                                          "rows => rows.map(r => r.dataset.file)")
        assert "metadata.json" in names and any(n.startswith("quicklook_") for n in names)
        assert "EPSG:32629" in page.text_content("#item-facts")
        shot(page, "66-catalogue-published-item")

        bands = page.locator("#item-files tr[data-file^='bands_']")
        listed = bands.locator("code").text_content()
        with page.expect_download() as info:
            bands.locator("a").click()
        saved = tmp_path / "bands.tif"
        info.value.save_as(saved)
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == listed
        href = hub["base"] + (bands.locator("a").get_attribute("href") or "")
        resumed = requests.get(href, headers={"Range": "bytes=100-"}, timeout=30)
        assert resumed.status_code == 206 and resumed.content == saved.read_bytes()[100:]

        page.goto(hub["base"] + "/catalogue/families/ndvi/")
        official = page.locator("#product-page")
        assert (official.get_attribute("href") or "").startswith(
            "https://land.copernicus.eu/en/products/vegetation/")
        assert page.locator("table.documents a[rel=external]").count() == 3
        shot(page, "67-catalogue-family-official-page")

        # Staff publish a finished mosaic of their own from its product page.
        manage(hub["env"], "shell", "-c",
               "from django.contrib.auth import get_user_model; "
               f"get_user_model().objects.filter(username='{hub['user']}').update(is_staff=True)")
        request_id = finished_order(hub)
        log_in(page, hub)
        page.goto(f"{hub['base']}/requests/{request_id}/")
        page.wait_for_selector("#product-map img.quicklook")
        assert page.input_value("#publish select") == MOSAICS
        shot(page, "68-product-page-publish")
        page.click("#publish button[type=submit]")
        page.wait_for_url(f"**/catalogue/families/{MOSAICS}/items/**")
        assert "created in Sentinel-2 Global Mosaic" in page.text_content("main")
        assert "carlow-june" in page.text_content("h1")
        page.wait_for_selector("#product-map img.quicklook")
        shot(page, "69-catalogue-item-just-published")
        page.goto(f"{hub['base']}/requests/{request_id}/")
        assert page.locator("#published a").text_content().startswith("S2GM_M60_")
