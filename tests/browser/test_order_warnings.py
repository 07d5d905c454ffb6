"""Before ordering, in a real headless Chromium: the share of the AOI that scenes cover, the
likely mistake where little or nothing is covered (coordinates the wrong way round, a period
without data, a place outside the archive), and a question before such an order is placed.

Screenshots go to test-artifacts/ (look at them).
"""

from __future__ import annotations

import numpy as np
import pytest
import requests
from rasterio.io import MemoryFile

from compositing.products.quicklook import NO_OBSERVATION_HATCH
from tests.browser.chromium import ARTIFACTS, log_in, order, shot
from tests.conftest import TEST_AOI_BBOX
from tests.hubstack import running_hub

pytestmark = [pytest.mark.browser, pytest.mark.heavy]


def _aoi(page, text: str) -> None:
    page.fill("#id_aoi", text)
    page.dispatch_event("#id_aoi", "change")


def _warning_says(page, text: str) -> str:
    page.wait_for_function(
        "(t) => { const w = document.querySelector('#order-warning');"
        " return !w.hidden && w.textContent.includes(t); }", arg=text)
    return page.text_content("#order-warning")


def test_the_preview_warns_before_a_wasteful_order(browser, tmp_path, demo_archive):
    west, south, east, north = TEST_AOI_BBOX
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        log_in(page, hub)
        page.goto(hub["base"] + "/requests/new/")
        page.wait_for_selector(".leaflet-container")
        # Offline, every map shows land, sea and borders (Natural Earth, vendored from npm)
        # and credits OpenStreetMap only for tiles that loaded.
        page.wait_for_selector("#aoi-map[data-basemap='natural-earth'][data-osm='off']")
        assert "OpenStreetMap" not in page.text_content("#aoi-map .leaflet-control-attribution")
        # The archive's scene footprints: where ordering makes sense.
        page.wait_for_selector("#aoi-map[data-footprints]")
        assert int(page.get_attribute("#aoi-map", "data-footprints")) > 0
        shot(page, "39-order-map-offline-basemap")
        page.fill("#id_start", "2023-06-01")
        page.dispatch_event("#id_start", "change")

        # Latitude first: read as longitude, latitude it is in the Indian Ocean.
        _aoi(page, f"{south},{west},{north},{east}")
        assert "latitude, longitude" in _warning_says(page, "exchanged")
        shot(page, "40-order-warning-swapped")

        # A WKT polygon in the Atlantic: no scene anywhere in time.
        _aoi(page, "POLYGON ((-20 50, -19.9 50, -19.9 50.1, -20 50.1, -20 50))")
        _warning_says(page, "outside every footprint")
        shot(page, "41-order-warning-outside")

        # The demo area a year before the archive's scenes.
        _aoi(page, ",".join(map(str, TEST_AOI_BBOX)))
        page.fill("#id_start", "2022-06-01")
        page.dispatch_event("#id_start", "change")
        assert "other times" in _warning_says(page, "no scene over this area in this period")
        shot(page, "42-order-warning-period")

        # In the period, fully covered: no warning, the share in the summary.
        page.fill("#id_start", "2023-06-01")
        page.dispatch_event("#id_start", "change")
        page.wait_for_function(
            "document.querySelector('#order-summary').textContent.includes('100% covered')")
        assert page.is_hidden("#order-warning")

        # Mostly outside the scenes: ordering asks first; declining places nothing.
        width, height = east - west, north - south
        _aoi(page, f"{west},{south},{east + 3 * width},{north + 3 * height}")
        assert "Only" in _warning_says(page, "of the area has scenes in this period")
        shot(page, "43-order-warning-partial")
        # The confirmation step repeats the warning; Cancel places nothing.
        text = order(page, generate=False)
        assert "Only" in text and "of the area has scenes in this period" in text
        assert page.is_hidden("#order-confirm")
        assert "/requests/new/" in page.url
        listed = requests.get(hub["base"] + "/api/v1/mosaics", timeout=10,
                              headers={"Authorization": f"Token {hub['token']}"}).json()
        assert listed["results"] == []

        # Generate places the order.
        order(page)
        page.wait_for_url("**/requests/")

        # Where no scene was, the quicklook is hatched, as its legend says.
        page.wait_for_selector("tr[data-status=DONE]", timeout=180_000)
        page.locator("td.name a").first.click()
        page.wait_for_function("document.querySelector('#product-map img.quicklook')"
                               "?.naturalWidth > 0")
        legend = page.locator("ul.legend li").all_text_contents()
        assert "transparent: outside the ordered area" in legend[0]
        assert "hatched grey: no valid observation" in legend[1]
        shot(page, "49-quicklook-hatched-where-no-scene")
        src = page.evaluate("document.querySelector('#product-map img.quicklook').src")
        png = requests.get(src, timeout=30,
                           cookies={c["name"]: c["value"] for c in page.context.cookies()})
        assert png.status_code == 200
        with MemoryFile(png.content) as mem, mem.open() as ql:
            red, green, blue, alpha = ql.read().astype(int)
        greys = {dark for dark, _, _ in NO_OBSERVATION_HATCH} | {
            light for _, light, _ in NO_OBSERVATION_HATCH}
        hatched = (alpha == 255) & (red == green) & (green == blue) & np.isin(red, list(greys))
        # The scenes cover about a sixteenth of the area ordered.
        assert hatched.mean() > 0.5


