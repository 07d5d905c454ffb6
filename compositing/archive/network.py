"""GDAL's options for archive files read over HTTP(S) and S3, set on purpose.

Remote COGs are read by HTTP range requests (GDAL's /vsicurl/ and /vsis3/). GDAL's defaults
are made for one interactive user, not for a worker reading a year of granules: opening a file
would list its folder first (an extra request per file, a LIST on S3), neighbouring blocks
would each cost a request, and a stalled connection could hold a chunk for minutes. The
options below are set for the process unless the operator's environment sets them already
(GDAL reads a config option from the environment when nothing else set it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

NETWORK_OPTIONS: Mapping[str, str] = {
    # Open a file without listing its folder for sidecar files (.aux.xml, .ovr, .msk).
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # The COG header and its tile index in the first request (S2 COGs: under 32 KB).
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    # The blocks of one window in one request: adjacent ranges merged, others in a multi-range
    # request where the server takes them.
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIRANGE": "YES",
    # Transient faults (429, 5xx, dropped connections) are retried with a growing delay.
    "GDAL_HTTP_MAX_RETRY": "5",
    "GDAL_HTTP_RETRY_DELAY": "1",
    # A server that stops answering fails the read instead of holding the chunk.
    "GDAL_HTTP_CONNECTTIMEOUT": "15",
    "GDAL_HTTP_TIMEOUT": "60",
    # Connections kept open and reused across the reads of one process.
    "GDAL_HTTP_TCP_KEEPALIVE": "YES",
}


def configure_network(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Set NETWORK_OPTIONS in the environment where it does not set them already; the options
    now in force."""
    env = os.environ if environ is None else environ
    for key, value in NETWORK_OPTIONS.items():
        env.setdefault(key, value)
    return {key: env[key] for key in NETWORK_OPTIONS}
