"""Shared fixtures: the demo archive (built once per run), personas alice and bob."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# A small demo archive keeps the suite fast; the default `make run` archive is larger.
TEST_SCENE_SIZE_M = 2400


def _test_aoi_bbox() -> tuple[float, float, float, float]:
    """A 2 km square lon/lat bbox around the demo centre: inside the small test scenes and
    across the border of the two demo tiles."""
    from pyproj import Transformer

    from compositing.demo.archive import DEMO_CENTER_32629

    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    cx, cy = DEMO_CENTER_32629
    west, south = to_lonlat.transform(cx - 1000, cy - 1000)
    east, north = to_lonlat.transform(cx + 1000, cy + 1000)
    return (round(max(west, to_lonlat.transform(cx - 1000, cy + 1000)[0]), 5), round(south, 5),
            round(min(east, to_lonlat.transform(cx + 1000, cy - 1000)[0]), 5), round(north, 5))


TEST_AOI_BBOX = _test_aoi_bbox()


def pytest_configure(config: pytest.Config) -> None:
    """The test client and live_server speak plain HTTP, which DEBUG off redirects to HTTPS;
    tests/hub/test_settings_env.py checks the redirect itself. Runs without pytest-django
    (tests/compositing/test_django_free.py) leave Django alone."""
    if not config.pluginmanager.has_plugin("django"):
        return
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(scope="session")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo L2A archive (default month, two tiles), built once for the whole run."""
    from compositing.demo.archive import build_demo_archive

    archive = tmp_path_factory.mktemp("archive")
    build_demo_archive(archive, size_m=TEST_SCENE_SIZE_M)
    return archive


@pytest.fixture
def hub_dirs(settings, demo_archive: Path, tmp_path: Path) -> dict[str, Path]:
    """Point the hub at the demo archive and a fresh product folder."""
    media = tmp_path / "media"
    media.mkdir()
    settings.HUB_ARCHIVE_DIR = demo_archive
    settings.HUB_MEDIA_ROOT = media
    settings.HUB_STAC_URL = ""
    return {"archive": demo_archive, "media": media}


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-secret-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-secret-1")


@pytest.fixture
def alice_token(alice) -> str:
    from hub.accounts.models import ApiToken

    return ApiToken.issue(alice)[1]


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the clone; tests that read it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA} (../shared beside the clone)")
    return SHARED_DATA


@pytest.fixture
def fast_passwords(settings) -> None:
    """The personas' passwords need no real key stretching where a test logs in many times."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    """A fresh, empty HUB_MEDIA_ROOT, for tests that serve product files they write."""
    root = tmp_path / "media"
    root.mkdir()
    settings.HUB_MEDIA_ROOT = root
    return root
