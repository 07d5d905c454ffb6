"""`manage.py make_demo_archive`: an extent instead of a window size; bad options change
nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from compositing.demo import archive as demo

ONE_PASS = ("--start", "2023-06-01", "--end", "2023-06-03", "--workers", "1")


def _files(archive: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(archive)), p.stat().st_mtime_ns)
                  for p in archive.rglob("*") if p.is_file())


def test_an_extent_sets_the_window_size(tmp_path):
    out = io.StringIO()
    call_command("make_demo_archive", "--archive", str(tmp_path), *ONE_PASS,
                 "--tiles", "29UNU,29UPU", "--extent-km", "1.5", "1.2", stdout=out)
    size = demo.size_for_extent(demo.DEMO_TILES, 1500, 1200)
    assert f"wrote 2 demo scenes (midlands) of {size} m" in out.getvalue()
    items = [json.loads(p.read_text()) for p in tmp_path.glob("*/*/*_L2A.json")]
    assert [i["assets"]["B02"]["proj:shape"] for i in items] == [[size // 10] * 2] * 2


@pytest.mark.parametrize("options, message", [
    (("--extent-km", "0", "1"), "--extent-km: the extent's width and height must be positive"),
    (("--extent-km", "12", "3", "--tiles", "29UNU"), "--extent-km: no demo window"),
    (("--size-m", "1000"), "--size-m: size_m must be a multiple of 60"),
    (("--size-m", "600", "--extent-km", "1", "1"), "not allowed with argument --size-m"),
])
def test_bad_size_options_are_refused_before_the_archive_is_touched(tmp_path, options,
                                                                     message):
    call_command("make_demo_archive", "--archive", str(tmp_path), *ONE_PASS,
                 "--tiles", "29UPU", "--size-m", "600", stdout=io.StringIO())
    before = _files(tmp_path)
    assert before
    with pytest.raises(CommandError, match=message):
        call_command("make_demo_archive", "--archive", str(tmp_path), *ONE_PASS, "--force",
                     *options, stdout=io.StringIO())
    assert _files(tmp_path) == before
