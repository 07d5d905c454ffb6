"""The embedded broker: kombu's filesystem transport with messages that appear whole.

kombu's filesystem transport creates a message's file, then locks it and writes it; a worker
that lists the folder in between moves the empty file away, fails to decode it and stops with
"Unrecoverable error: JSONDecodeError" (seen when beat sent a task while a worker polled). Here
a message is written under a name no queue matches and renamed into place once complete, which
on one file system is atomic.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's filesystem Channel names the argument `payload`, its virtual base `message`.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Put `payload` onto `queue`, visible to readers only once written."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: `_get` and `_size` match "<anything>.<queue>.msg" after the first dot,
        # which ".<name>.tmp" never does.
        partial = os.path.join(self.data_folder_out, f".{name}.tmp")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


# The name CELERY_BROKER_TRANSPORT gives the embedded broker (hub.env.broker_config).
TRANSPORT = "hub.broker:Transport"
