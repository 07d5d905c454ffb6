"""`manage.py import_catalogue_items`: all bad rows reported, nothing half-imported, idempotent."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from hub.catalogue.models import Item, ItemFile

pytestmark = pytest.mark.django_db

SHA_A, SHA_B = "a" * 64, "b" * 64
HEADER = ["identifier", "start", "end", "footprint", "file_name", "url", "path", "size", "sha256"]
LWQ = "c_gls_LWQ1km_201808110000_GL"
GOOD_ROWS = [
    [LWQ, "2018-08-11", "2018-08-20", "-180,-90,180,90", f"{LWQ}.nc",
     f"https://example.org/lwq/{LWQ}.nc", "", "1234", SHA_A],
    [LWQ, "2018-08-11", "2018-08-20", "-180,-90,180,90", f"{LWQ}.xml",
     "", f"lwq/{LWQ}.xml", "56", SHA_B],
    ["c_gls_LWQ1km_201808210000_GL", "2018-08-21", "2018-08-31",
     json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 0]]]}),
     "b.nc", "https://example.org/b.nc", "", "99", SHA_A.upper()],
]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    """A CSV manifest with the documented header."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def run(family: str, manifest: Path) -> str:
    """The command's output."""
    out = io.StringIO()
    call_command("import_catalogue_items", family, str(manifest), stdout=out)
    return out.getvalue()


def test_it_imports_a_csv_manifest_grouped_by_identifier(tmp_path: Path) -> None:
    out = run("lwq", write_csv(tmp_path / "m.csv", GOOD_ROWS))
    assert "2 created, 0 updated, 0 unchanged" in out
    item = Item.objects.get(identifier=LWQ)
    assert (str(item.start), str(item.end), item.family.slug) == ("2018-08-11", "2018-08-20", "lwq")
    assert item.footprint["type"] == "Polygon"
    assert sorted(item.files.values_list("name", "size")) == [(f"{LWQ}.nc", 1234),
                                                              (f"{LWQ}.xml", 56)]
    assert ItemFile.objects.get(name="b.nc").sha256 == SHA_A


def test_reimporting_the_same_manifest_changes_nothing(tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "m.csv", GOOD_ROWS)
    run("lwq", manifest)
    before = list(ItemFile.objects.order_by("pk").values_list("pk", "name", "sha256"))
    out = run("lwq", manifest)
    assert "0 created, 0 updated, 2 unchanged" in out
    assert list(ItemFile.objects.order_by("pk").values_list("pk", "name", "sha256")) == before


def test_a_changed_row_updates_only_its_item(tmp_path: Path) -> None:
    run("lwq", write_csv(tmp_path / "m.csv", GOOD_ROWS))
    changed = [row[:] for row in GOOD_ROWS]
    changed[0][7] = "4321"
    out = run("lwq", write_csv(tmp_path / "m2.csv", changed))
    assert "0 created, 1 updated, 1 unchanged" in out
    assert ItemFile.objects.get(name=f"{LWQ}.nc").size == 4321


def test_it_reports_every_bad_row_and_imports_nothing(tmp_path: Path) -> None:
    bad = [
        GOOD_ROWS[0],
        ["x1", "2018-08-20", "2018-08-11", "0,0,1,1", "f", "https://e.org/f", "", "1", SHA_A],
        ["x2", "2018-08-11", "2018-08-20", "0,0,1", "f", "https://e.org/f", "", "1", SHA_A],
        ["x3", "2018-08-11", "2018-08-20", "0,0,1,1", "f", "", "", "-5", "abc"],
        ["x4", "2018-13-01", "2018-08-20", json.dumps({"type": "Polygon", "coordinates": [
            [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}), "f", "ftp://e.org/f", "../up", "1", SHA_A],
        [LWQ, "2018-08-12", "2018-08-20", "-180,-90,180,90", "g", "https://e.org/g", "", "1",
         SHA_A],
    ]
    with pytest.raises(CommandError) as raised:
        run("lwq", write_csv(tmp_path / "bad.csv", bad))
    message = str(raised.value)
    assert "row 2" not in message  # the good first data row
    for expected in ("row 3: start is after end", "row 4: a bbox needs four numbers",
                     "row 5: give a url or a path", "row 5: size must be",
                     "row 5: sha256 must be", "row 6: start is not an ISO date",
                     "row 6: the footprint is not a valid polygon",
                     "row 6: url must start with http", "row 6: path must be relative",
                     "row 7: start differs from an earlier row"):
        assert expected in message
    assert not Item.objects.exists() and not ItemFile.objects.exists()


def test_a_json_manifest_with_geojson_footprints_imports(tmp_path: Path) -> None:
    rows = [dict(zip(HEADER, row, strict=True)) for row in GOOD_ROWS]
    rows[0]["footprint"] = {"type": "Polygon", "coordinates": [[[0, 0], [5, 0], [5, 5], [0, 0]]]}
    rows[1]["footprint"] = rows[0]["footprint"]
    rows[1]["size"] = 56
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(rows))
    assert "2 created" in run("lwq", manifest)
    assert "2 unchanged" in run("lwq", manifest)


def test_an_identifier_of_another_family_is_refused(tmp_path: Path) -> None:
    run("lwq", write_csv(tmp_path / "m.csv", GOOD_ROWS[:1]))
    with pytest.raises(CommandError, match="row 2: .* already belongs to family lwq"):
        run("ndvi", write_csv(tmp_path / "m2.csv", GOOD_ROWS[:1]))


def test_an_unknown_family_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no product family"):
        run("nope", write_csv(tmp_path / "m.csv", GOOD_ROWS))
