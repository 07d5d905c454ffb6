"""A person uses the time-series tool in a real headless Chromium: pick a pixel, chart a few
months of composites and the raw observations behind them, download both CSVs, see an error.

Screenshots go to test-artifacts/timeseries-*.png (look at them).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from pyproj import Transformer

from compositing.demo.archive import DEMO_CENTER_32629, build_demo_archive
from compositing.timeseries import QUALITY_LAYERS
from tests.browser.chromium import log_in, shot
from tests.conftest import TEST_SCENE_SIZE_M
from tests.hubstack import running_hub

pytestmark = [pytest.mark.browser, pytest.mark.heavy]
# April to July: a few monthly composites, each made of several cloudy and clear passes.
SEASON = (date(2023, 4, 1), date(2023, 7, 31))
LON, LAT = Transformer.from_crs(32629, 4326, always_xy=True).transform(
    DEMO_CENTER_32629[0] + 7.0, DEMO_CENTER_32629[1] - 13.0)
BANDS = ["B02", "B03", "B04", "B08"]


@pytest.fixture(scope="module")
def season_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo tiles from April to July 2023 (the session's demo archive holds June only)."""
    archive = tmp_path_factory.mktemp("season")
    build_demo_archive(archive, start=SEASON[0], end=SEASON[1], size_m=TEST_SCENE_SIZE_M)
    return archive


def download_csv(page, link_selector: str, path: Path) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.click(link_selector)
    info.value.save_as(path)
    assert info.value.suggested_filename.endswith(".csv")
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def footprints(archive: Path) -> set[str]:
    """The distinct footprints of the archive's items (item files, not their sidecars)."""
    return {json.dumps(json.loads(path.read_text())["geometry"], sort_keys=True)
            for path in archive.glob("sentinel-2-l2a/*/*.json") if path.stem == path.parent.name}


def cells(page, table: str, column: str) -> list[str]:
    headers = page.locator(f"{table} thead th").all_text_contents()
    index = headers.index(column) + 1
    return page.locator(f"{table} tbody tr td:nth-child({index})").all_text_contents()


