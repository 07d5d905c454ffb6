"""A person uses the user area in a real headless Chromium: the request list and its filter,
a finished product's page with the quicklook on the map, re-ordering, expiry and API tokens.

Screenshots go to test-artifacts/ (look at them).
"""

from __future__ import annotations

import pytest
import requests

from tests.browser.chromium import log_in, shot
from tests.conftest import TEST_AOI_BBOX
from tests.hubstack import manage, running_hub

pytestmark = [pytest.mark.browser, pytest.mark.heavy]

ORDER = {"aoi": list(TEST_AOI_BBOX), "period": "month", "start": "2023-06-01",
         "resolution": 60, "crs": "UTM", "format": "GTiff", "bands": ["B02", "B03", "B04"],
         "aux": ["valid_obs", "source_index"], "metadata": ["json", "inspire"]}


def order(hub: dict, name: str) -> str:
    response = requests.post(f"{hub['base']}/api/v1/mosaics", json={**ORDER, "name": name},
                             headers={"Authorization": f"Token {hub['token']}"}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_person_filters_opens_a_product_reorders_and_manages_tokens(browser, tmp_path,  # noqa: F811
                                                                        demo_archive):
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, hub)
        meath = order(hub, "meath-june")
        other = order(hub, "kildare-june")
        page.goto(hub["base"] + "/requests/")
        page.evaluate("window.notReloaded = true")
        shot(page, "user-area-0-my-requests-live")
        # The polling script brings every row to DONE in place, with its files and quicklook.
        page.wait_for_function("[...document.querySelectorAll('tr[data-request]')]"
                               ".every((row) => row.dataset.status === 'DONE')", timeout=240_000)
        meath_row = page.locator(f"tr[data-request='{meath}']")
        meath_row.locator("td.thumb img").wait_for()
        assert page.evaluate("window.notReloaded === true")
        assert "8 files" in meath_row.locator("td.files").text_content()
        assert "expires" in meath_row.locator(".expiry").text_content()
        assert meath_row.locator(".reorder").is_visible()
        assert not meath_row.locator(".cancel").is_visible()

        # Let the second product expire now, as the scheduled task would after the retention.
        manage(hub["env"], "shell", "-c",
               "from django.utils import timezone; from hub.mosaics.models import MosaicRequest; "
               f"MosaicRequest.objects.filter(pk='{other}').update(expires_at=timezone.now())")
        assert "1 product(s) expired" in manage(hub["env"], "expire_products")
        page.reload()
        assert page.locator("tr[data-request]").count() == 2
        expired_row = page.locator(f"tr[data-request='{other}']")
        assert "expired on" in expired_row.locator(".expiry").text_content()
        assert expired_row.locator("td.thumb img").count() == 0
        page.wait_for_function(
            f"document.querySelector(\"tr[data-request='{meath}'] td.thumb img\").naturalWidth > 0")
        shot(page, "user-area-1-my-requests")
        expired_row.locator("td.name a").click()
        page.wait_for_selector("#product-map path.leaflet-interactive")
        assert page.locator("text=files were removed when it expired").count() == 1
        assert page.locator("#product-map img.quicklook").count() == 0
        shot(page, "user-area-1b-expired-product")
        page.go_back()

        page.fill("#request-filter", "MEATH")
        page.press("#request-filter", "Enter")
        page.wait_for_url("**/requests/?q=MEATH")
        assert page.locator("tr[data-request]").count() == 1
        assert page.input_value("#request-filter") == "MEATH"
        shot(page, "user-area-2-filtered")

        page.locator("td a", has_text="meath-june").first.click()
        page.wait_for_selector("#product-map img.quicklook")
        page.wait_for_function(
            "(() => { const i = document.querySelector('#product-map img.quicklook');"
            " return i.naturalWidth > 0 && i.style.transform.startsWith('matrix'); })()")
        image = page.locator("#product-map img.quicklook").bounding_box()
        outline = page.locator("#product-map path.leaflet-interactive").bounding_box()
        map_box = page.locator("#product-map").bounding_box()
        # The quicklook covers the ordered area (its grid is the AOI snapped outwards).
        assert image["width"] > 100 and image["height"] > 100
        for box in (image, outline):
            assert map_box["x"] <= box["x"]
            assert box["x"] + box["width"] <= map_box["x"] + map_box["width"]
        assert abs(image["x"] - outline["x"]) < 0.1 * outline["width"]
        assert abs(image["width"] - outline["width"]) < 0.15 * outline["width"]
        assert page.locator("text=EPSG:32629 (WGS 84 / UTM zone 29N)").count() == 1
        assert page.locator("a", has_text="INSPIRE metadata").count() == 1
        shot(page, "user-area-3-product")

        page.click("a.reorder")
        page.wait_for_url("**/requests/new/?from=*")
        assert page.input_value("#id_name") == "meath-june"
        assert '"Polygon"' in page.input_value("#id_aoi")
        shot(page, "user-area-4-reorder-prefilled")

        page.click("header a:has-text('API tokens')")
        page.fill("#id_name", "download script")
        page.click("text=Create token")
        key = page.input_value("#new-token-key")
        assert requests.get(f"{hub['base']}/api/v1/mosaics", timeout=30,
                            headers={"Authorization": f"Token {key}"}).status_code == 200
        shot(page, "user-area-5-token-created")
        page.locator("tr", has_text="download script").locator("button.revoke").click()
        page.wait_for_selector("text=revoked")
        assert requests.get(f"{hub['base']}/api/v1/mosaics", timeout=30,
                            headers={"Authorization": f"Token {key}"}).status_code == 401
        shot(page, "user-area-6-token-revoked")