def test_the_period_grid_greys_out_periods_without_scenes(browser, tmp_path, demo_archive):
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        log_in(page, hub)
        page.goto(hub["base"] + "/requests/new/")
        page.fill("#id_start", "2023-03-10")
        _aoi(page, ",".join(map(str, TEST_AOI_BBOX)))
        page.wait_for_selector("#period-grid:not([hidden]) .by-month .period-cell")
        cells = page.locator("#period-grid .period-cell")
        assert cells.count() == 12
        # The demo archive's twelve scenes are all in June: every other month is greyed.
        enabled = page.locator("#period-grid .period-cell:not([disabled])")
        assert enabled.count() == 1 and enabled.get_attribute("data-start") == "2023-06-01"
        assert enabled.locator(".count").text_content() == "12"
        assert "greyed periods have none" in page.text_content(".period-grid-note")
        page.locator("#period-grid .period-cell.selected", has_text="Mar").wait_for()
        # Picking June sets the start date; the preview follows.
        enabled.click()
        assert page.input_value("#id_start") == "2023-06-01"
        page.wait_for_function(
            "document.querySelector('#order-summary').textContent.includes('12 L2A scenes')")
        page.locator("#period-grid .period-cell.selected", has_text="Jun").wait_for()
        shot(page, "46-period-grid-month")
        # Ten-day periods: three a month, June's first, second and last have scenes.
        page.select_option("#id_period", "tenday")
        page.wait_for_selector("#period-grid .by-tenday .period-cell")
        assert page.locator("#period-grid .period-cell").count() == 36
        june = page.locator("#period-grid .period-row", has_text="Jun")
        assert june.locator(".period-cell:not([disabled])").count() >= 2
        shot(page, "47-period-grid-tenday")
        page.select_option("#id_period", "day")
        page.wait_for_selector("#period-grid .by-day .period-cell")
        assert page.locator("#period-grid .period-cell").count() == 365
        assert page.locator("#period-grid .period-cell:not([disabled])").count() == 6
        shot(page, "48-period-grid-day")
        # A custom period has no grid.
        page.select_option("#id_period", "custom")
        page.wait_for_selector("#period-grid", state="hidden")

        # The spectral indices have a group of their own beside the other layers.
        indices = page.locator("[aria-labelledby=aux-index-title] input[name=aux]")
        assert indices.count() == 8
        assert "ndvi" in indices.evaluate_all("(boxes) => boxes.map((b) => b.value)")
        page.locator("#group-layers").scroll_into_view_if_needed()
        page.locator("#group-layers").screenshot(path=str(ARTIFACTS / "52-order-index-layers.png"))
