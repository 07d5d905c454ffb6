"""The ordering dialogue in a real headless Chromium: upload, presets, tile ids, CRS, estimate,
and the offline background (the user's own quicklooks on the map).

Screenshots go to test-artifacts/ (look at them).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.browser.chromium import ARTIFACTS, log_in, shot
from tests.conftest import TEST_AOI_BBOX
from tests.hubstack import running_hub, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.heavy]
# Filled shapes on the map: the AOI. The graticule's lines and the products' outlines are
# drawn unfilled, and the archive's scene footprints are marked, so they are left out.
AOI_SHAPES = ".leaflet-overlay-pane path:not([fill='none']):not(.scene-footprint)"


def _kml(bbox) -> str:
    west, south, east, north = bbox
    ring = " ".join(f"{x},{y},0" for x, y in [(west, south), (east, south), (east, north),
                                               (west, north), (west, south)])
    return ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
            f"<Placemark><name>field</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
            f"{ring}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>")


def _finished_product(hub) -> None:
    """One DONE order of alice's, through the REST API, so the map has a quicklook to show."""
    headers = {"Authorization": f"Token {hub['token']}"}
    order: dict[str, Any] = {
        "name": "background", "aoi": list(TEST_AOI_BBOX), "period": "month",
        "start": "2023-06-01", "resolution": 20, "crs": "UTM", "format": "GTiff",
        "bands": ["B02", "B03", "B04"]}
    created = requests.post(hub["base"] + "/api/v1/mosaics", json=order, headers=headers,
                            timeout=30)
    assert created.status_code == 201, created.text
    url = hub["base"] + created.json()["links"]["self"]
    wait_for(lambda: requests.get(url, headers=headers, timeout=10).json()["status"] == "DONE",
             180)


def _summary_has(page, text: str) -> None:
    page.wait_for_function(
        f"document.querySelector('#order-summary').textContent.includes({text!r})")


def _checked_bands(page) -> list[str]:
    return page.eval_on_selector_all("input[name=bands]:checked", "els => els.map(e => e.value)")


def test_upload_presets_tile_id_crs_and_estimate(browser, tmp_path, demo_archive):  # noqa: F811
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        _finished_product(hub)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        log_in(page, hub)
        page.goto(hub["base"] + "/requests/new/")
        page.wait_for_selector(".leaflet-container")

        # Offline background: the finished product's quicklook lies on the map.
        page.wait_for_selector("#aoi-map[data-products='1']")
        overlay = page.locator("img.product-overlay")
        assert overlay.count() == 1
        page.wait_for_function(
            "document.querySelector('img.product-overlay').naturalWidth > 10")
        page.wait_for_selector("#aoi-map[data-osm]")  # the OSM probe has finished, either way
        page.evaluate("document.querySelector('img.product-overlay').decode()")
        shot(page, "10-order-offline-background")
        page.locator("#aoi-map").screenshot(path=str(ARTIFACTS / "10b-order-map.png"))

        # Upload a KML drawn around the demo area: the AOI box, the map and the preview follow.
        page.fill("#id_start", "2023-06-01")
        kml = tmp_path / "field.kml"
        kml.write_text(_kml(TEST_AOI_BBOX))
        page.set_input_files("#aoi-file", str(kml))
        page.wait_for_selector("#aoi-file-note:not([hidden])")
        assert "1 polygon(s) from KML" in page.text_content("#aoi-file-note")
        assert '"Polygon"' in page.input_value("#id_aoi")
        _summary_has(page, "L2A scenes")
        assert "12 L2A scenes" in page.text_content("#order-summary")
        assert page.locator(AOI_SHAPES).count() == 1  # the KML's one polygon
        shot(page, "11-order-uploaded-kml")

        # Band presets.
        page.click("button[data-bands='B02,B03,B04']")
        assert _checked_bands(page) == ["B02", "B03", "B04"]
        page.click("button[data-bands='*']")
        assert page.locator("input[name=bands]:not(:checked)").count() == 0
        page.click("button[data-bands='B02,B03,B04,B08']")
        assert _checked_bands(page) == ["B02", "B03", "B04", "B08"]

        # A broken file: the error stands next to the upload, the AOI is left as it was.
        bad = tmp_path / "broken.kml"
        bad.write_text("<kml><Placemark>")
        aoi_before = page.input_value("#id_aoi")
        page.set_input_files("#aoi-file", str(bad))
        error = page.locator("#field-aoi_file .live-error")
        error.wait_for(state="visible")
        assert "not valid XML" in error.text_content()
        assert page.input_value("#id_aoi") == aoi_before

        # A tile id: the AOI becomes the tile, drawn from the server's answer.
        page.fill("#tile-id", "t29unu")
        page.click("#use-tile")
        _summary_has(page, "AOI 120")
        assert page.input_value("#id_aoi") == "T29UNU"
        summary = page.text_content("#order-summary")
        assert "L2A scenes" in summary and "EPSG:32629" in summary
        assert "will be delivered as one product, about" in page.text_content("#order-estimate")
        assert page.locator(AOI_SHAPES).count() == 1  # the tile, in place of the KML's polygon

        # The CRS: a shortcut, the resolved name and the suggested UTM zone.
        page.click("button[data-crs='EPSG:3035']")
        page.wait_for_function(
            "document.querySelector('#crs-resolved').textContent.includes('LAEA')")
        assert "suggested: EPSG:32629" in page.text_content("#crs-resolved")
        page.fill("#id_crs", "EPSG:99999")
        page.dispatch_event("#id_crs", "input")
        crs_error = page.locator("#field-crs .live-error")
        crs_error.wait_for(state="visible")
        assert "not a known coordinate reference system" in crs_error.text_content()
        shot(page, "12-order-crs-error")
        page.click("button[data-crs='UTM']")
        page.wait_for_function(
            "document.querySelector('#crs-resolved').textContent.includes('UTM zone 29N')")
        assert page.locator("#field-crs .live-error").is_hidden()
        page.locator("#order-estimate").scroll_into_view_if_needed()
        shot(page, "13-order-tile-id")