def test_the_list_keeps_the_page_width_and_comes_in_pages(browser, tmp_path, demo_archive):
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        # 25 failed orders (the worker has nothing to do with them).
        manage(hub["env"], "shell", "-c",
               "from django.contrib.auth.models import User; "
               "from hub.mosaics.models import MosaicRequest, Status; "
               "from hub.mosaics.services import read_order; "
               "from tests.conftest import TEST_AOI_BBOX; "
               "spec = read_order({'aoi': list(TEST_AOI_BBOX), 'start': '2023-06-01', "
               "'resolution': 20, 'crs': 'UTM', 'bands': ['B02', 'B03', 'B04']}); "
               f"owner = User.objects.get(username='{hub['user']}'); "
               "[MosaicRequest.objects.create(owner=owner, name=f'failed-{n:02d}', "
               "options=spec.to_json(), status=Status.FAILED, error='no L2A observations over "
               "the AOI from 2023-06-01 to 2023-06-30 in archive local: the archive was "
               "emptied while the order waited') for n in range(25)]")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, hub)
        page.goto(hub["base"] + "/requests/new/")
        form_width = page.locator("main").bounding_box()["width"]
        page.goto(hub["base"] + "/requests/")
        # The same width as every other page, and the table fits in it.
        assert page.locator("main").bounding_box()["width"] == form_width
        assert page.evaluate("(() => { const s = document.querySelector('.table-scroll');"
                             " return s.scrollWidth <= s.clientWidth; })()")
        assert page.locator("tr[data-request]").count() == 20
        assert "Page 1 of 2 · requests 1–20 of 25" in page.text_content("nav.pager")
        shot(page, "50-my-requests-page-1")
        page.click("nav.pager a[rel=next]")
        page.wait_for_url("**/requests/?page=2")
        assert page.locator("tr[data-request]").count() == 5
        # A failed row links to its page, which says why.
        page.locator("tr[data-name='failed-00'] a.why").click()
        page.wait_for_url("**/requests/*/")
        assert "the archive was emptied while the order waited" in page.text_content("main")
        shot(page, "51-failed-request-page")
