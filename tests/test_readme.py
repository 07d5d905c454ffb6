"""Every command block of README.md runs as written, in order, against the demo archive, in a
shell beside a running hub, as a reader runs them after `make run`.

What the test changes, and only that: the hub listens on a free port instead of 8000, and
writes under this test's folder (its environment points HUB_STATE_DIR, HUB_MEDIA_ROOT and
HUB_ARCHIVE_DIR there, as `make run` points them under var/); output folders the README names
(~/mosaics, /tmp/mosaics) become folders of this test; `PATH...` becomes a demo item. The
shell has neither DEBUG nor SECRET_KEY: what the README's commands need, they say. The block
of `make run` and `make test` is not run (this test is part of the second and starts the hub
as the first does); a TOML block is loaded as an operator's archives file.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import requests

from compositing.archive.archives import load_archives
from tests.hubstack import REPO, manage, running_hub, wait_for

pytestmark = pytest.mark.heavy

BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme_blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced block of the README, in order."""
    return BLOCK.findall((REPO / "README.md").read_text())


def run_block(text: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str],
                                                        dict[str, str]]:
    """The block in bash (stopping at the first failing command), from the project folder;
    and the environment it leaves (its variables, as the next block of a reader's shell
    sees them)."""
    env_file = Path(env["TEST_TMP"]) / "block.env"
    script = f"set -euo pipefail\nset -a\n{text}\nenv -0 > {env_file}\n"
    proc = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"README block failed:\n{text}\n{proc.stdout}\n{proc.stderr}"
    left = dict(item.split("=", 1) for item in env_file.read_text().split("\0") if "=" in item)
    return proc, left


def test_every_readme_block_works_as_written(demo_archive: Path, tmp_path: Path) -> None:
    blocks = readme_blocks()
    assert len([b for b in blocks if b[0] == "sh"]) >= 5, "the README lost its command blocks"
    item = next(demo_archive.rglob("S2*_L2A.json"))
    with running_hub("embedded", tmp_path, demo_archive, env={"DEBUG": "1"}) as hub:
        manage(hub["env"], "shell", "-c", "from django.contrib.auth import get_user_model; "
                                          "get_user_model().objects.create_user('demo', "
                                          "password='demo-password-1')")
        shell = {k: v for k, v in hub["env"].items() if k not in ("DEBUG", "SECRET_KEY")}
        shell.update(HOME=str(tmp_path / "home"), TEST_TMP=str(tmp_path),
                     PATH=f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
        (tmp_path / "home").mkdir()
        outputs: list[str] = []
        for language, text in blocks:
            if language == "toml":
                file = tmp_path / "archives.toml"
                file.write_text(text)
                names = re.findall(r"^\[archives\.([\w-]+)\]", text, re.MULTILINE)
                assert [a.name for a in load_archives(",".join(names), file)] == names
                continue
            assert language == "sh", f"a README block in {language!r}: teach this test it"
            if text.lstrip().startswith("make "):
                continue
            text = (text.replace("http://127.0.0.1:8000", hub["base"])
                    .replace("/tmp/mosaics", str(tmp_path / "mosaics"))
                    .replace("PATH...", str(item)))
            block_env = dict(shell)
            own: set[str] = set()  # what this test set for the block alone
            if "manage.py ingest" in text:  # registered in an archive of its own
                block_env["HUB_ARCHIVE_DIR"] = str(tmp_path / "ingested")
                own.add("HUB_ARCHIVE_DIR")
            if "mosaichub-download get" in text:
                _wait_for_orders(hub["base"], shell["KEY"])
            proc, left = run_block(text, block_env)
            shell.update({k: v for k, v in left.items()
                          if k not in ("DEBUG", "SECRET_KEY", *own)})
            outputs.append(proc.stdout + proc.stderr)
        text = "\n".join(outputs)
        # What each block is for, seen done: an order placed and delivered, downloaded and
        # verified, a product and a change composed in-process, an item registered, an order
        # published.
        assert re.search(r'"id":\s*"?[\w-]+', text), text
        assert "complete and verified" in text
        downloaded = [p for p in (tmp_path / "home" / "mosaics").rglob("*.tif")]
        assert downloaded, text
        assert list((tmp_path / "mosaics").rglob("*.tif")), text
        assert list((tmp_path / "mosaics").rglob("change_class_*.tif")), text  # a change order
        assert "1 registered" in text
        assert "created in Sentinel-2 Global Mosaic" in text  # an order published


def _wait_for_orders(base: str, key: str) -> None:
    """Until every order of the key's owner has ended (the README's reader waits for the
    'Ready' status before downloading), and check they are done."""
    headers = {"Authorization": f"Token {key}"}

    def ended() -> bool:
        listing = requests.get(f"{base}/api/v1/mosaics", headers=headers, timeout=10).json()
        return all(r["status"] in ("DONE", "FAILED", "CANCELLED") for r in listing["results"])

    wait_for(ended, 300)
    listing = requests.get(f"{base}/api/v1/mosaics", headers=headers, timeout=10).json()
    assert listing["results"] and all(r["status"] == "DONE" for r in listing["results"]), listing
