"""The embedded broker under a writer and a reader at once (two real processes): every message
arrives whole. kombu's own filesystem transport lets a reader take a message file before it is
written (a worker then stops with JSONDecodeError)."""

from __future__ import annotations

import subprocess
import sys

from kombu import Connection

from hub.env import broker_config
from tests.hubstack import REPO

MESSAGES = 3000
WRITER = """
import sys
from kombu import Connection
from hub.env import broker_config
from pathlib import Path
url, options = broker_config("", Path(sys.argv[1]))
with Connection(url, transport="hub.broker:Transport", transport_options=options) as conn:
    queue = conn.SimpleQueue("race")
    for n in range(int(sys.argv[2])):
        queue.put({"n": n, "pad": "x" * 2000})
"""


def test_a_reader_never_sees_a_message_half_written(tmp_path):
    url, options = broker_config("", tmp_path)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(MESSAGES)],
                              cwd=REPO)
    got = []
    with Connection(url, transport="hub.broker:Transport",
                    transport_options={**options, "polling_interval": 0.0}) as conn:
        queue = conn.SimpleQueue("race")
        while len(got) < MESSAGES:
            message = queue.get(timeout=60)
            got.append(message.payload["n"])
            message.ack()
    writer.wait(timeout=60)
    assert writer.returncode == 0
    assert sorted(got) == list(range(MESSAGES))
