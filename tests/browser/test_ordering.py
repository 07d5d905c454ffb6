"""A person orders a mosaic in a real headless Chromium: map, live progress, quicklook, download.

Screenshots of each page go to test-artifacts/ (look at them).
"""

from __future__ import annotations

import hashlib

import pytest

from tests.browser.chromium import log_in, shot
from tests.conftest import TEST_AOI_BBOX
from tests.hubstack import running_hub

pytestmark = [pytest.mark.browser, pytest.mark.heavy]


def test_a_person_draws_orders_watches_and_downloads(browser, tmp_path, demo_archive):
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        page = browser.new_page(viewport={"width": 1200, "height": 1000},
                                accept_downloads=True)
        log_in(page, hub)
        page.goto(hub["base"] + "/requests/new/")
        page.wait_for_selector(".leaflet-container")
        page.fill("#id_name", "browser")
        page.fill("#id_start", "2023-06-01")
        # Type the AOI so the map zooms there, then draw a rectangle over its middle.
        page.fill("#id_aoi", ",".join(map(str, TEST_AOI_BBOX)))
        page.dispatch_event("#id_aoi", "change")
        page.wait_for_timeout(800)
        page.click(".leaflet-draw-draw-rectangle")
        box = page.locator("#aoi-map").bounding_box()
        x0, y0 = box["x"] + box["width"] * 0.42, box["y"] + box["height"] * 0.42
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x0 + box["width"] * 0.16, y0 + box["height"] * 0.16, steps=8)
        page.mouse.up()
        page.wait_for_function(
            "document.querySelector('#order-summary').textContent.includes('L2A scenes')")
        assert '"Polygon"' in page.input_value("#id_aoi")
        summary = page.text_content("#order-summary")
        assert "12 L2A scenes" in summary and "EPSG:32629" in summary
        shot(page, "01-new-mosaic")
        # The confirmation step: what the order will be, then Generate or Cancel.
        page.click("text=Order mosaic")
        page.wait_for_selector("#order-confirm[open]")
        rows = _confirmation(page)
        assert rows["Scenes"] == "12 L2A scenes"
        assert rows["Coverage"] == "100% of the area has scenes in this period"
        assert rows["Files"].endswith("one product") and rows["Size"].startswith("about ")
        assert rows["Time"] == "not measured yet: no order has finished on this hub"
        assert page.is_hidden("#order-confirm-warning")
        shot(page, "44-order-confirmation")
        page.click("#order-generate")
        page.wait_for_url("**/requests/")
        shot(page, "02-my-requests-queued")
        page.wait_for_selector("tr[data-status=DONE]", timeout=180_000)
        shot(page, "03-my-requests-done")
        page.locator("td a", has_text="browser").click()
        page.wait_for_selector("img.quicklook")
        page.wait_for_selector("#product-map[data-basemap='natural-earth'][data-osm='off']")
        # No credit for tiles that never loaded (this machine has no internet).
        assert "OpenStreetMap" not in page.text_content("#product-map .leaflet-control-attribution")
        assert page.evaluate("document.querySelector('img.quicklook').naturalWidth") > 10
        shot(page, "04-product")
        link = page.locator("a", has_text="bands_M20_20230601_browser.tif")
        with page.expect_download() as info:
            link.click()
        path = tmp_path / "downloaded.tif"
        info.value.save_as(path)
        listed = page.locator("tr", has=link).locator("code").text_content()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed

        # The same order again: its time is now estimated from the finished one; Cancel
        # places nothing.
        page.goto(hub["base"] + "/requests/new/")
        page.fill("#id_start", "2023-06-01")
        page.fill("#id_aoi", ",".join(map(str, TEST_AOI_BBOX)))
        page.dispatch_event("#id_aoi", "change")
        page.click("text=Order mosaic")
        page.wait_for_selector("#order-confirm[open]")
        rows = _confirmation(page)
        assert rows["Time"].startswith("about ")
        assert "measured on 1 finished order of" in rows["Time"]
        shot(page, "45-order-confirmation-estimated-time")
        page.click("#order-cancel")
        assert page.is_hidden("#order-confirm") and "/requests/new/" in page.url
        page.goto(hub["base"] + "/requests/")
        assert page.locator("tr[data-request]").count() == 1


def _confirmation(page) -> dict[str, str]:
    """The confirmation step's rows, by their term."""
    terms = page.locator("#order-confirm dt").all_text_contents()
    values = page.locator("#order-confirm dd").all_text_contents()
    return dict(zip(terms, values, strict=True))


def test_field_errors_appear_next_to_their_field(browser, tmp_path, demo_archive):
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        log_in(page, hub)
        page.goto(hub["base"] + "/requests/new/")
        page.fill("#id_aoi", "-7.45,52.73,-7.45,52.76")
        page.fill("#id_start", "2023-06-01")
        page.click("text=Order mosaic")
        error = page.locator("#field-aoi .error")
        assert "zero area" in error.text_content()
        shot(page, "05-new-mosaic-error")
        page.goto(hub["base"] + "/requests/")
        assert page.locator("tr[data-request]").count() == 0
