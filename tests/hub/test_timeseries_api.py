"""GET /api/v1/timeseries: JSON and CSV, validation naming the parameter, authentication."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from pyproj import Transformer

from compositing.demo.archive import DEMO_CENTER_32629

pytestmark = pytest.mark.django_db

LON, LAT = Transformer.from_crs(32629, 4326, always_xy=True).transform(
    DEMO_CENTER_32629[0] + 7.0, DEMO_CENTER_32629[1] - 13.0)
PARAMS = {"lon": f"{LON:.7f}", "lat": f"{LAT:.7f}", "start": "2023-06-01", "end": "2023-06-30",
          "period": "month", "resolution": "20", "bands": "B02,B04,B08"}


def get(client, token, **params):
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    return client.get("/api/v1/timeseries", {**PARAMS, **params}, **headers)


def parse_csv(response) -> list[dict[str, str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and disposition.endswith('.csv"')
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def test_json_rows_with_the_pixel_centre_and_epsg(client, alice_token, hub_dirs):
    response = get(client, alice_token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["pixel"]["epsg"] == 32629 and body["pixel"]["window"] == 1
    assert body["pixel"]["x"] % 20 == 10 and body["pixel"]["y"] % 20 == 10
    assert abs(body["pixel"]["x"] - (DEMO_CENTER_32629[0] + 7.0)) <= 10
    assert abs(body["pixel"]["lon"] - LON) < 1e-3 and abs(body["pixel"]["lat"] - LAT) < 1e-3
    (row,) = body["rows"]
    assert list(row) == body["columns"]
    assert row["period_start"] == "2023-06-01" and row["period_end"] == "2023-06-30"
    assert row["method"] in {"medoid", "stc"} and 0 < row["B04"] < 1
    date.fromisoformat(row["acquisition_date"])


def test_composite_csv_columns_and_values(client, alice_token, hub_dirs):
    response = get(client, alice_token, format="csv")
    assert response.status_code == 200
    rows = parse_csv(response)
    assert list(rows[0]) == ["period_start", "period_end", "B02", "B04", "B08", "NDVI",
                             "valid_obs", "total_obs", "method", "medoid_mos", "scl",
                             "acquisition_date", "scene_id"]
    (row,) = rows
    json_row = get(client, alice_token).json()["rows"][0]
    assert float(row["B04"]) == json_row["B04"]
    assert int(row["valid_obs"]) == json_row["valid_obs"]
    assert date.fromisoformat(row["period_start"]) == date(2023, 6, 1)
    assert row["scene_id"] == json_row["scene_id"]


def test_window_3_csv_has_std_and_pixel_count(client, alice_token, hub_dirs):
    rows = parse_csv(get(client, alice_token, format="csv", window="3", end="2023-07-31"))
    assert list(rows[0]) == ["period_start", "period_end", "B02", "B02_std", "B04", "B04_std",
                             "B08", "B08_std", "NDVI", "NDVI_std", "n_pixels", "valid_obs",
                             "total_obs", "method", "medoid_mos", "scl", "acquisition_date",
                             "scene_id"]
    june, july = rows
    json_june = get(client, alice_token, window="3", end="2023-07-31").json()["rows"][0]
    assert int(june["n_pixels"]) == 9 and float(june["B04_std"]) == json_june["B04_std"]
    # July has no scenes in the test archive: empty values, method none, not an error.
    assert july["period_start"] == "2023-07-01" and july["method"] == "none"
    assert july["B04"] == "" and july["n_pixels"] == "0" and july["valid_obs"] == "0"


def test_observations_csv(client, alice_token, hub_dirs):
    rows = parse_csv(get(client, alice_token, kind="observations", format="csv"))
    assert list(rows[0])[:8] == ["date", "datetime", "scene_id", "tile", "B02", "B04", "B08",
                                 "NDVI"]
    assert {"scl", "valid", "all_scene_ids"} <= set(rows[0])
    dates = [date.fromisoformat(r["date"]) for r in rows]
    assert dates == sorted(set(dates)) and all(d.month == 6 for d in dates)
    assert {r["valid"] for r in rows} == {"true", "false"}
    composite = get(client, alice_token).json()["rows"][0]
    assert sum(r["valid"] == "true" for r in rows) == composite["valid_obs"]


def test_a_point_without_scenes_is_not_an_error(client, alice_token, hub_dirs):
    response = get(client, alice_token, lon="10", lat="10")
    assert response.status_code == 200
    (row,) = response.json()["rows"]
    assert row["method"] == "none" and row["B04"] is None and row["scene_id"] is None


@pytest.mark.parametrize("changes,field", [
    ({"lon": "200"}, "lon"),
    ({"lon": "east"}, "lon"),
    ({"lat": "-91"}, "lat"),
    ({"lat": ""}, "lat"),
    ({"start": "2023-13-01"}, "start"),
    ({"start": "2023-07-01", "end": "2023-06-01"}, "end"),
    ({"start": "2019-01-01", "end": "2023-06-30"}, "end"),
    ({"bands": "B04,B99"}, "bands"),
    ({"window": "2"}, "window"),
    ({"period": "week"}, "period"),
    ({"period": "custom"}, "period"),
    ({"resolution": "30"}, "resolution"),
    ({"kind": "raw"}, "kind"),
    ({"format": "xlsx"}, "format"),
])
def test_bad_parameters_get_400_naming_them(client, alice_token, changes, field):
    response = get(client, alice_token, **changes)
    assert response.status_code == 400
    assert response.json()["field"] == field and response.json()["error"]


def test_anonymous_callers_get_401(client):
    assert client.get("/api/v1/timeseries", PARAMS).status_code == 401
    response = client.get("/api/v1/timeseries", PARAMS, HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401 and response.json()["error"]


def test_a_session_is_enough(client, alice, hub_dirs):
    client.force_login(alice)
    assert get(client, None).status_code == 200


def test_only_get(client, alice_token):
    response = client.post("/api/v1/timeseries", HTTP_AUTHORIZATION=f"Token {alice_token}")
    assert response.status_code == 405
