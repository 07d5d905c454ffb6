"""`manage.py make_demo_archive`: an extent instead of a window size; bad options change
nothing."""

from __future__ import annotations

import io
import json
from datetime import date
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


def test_the_build_reports_its_progress_and_the_time_left(tmp_path):
    """make run builds the archive before the hub starts: the person waiting sees it move."""
    out = io.StringIO()
    call_command("make_demo_archive", "--archive", str(tmp_path), "--start", "2023-06-01",
                 "--end", "2023-06-30", "--size-m", "600", "--workers", "2", stdout=out)
    lines = out.getvalue().splitlines()
    bars = [line for line in lines if line.startswith("[")]
    total = len(demo.acquisitions(date(2023, 6, 1), date(2023, 6, 30), 0))
    assert bars[-1].startswith("[" + "#" * 30 + f"] {total}/{total} acquisition days")
    assert "s left" in bars[0] and len(bars) <= 11  # a line a tenth in a log, not a line a day
    done = [int(b.split("] ")[1].split("/")[0]) for b in bars]
    assert done == sorted(done)


def test_every_pass_written_is_reported_in_order(tmp_path):
    seen: list[tuple[int, int]] = []
    demo.build_demo_archive(tmp_path, start=date(2023, 6, 1), end=date(2023, 6, 10),
                            size_m=600, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(n, len(seen)) for n in range(1, len(seen) + 1)] and seen
