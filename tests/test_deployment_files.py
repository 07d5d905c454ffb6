"""docker-compose.yml and the Makefile stay consistent with the settings and entry points."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_the_production_services():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert "gunicorn hub.wsgi" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "workers", "worker"]


def test_compose_uses_the_same_setting_names_as_the_hub():
    settings_text = (REPO / "hub" / "settings.py").read_text()
    env = compose()["services"]["web"]["environment"]
    assert compose()["services"]["worker"]["environment"] == env
    for name in env:
        assert f'"{name}"' in settings_text, f"{name} is not read by hub/settings.py"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["CELERY_BROKER_URL"].startswith("redis://")


def test_compose_services_share_the_product_volume():
    services = compose()["services"]
    assert services["web"]["volumes"] == services["worker"]["volumes"] == ["products:/data"]


def test_make_run_starts_the_same_entry_points():
    run = (REPO / "bin" / "run-hub").read_text()
    assert "celery -A workers worker" in run and "manage.py migrate" in run
