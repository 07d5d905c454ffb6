"""Product expiry is scheduled wherever the hub runs: make run and docker compose."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_make_run_runs_beat_inside_its_single_worker():
    run = (REPO / "bin" / "run-hub").read_text()
    worker_lines = [line for line in run.splitlines() if "celery -A workers worker" in line]
    assert len(worker_lines) == 1 and " -B " in worker_lines[0]


def test_compose_runs_exactly_one_beat_apart_from_the_scalable_workers():
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    beats = [name for name, svc in services.items()
             if "beat" in svc.get("command", []) or "-B" in svc.get("command", [])]
    assert beats == ["beat"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "workers", "beat"]
    assert services["beat"]["environment"] == services["worker"]["environment"]
    assert services["beat"]["volumes"] == services["worker"]["volumes"]
