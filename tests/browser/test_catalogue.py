"""The public catalogue in a real headless Chromium: browse, filter, a family's items, download.

Items are loaded with the import command from a manifest of local files. Screenshots go to
test-artifacts/ (look at them).
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browser.chromium import shot
from tests.hubstack import manage, running_hub

pytestmark = [pytest.mark.browser, pytest.mark.heavy]
FIRST = date(2018, 1, 1)
ITEMS = 30  # more than a page (25)
LAKE = {"type": "Polygon", "coordinates": [[[8.5, 45.5], [9.0, 45.5], [9.0, 46.0], [8.5, 46.0],
                                            [8.5, 45.5]]]}


def identifier(k: int) -> str:
    day = FIRST + timedelta(days=10 * k)
    return f"c_gls_LWQ300_{day:%Y%m%d}0000_GL"


def write_items(media: Path) -> Path:
    """ITEMS ten-day LWQ items with one small local NetCDF-named file each, and their manifest."""
    folder = media / "catalogue" / "lwq"
    folder.mkdir(parents=True)
    rows = []
    for k in range(ITEMS):
        start = FIRST + timedelta(days=10 * k)
        name = f"{identifier(k)}.nc"
        data = f"lake water quality {start}\n".encode() * 50
        (folder / name).write_bytes(data)
        rows.append({"identifier": identifier(k), "start": start.isoformat(),
                     "end": (start + timedelta(days=9)).isoformat(),
                     "footprint": "8.5,45.5,9.0,46.0", "file_name": name, "url": "",
                     "path": f"lwq/{name}", "size": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()})
    manifest = media.parent / "lwq.csv"
    with manifest.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def family_slugs(page) -> list[str]:
    return page.eval_on_selector_all("tr[data-family]", "rows => rows.map(r => r.dataset.family)")


def item_ids(page) -> list[str]:
    return page.eval_on_selector_all("tr[data-item]", "rows => rows.map(r => r.dataset.item)")


def test_browse_filter_and_download_items(browser, tmp_path, demo_archive):  # noqa: F811
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        manifest = write_items(tmp_path / "media")
        assert "30 created" in manage(hub["env"], "import_catalogue_items", "lwq", str(manifest))
        page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)

        page.goto(hub["base"] + "/catalogue/")
        themes = page.locator("section.theme h2").all_text_contents()
        assert themes[:3] == ["Vegetation", "Energy", "Water"] and "Imagery" in themes
        every = family_slugs(page)
        assert {"ndvi", "lwq", "sentinel-2-global-mosaic"} <= set(every)
        shot(page, "catalogue-01-browse")

        page.select_option("#id_theme", "water")
        page.click("#catalogue-filters button[type=submit]")
        page.wait_for_url("**theme=water**")
        assert page.locator("section.theme h2").all_text_contents() == ["Water"]
        water = family_slugs(page)
        assert "lwq" in water and "ndvi" not in water and len(water) < len(every)
        shot(page, "catalogue-02-theme-water")

        page.fill("#id_start", "2018-03-01")
        page.fill("#id_end", "2018-03-31")
        page.click("#catalogue-filters button[type=submit]")
        page.wait_for_url("**start=2018-03-01**")
        assert family_slugs(page) == ["lwq"]
        # The items of 2-11, 12-21 and 22-31 March, and the one of 20 February to 1 March.
        assert page.locator("tr[data-family=lwq] td").last.text_content().strip() == "4"
        shot(page, "catalogue-03-date-range")

        page.click("tr[data-family=lwq] a")
        page.wait_for_selector("table.items")
        assert item_ids(page) == [identifier(k) for k in range(ITEMS - 1, ITEMS - 26, -1)]
        assert "Page 1 of 2 (30 items)" in page.text_content("p.pages")
        assert page.locator("a", has_text="register").count() == 1  # anonymous: no checkboxes
        assert page.locator("input[name=item]").count() == 0
        shot(page, "catalogue-04-family-anonymous")

        page.goto(hub["base"] + "/accounts/login/?next=/catalogue/families/lwq/")
        page.fill("#id_username", hub["user"])
        page.fill("#id_password", hub["password"])
        page.click("main button[type=submit]")
        page.wait_for_url("**/catalogue/families/lwq/")
        page.fill("#item-filters #id_start", "2018-02-01")
        page.fill("#item-filters #id_end", "2018-02-28")
        page.click("#item-filters button[type=submit]")
        page.wait_for_url("**start=2018-02-01**")
        february = item_ids(page)
        assert february == [identifier(k) for k in (5, 4, 3)]  # newest first
        page.check("#select-all")
        assert page.locator("input[name=item]:checked").count() == 3
        assert page.text_content("#selection-count") == "3 of 3 items on this page selected."
        page.uncheck("#select-all")
        assert page.locator("input[name=item]:checked").count() == 0
        for name in february[:2]:
            page.check(f"input[aria-label='select {name}']")
        assert page.text_content("#selection-count") == "2 of 3 items on this page selected."
        shot(page, "catalogue-05-family-selected")
        with page.expect_download() as info:
            page.click("text=Download selected as zip")
        saved = tmp_path / "selected.zip"
        info.value.save_as(saved)
        with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as archive:
            assert sorted(Path(n).name for n in archive.namelist()) == \
                sorted(f"{name}.nc" for name in february[:2])

        href = page.locator("a", has_text="INSPIRE XML").first.get_attribute("href")
        record = page.request.get(hub["base"] + (href or ""))
        assert record.ok and b"<gmd:MD_Metadata" in record.body()
