"""docker-compose.yml and the Makefile stay consistent with the settings and entry points."""

import re
import subprocess
import sys
from pathlib import Path

import yaml
from django.core.management.utils import get_random_secret_key

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


def production_environment() -> dict[str, str]:
    """The web and worker environment docker-compose.yml documents, as compose resolves it:
    `${NAME:-default}` takes its default, `${NAME:?message}` (required) a test value."""
    values = {"SECRET_KEY": get_random_secret_key(), "POSTGRES_PASSWORD": "pg1secret"}

    def resolve(match: re.Match) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        return values[name] if op == ":?" else rest

    env = compose()["services"]["web"]["environment"]
    return {name: re.sub(r"\$\{(\w+)(:-|:\?)([^}]*)\}", resolve, str(value))
            for name, value in env.items()}


def test_compose_requires_the_secret_key_and_the_database_password():
    text = (REPO / "docker-compose.yml").read_text()
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD"):
        uses = re.findall(rf"\$\{{{name}(:-|:\?|-|\?|)", text)
        assert uses and set(uses) == {":?"}, f"{name} must be required, with no default"
    postgres = compose()["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"


def test_compose_image_runs_as_a_non_root_user():
    dockerfile = compose()["x-hub-image"]["build"]["dockerfile_inline"]
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(rf"^RUN useradd .*\b{users[-1]}$", dockerfile, re.MULTILINE)
    # The warm-up after USER: the kernels' cache is the runtime user's, not root's.
    assert dockerfile.index("USER") < dockerfile.index("compositing.selection.warmup")


def test_check_deploy_is_silent_in_the_documented_production_environment(tmp_path):
    env = {**production_environment(), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "hub.settings"}
    proc = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                           "WARNING"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues" in proc.stdout
    assert "WARN" not in (proc.stdout + proc.stderr).upper()


def test_readme_documents_the_production_environment():
    readme = (REPO / "README.md").read_text()
    for name in production_environment():
        assert f"`{name}`" in readme, f"{name} is set in docker-compose.yml, not in README"