def test_a_person_charts_a_pixel_and_downloads_the_csv(browser, tmp_path,  # noqa: F811
                                                       season_archive):
    with running_hub("embedded", tmp_path, season_archive) as hub:
        page = browser.new_page(viewport={"width": 1200, "height": 1000},
                                accept_downloads=True)
        log_in(page, hub)
        page.click("header nav >> text=Time series")
        page.wait_for_selector("#ts-map.leaflet-container")
        # Offline, land, sea and borders are the hub's own (Natural Earth, vendored).
        page.wait_for_selector("#ts-map[data-basemap='natural-earth']")
        # The archive's coverage is drawn (offline: no tiles), and a click picks a pixel in it.
        page.wait_for_selector("#ts-map .leaflet-overlay-pane path")
        page.click("#ts-map")  # its middle: the map opens on the archive
        page.wait_for_function("document.querySelector('#ts-pixel').textContent"
                               ".includes('EPSG:32629')")
        assert page.input_value("#ts-lon") and page.input_value("#ts-lat")
        assert "outside" not in page.text_content("#ts-pixel")
        # one shape per distinct scene footprint, then the pixel's outline and its centre
        assert page.locator("#ts-map .leaflet-overlay-pane path").count() == len(
            footprints(season_archive)) + 2

        page.fill("#ts-lon", f"{LON:.6f}")
        page.fill("#ts-lat", f"{LAT:.6f}")
        page.dispatch_event("#ts-lon", "change")
        page.fill("#ts-start", SEASON[0].isoformat())
        page.fill("#ts-end", SEASON[1].isoformat())
        page.select_option("#ts-period", "month")
        page.click("#ts-show")
        page.wait_for_selector("#ts-status.done", timeout=60_000)
        assert "x 604890, y 5845130" in page.text_content("#ts-pixel")
        status = page.text_content("#ts-status")
        assert "Composite: 4 periods in" in status and " s · observations: " in status

        # Composite: one table row and one point per band and month.
        periods = cells(page, "#ts-composite-table", "Period")
        assert periods == ["2023-04-01 – 2023-04-30", "2023-05-01 – 2023-05-31",
                           "2023-06-01 – 2023-06-30", "2023-07-01 – 2023-07-31"]
        methods = cells(page, "#ts-composite-table", "Method")
        assert set(methods) <= {"medoid", "stc"}
        assert page.locator("#ts-composite-chart circle.pt").count() == 4 * len(BANDS)
        assert page.locator("#ts-composite-ndvi circle.pt").count() == 4
        series = page.locator("#ts-composite-chart g.series").evaluate_all(
            "gs => gs.map(g => g.dataset.series)")
        assert series == BANDS
        page.hover("#ts-composite-chart g[data-series=B08] circle.pt >> nth=2")  # drawn on top
        tooltip = page.locator("#ts-composite-chart .ts-tooltip")
        assert tooltip.is_visible() and "valid_obs" in tooltip.text_content()
        assert "2023-06-01 – 2023-06-30" in tooltip.text_content()
        assert page.locator("#ts-composite-table tr.hot").count() == 1

        # Observations: every pass of the four months, valid filled and invalid hollow.
        obs_dates = cells(page, "#ts-observations-table", "Date")
        assert obs_dates == sorted(obs_dates) and len(obs_dates) > 12
        assert obs_dates[0] >= "2023-04-01" and obs_dates[-1] <= "2023-07-31"
        validity = cells(page, "#ts-observations-table", "Valid")
        hollow = page.locator("#ts-observations-chart circle.pt.hollow").count()
        filled = page.locator("#ts-observations-chart circle.pt:not(.hollow)").count()
        assert hollow == len(BANDS) * validity.count("invalid") > 0
        assert filled == len(BANDS) * validity.count("valid") > 0
        # Each composite's observation is marked, and its date is the composite's.
        chosen = [d for d, c in zip(obs_dates, cells(page, "#ts-observations-table",
                                                     "Composite"), strict=True) if c]
        assert chosen == cells(page, "#ts-composite-table", "Acquired")
        assert page.locator("#ts-observations-chart circle.ring").count() == 4 * len(BANDS)
        shot(page, "timeseries-1-monthly")

        composite_csv = download_csv(page, "#ts-composite-csv", tmp_path / "composite.csv")
        assert list(composite_csv[0])[:7] == ["period_start", "period_end", *BANDS, "NDVI"]
        # S2GM's quality columns: AOT, cloud and snow probability, view and sun angles.
        assert list(composite_csv[0])[-len(QUALITY_LAYERS):] == list(QUALITY_LAYERS)
        assert all(r[name] for r in composite_csv if r["scene_id"] for name in QUALITY_LAYERS)
        assert [r["period_start"] for r in composite_csv] == [p[:10] for p in periods]
        assert [f"{float(r['B04']):.4f}" for r in composite_csv] == cells(
            page, "#ts-composite-table", "B04")
        assert [f"{r['valid_obs']} / {r['total_obs']}" for r in composite_csv] == cells(
            page, "#ts-composite-table", "valid_obs")
        obs_csv = download_csv(page, "#ts-observations-csv", tmp_path / "observations.csv")
        assert list(obs_csv[0])[:4] == ["date", "datetime", "scene_id", "tile"]
        assert list(obs_csv[0])[-len(QUALITY_LAYERS):] == list(QUALITY_LAYERS)
        assert all(0 <= float(r["sun_zenith"]) < 90 for r in obs_csv)
        assert [r["date"] for r in obs_csv] == obs_dates
        assert [r["valid"] == "true" for r in obs_csv] == [v == "valid" for v in validity]

        # 3x3: mean with error bars of the standard deviation, and the pixel count.
        page.check("input[name=window][value='3']")
        page.click("#ts-show")
        page.wait_for_selector("#ts-status.done", timeout=60_000)
        assert cells(page, "#ts-composite-table", "Pixels") == ["9"] * 4
        assert all(" ± " in v for v in cells(page, "#ts-composite-table", "B04"))
        assert page.locator("#ts-composite-chart path.err").count() == 4 * len(BANDS)
        assert "window=3" in page.get_attribute("#ts-composite-csv", "href")
        shot(page, "timeseries-2-window-3x3")

        # Another index beside NDVI: a line of the index chart, a column of table and CSV.
        page.check("input[name=window][value='1']")
        page.check("input[name=indices][value=nbr]")
        page.click("#ts-show")
        page.wait_for_selector("#ts-status.done", timeout=60_000)
        assert len(cells(page, "#ts-composite-table", "NBR")) == 4
        assert page.locator("#ts-composite-ndvi circle.pt").count() == 2 * 4
        assert "indices=nbr" in page.get_attribute("#ts-composite-csv", "href")
        assert "NBR" in page.text_content("#ts-observations-table thead")
        shot(page, "53-timeseries-nbr-beside-ndvi")
        page.uncheck("input[name=indices][value=nbr]")

        # A point away from the archive is flagged before anything is asked of the API.
        page.fill("#ts-lon", "10")
        page.fill("#ts-lat", "10")
        page.dispatch_event("#ts-lon", "change")
        page.wait_for_function("document.querySelector('#ts-pixel').textContent"
                               ".includes('outside every scene of the archive')")

        # A bad latitude: the API's message next to the latitude field, nothing drawn anew.
        page.fill("#ts-lat", "95")
        page.click("#ts-show")
        error = page.locator("#ts-field-lat .error")
        error.wait_for(state="visible")
        assert "lat must be between" in error.text_content()
        assert page.locator("#ts-field-lon .error").is_hidden()
        # The old series is dimmed once the refused request has come back.
        page.wait_for_selector("#ts-composite.stale", timeout=10_000)
        shot(page, "timeseries-3-error")
