"""Settings helpers fail loudly on values that cannot be right."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hub.env import broker_config, database_config, env_bool, env_int


@pytest.mark.parametrize("raw,value", [("1", True), ("yes", True), ("On", True), ("0", False),
                                       ("false", False), ("", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, value):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG") is value


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")


def test_env_int_refuses_text_and_small_values(monkeypatch):
    monkeypatch.setenv("X_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("X_N", 1)
    monkeypatch.setenv("X_N", "3")
    with pytest.raises(ImproperlyConfigured, match="at least 16"):
        env_int("X_N", 1, minimum=16)
    monkeypatch.delenv("X_N")
    assert env_int("X_N", 7) == 7


def test_database_defaults_to_sqlite_and_reads_postgres_urls(tmp_path):
    assert database_config("", tmp_path)["ENGINE"] == "django.db.backends.sqlite3"
    pg = database_config("postgres://u:p@127.0.0.1:5432/hub", tmp_path)
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["NAME"], pg["HOST"], pg["PORT"]) == ("hub", "127.0.0.1", 5432)


def test_database_refuses_unsupported_schemes(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_config("mysql://root@localhost/hub", tmp_path)


def test_broker_defaults_to_a_serverless_transport(tmp_path):
    url, options = broker_config("", tmp_path)
    assert url == "filesystem://"
    assert Path(options["data_folder_in"]).is_dir()
    assert Path(options["control_folder"]).is_relative_to(tmp_path)
    assert broker_config("redis://127.0.0.1:6379/0", tmp_path, 90) == (
        "redis://127.0.0.1:6379/0", {"visibility_timeout": 90, "queue_order_strategy": "priority"})
    with pytest.raises(ImproperlyConfigured, match="CELERY_BROKER_URL"):
        broker_config("kafka://x", tmp_path)


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off(tmp_path):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "hub.settings",
           "HOME": str(tmp_path)}
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=root,
                          env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "SECRET_KEY must be set" in proc.stderr
