"""mosaichub-download against a live hub: list, get, resume, rerun, checksum, errors."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from hub.mosaics.models import ProductFile, Status
from tests.hub.test_downloads import make_product

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]




@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


@pytest.fixture
def files() -> dict[str, bytes]:
    return {"B04.tif": os.urandom(700_000), "B08.tif": os.urandom(300_001),
            "metadata.json": b'{"tiles": ["29UPU"]}'}


@pytest.fixture
def done(alice, media, files):
    return make_product(alice, media, files, name="june", folder="S2_JUNE")


def run_cli(live_server, *args: str, token: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, as a user runs it."""
    command = [sys.executable, "-m", "mosaichub_cli.download", "--url", live_server.url]
    if token is not None:
        command += ["--token", token]
    full_env = {k: v for k, v in os.environ.items() if k != "MOSAICHUB_TOKEN"}
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={**full_env, **(env or {})})


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_list_prints_id_name_status_and_size(live_server, alice, bob, alice_token, media,
                                             done):
    make_product(alice, media, {}, name="july", folder="S2_JULY", status=Status.RUNNING)
    make_product(bob, media, {"x.tif": b"x"}, name="bobs", folder="BOB")
    result = run_cli(live_server, "list", token=alice_token)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "SIZE", "NAME"]
    row = next(line for line in lines if str(done.id) in line)
    assert "DONE" in row and "june" in row and "976.6 KiB" in row
    assert any("RUNNING" in line and "july" in line for line in lines)
    assert "bobs" not in result.stdout


def test_get_all_downloads_every_finished_product_verified(live_server, alice, alice_token,
                                                           media, done, files, out):
    make_product(alice, media, {}, name="july", folder="S2_JULY", status=Status.RUNNING)
    result = run_cli(live_server, "--out", str(out), "--parallel", "3", "get", "--all",
                     env={"MOSAICHUB_TOKEN": alice_token})
    assert result.returncode == 0, result.stderr
    got = {p.name: p.read_bytes() for p in (out / "S2_JUNE").iterdir()}
    assert got == files
    assert "3 of 3 files complete and verified" in result.stderr
    assert "[" + "#" * 30 + "] 100.0%" in result.stderr  # the progress bar reached the end
    assert not (out / "S2_JULY").exists()


def test_options_may_follow_the_command_as_the_readme_writes_them(live_server, alice_token,
                                                                  done, files, out):
    """`get --all --out DIR --parallel 4`: given after the command, an option wins over the
    same given before it."""
    result = run_cli(live_server, "--out", str(out / "not-here"), "get", "--all", "--out",
                     str(out), "--parallel", "2", env={"MOSAICHUB_TOKEN": alice_token})
    assert result.returncode == 0, result.stderr
    assert {p.name: p.read_bytes() for p in (out / "S2_JUNE").iterdir()} == files
    assert not (out / "not-here").exists()


def test_a_rerun_skips_files_that_are_complete_and_verified(live_server, alice_token, done,
                                                            out):
    first = run_cli(live_server, "--out", str(out), "get", str(done.id), token=alice_token)
    assert first.returncode == 0, first.stderr
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "S2_JUNE").iterdir()}
    again = run_cli(live_server, "--out", str(out), "get", str(done.id), token=alice_token)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already complete") == 3
    assert "downloaded:" not in again.stderr
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "S2_JUNE").iterdir()}


def test_an_interrupted_transfer_resumes_from_the_part_file(live_server, alice_token, done,
                                                            files, out):
    folder = out / "S2_JUNE"
    folder.mkdir(parents=True)
    half = len(files["B04.tif"]) // 2
    (folder / "B04.tif.part").write_bytes(files["B04.tif"][:half])
    result = run_cli(live_server, "--out", str(out), "get", str(done.id), token=alice_token)
    assert result.returncode == 0, result.stderr
    assert f"resuming {folder / 'B04.tif'} at {half} bytes" in result.stderr
    assert sha((folder / "B04.tif").read_bytes()) == sha(files["B04.tif"])
    assert not list(folder.glob("*.part"))


def test_a_corrupt_part_is_detected_deleted_and_downloaded_again(live_server, alice_token,
                                                                 done, files, out):
    folder = out / "S2_JUNE"
    folder.mkdir(parents=True)
    (folder / "B08.tif.part").write_bytes(b"\0" * 1000)
    (folder / "metadata.json").write_bytes(b"stale")
    result = run_cli(live_server, "--out", str(out), "get", str(done.id), token=alice_token)
    assert result.returncode == 0, result.stderr
    assert "checksum mismatch" in result.stderr and "replacing" in result.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files


def test_a_checksum_mismatch_is_retried_once_then_reported(live_server, alice_token, done,
                                                           out):
    ProductFile.objects.filter(request=done, name="B08.tif").update(sha256="f" * 64)
    result = run_cli(live_server, "--out", str(out), "get", str(done.id), token=alice_token)
    assert result.returncode == 1
    assert result.stderr.count("checksum mismatch") == 2
    assert "FAILED" in result.stderr and "2 of 3 files" in result.stderr
    folder = out / "S2_JUNE"
    assert sorted(p.name for p in folder.iterdir()) == ["B04.tif", "metadata.json"]


def test_a_bad_token_exits_3(live_server, done):
    result = run_cli(live_server, "list", token="not-a-token")
    assert result.returncode == 3
    assert "refused the token" in result.stderr and "Traceback" not in result.stderr


def test_no_token_is_a_usage_error(live_server):
    result = run_cli(live_server, "list")
    assert result.returncode == 2 and "MOSAICHUB_TOKEN" in result.stderr


# Ids are drawn inside the test: a random value in the parameter list would give each xdist
# worker a different test id, and the run would refuse to start.
@pytest.mark.parametrize("request_id", ["unknown", "not-a-uuid", "bobs"])
def test_an_unknown_or_foreign_id_exits_4(live_server, bob, alice_token, media, out,
                                          request_id):
    if request_id == "unknown":
        request_id = str(uuid.uuid4())
    elif request_id == "bobs":
        request_id = str(make_product(bob, media, {"x.tif": b"x"}, folder="BOB").id)
    result = run_cli(live_server, "--out", str(out), "get", request_id, token=alice_token)
    assert result.returncode == 4
    assert f"unknown request id {request_id!r}" in result.stderr
    assert not out.exists()


def test_a_product_not_ready_is_reported(live_server, alice, alice_token, media, out):
    req = make_product(alice, media, {}, name="july", folder="S2_JULY", status=Status.RUNNING)
    result = run_cli(live_server, "--out", str(out), "get", str(req.id), token=alice_token)
    assert result.returncode == 1 and "not ready" in result.stderr


def test_an_unreachable_server_exits_5(alice_token):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "mosaichub_cli.download", "--url", f"http://127.0.0.1:{port}",
         "--token", alice_token, "list"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 5
    assert "cannot reach the hub" in result.stderr and "Traceback" not in result.stderr
