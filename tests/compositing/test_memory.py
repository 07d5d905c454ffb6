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



WEB_PROBE = ("from compositing import memory; memory.serve_web(); "
             "import os, compositing.archive.files; print(os.environ['GDAL_CACHEMAX'])")


@pytest.mark.parametrize("env,expected", [
    ({}, str(memory.DEFAULT_WEB_GDAL_CACHE_MB)),
    ({"HUB_GDAL_CACHE_MB": "96"}, str(memory.DEFAULT_WEB_GDAL_CACHE_MB)),  # the workers'
    ({"HUB_WEB_GDAL_CACHE_MB": "512"}, "512"),
    ({"GDAL_CACHEMAX": "80", "HUB_WEB_GDAL_CACHE_MB": "512"}, "80"),
])
def test_a_web_process_has_a_cache_of_its_own_for_the_time_series(env, expected):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GDAL_CACHEMAX", "HUB_GDAL_CACHE_MB", "HUB_WEB_GDAL_CACHE_MB")}
    out = subprocess.run([sys.executable, "-c", WEB_PROBE], env={**clean, **env}, check=True,
                         capture_output=True, text=True)
    assert out.stdout.split()[0] == expected


def test_the_wsgi_entry_point_serves_the_web_before_any_raster_is_read():
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GDAL_CACHEMAX", "HUB_WEB_GDAL_CACHE_MB")}
    probe = ("import hub.wsgi, os, compositing.archive.files; "
             "print(os.environ['GDAL_CACHEMAX'])")
    out = subprocess.run([sys.executable, "-c", probe], env={**clean, "DEBUG": "1"},
                         check=True, capture_output=True, text=True)
    assert out.stdout.split()[-1] == str(memory.DEFAULT_WEB_GDAL_CACHE_MB)


def test_serving_the_web_after_the_imports_still_sizes_the_cache_before_the_first_read():
    """As under `manage.py runserver`, where the apps import the readers first."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GDAL_CACHEMAX", "HUB_WEB_GDAL_CACHE_MB")}
    probe = ("import os, compositing.archive.files; from compositing import memory; "
             "memory.serve_web(); print(os.environ['GDAL_CACHEMAX'])")
    done = subprocess.run([sys.executable, "-c", probe], env=clean, check=True,
                          capture_output=True, text=True)
    assert done.stdout.split()[0] == str(memory.DEFAULT_WEB_GDAL_CACHE_MB)
    own = subprocess.run([sys.executable, "-c", probe], env={**clean, "GDAL_CACHEMAX": "80"},
                         check=True, capture_output=True, text=True)
    assert own.stdout.split()[0] == "80"
