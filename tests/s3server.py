"""An S3 server on loopback (moto in server mode, a real HTTP S3 API in its own process)
holding a copy of a folder, as a provider's bucket holds an archive."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.hubstack import free_port

REGION = "us-east-1"
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours its request log


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # host:port, as GDAL's AWS_S3_ENDPOINT takes it
    bucket: str
    prefix: str
    log: Path
    pid: int = 0  # moto's server process

    def get_requests(self) -> list[str]:
        """The object GETs the server answered ("GET /bucket/key HTTP/1.1" 206 ...)."""
        text = _COLOUR.sub("", self.log.read_text().replace("\0", ""))
        return [line for line in text.splitlines() if '"GET /' in line]


@contextmanager
def s3_serving(folder: Path, tmp: Path, bucket: str = "eodata",
               prefix: str = "archive") -> Iterator[S3Server]:
    """moto's S3 server with `folder`'s files under s3://bucket/prefix/."""
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = tmp / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                 "-p", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/moto-api/", timeout=2)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"moto did not start: {log.read_text()}") from None
                time.sleep(0.1)
        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}",
                              aws_access_key_id="uploader", aws_secret_access_key="uploader",
                              region_name=REGION)
        client.create_bucket(Bucket=bucket)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder)}")
        log.write_text("")  # the uploads are not reads
        yield S3Server(f"127.0.0.1:{port}", bucket, prefix, log, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
