"""GDAL's block cache is capped before the first read, and an operator's own cap wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from compositing import memory

PROBE = "import os, compositing.archive.files; print(os.environ['GDAL_CACHEMAX'])"


def cache_seen_by_a_new_process(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GDAL_CACHEMAX", "HUB_GDAL_CACHE_MB")}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env}, check=True,
                         capture_output=True, text=True)
    return out.stdout.split()[0]


@pytest.mark.parametrize("env,expected", [
    ({}, str(memory.DEFAULT_GDAL_CACHE_MB)),
    ({"HUB_GDAL_CACHE_MB": "96"}, "96"),
    ({"HUB_GDAL_CACHE_MB": "lots"}, str(memory.DEFAULT_GDAL_CACHE_MB)),
    ({"GDAL_CACHEMAX": "512", "HUB_GDAL_CACHE_MB": "96"}, "512"),  # the operator's own
])
def test_the_reader_caps_gdals_cache_on_import(env, expected):
    assert cache_seen_by_a_new_process(**env) == expected

