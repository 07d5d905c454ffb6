"""A person orders the change between two periods in a real headless Chromium: the dialogue
describes both periods, and the product page shows both quicklooks and the class map.

Screenshots go to test-artifacts/ (look at them).
"""

from __future__ import annotations

import pytest

from tests.browser.chromium import log_in, shot
from tests.browser.test_ordering import _confirmation
from tests.conftest import TEST_AOI_BBOX
from tests.hubstack import running_hub

pytestmark = [pytest.mark.browser, pytest.mark.heavy]


def test_a_person_orders_a_change_and_sees_both_periods_and_the_classes(
        browser, tmp_path, demo_archive):
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        log_in(page, hub)
        page.goto(hub["base"] + "/requests/new/")
        page.wait_for_selector(".leaflet-container")
        page.fill("#id_name", "june-change")
        page.select_option("#id_period", "tenday")
        page.fill("#id_start", "2023-06-01")
        page.fill("#id_compare_start", "2023-06-21")
        page.fill("#id_aoi", ",".join(map(str, TEST_AOI_BBOX)))
        page.dispatch_event("#id_aoi", "change")
        page.wait_for_function(
            "document.querySelector('#order-summary').textContent.includes('compared with')")
        summary = page.text_content("#order-summary")
        assert "2023-06-01 to 2023-06-10 compared with 2023-06-21 to 2023-06-30" in summary
        page.click("text=Order mosaic")
        page.wait_for_selector("#order-confirm[open]")
        assert page.text_content("#order-confirm-title") == "Generate this change product?"
        rows = _confirmation(page)
        assert rows["Period"].startswith("2023-06-01 to 2023-06-10")
        assert rows["Compared with"] == "2023-06-21 to 2023-06-30"
        assert rows["Scenes"].endswith("L2A scenes in the second")
        assert rows["Coverage"] == ("100% of the area has scenes in the first period, "
                                    "100% in the second")
        assert rows["Change"] == "significant at 99.99% confidence · 4 classes of change"
        assert rows["Bands"] == "B02, B03, B04, B08"
        shot(page, "70-change-order-confirmation")
        page.click("#order-generate")
        page.wait_for_url("**/requests/")
        row = page.locator("tr[data-name='june-change']")
        assert "compared with 2023-06-21" in row.locator("td.period").text_content()
        page.wait_for_selector("tr[data-status=DONE]", timeout=180_000)
        shot(page, "71-change-in-the-list")
        page.locator("td a", has_text="june-change").click()
        page.wait_for_selector("#change .change-figures")
        figures = page.locator("#change figure img")
        assert figures.count() == 3
        for i in range(3):
            assert figures.nth(i).evaluate("img => img.complete && img.naturalWidth") > 10
        legend = page.locator("#change li").all_text_contents()
        assert legend[0].strip().startswith("no change") and len(legend) >= 2
        shot(page, "72-change-product-page")
