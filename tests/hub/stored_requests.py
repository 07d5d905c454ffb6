"""Requests saved straight into the database, for tests that need one in a given state."""

from __future__ import annotations

from typing import Any

from compositing.orders.spec import MosaicSpec, parse_spec
from hub.mosaics.models import MosaicRequest, Status

DEMO_BBOX = [-7.46, 52.73, -7.43, 52.76]
OPTIONS: dict[str, Any] = {"aoi": DEMO_BBOX, "start": "2023-06-01", "period": "month",
                           "resolution": 20, "crs": "EPSG:32629", "bands": ["B04"]}


def spec_of(**changes: Any) -> MosaicSpec:
    """A valid order over the demo area, June 2023 at 20 m, with changes."""
    return parse_spec({**OPTIONS, **changes})


def stored_request(owner: Any, name: str = "r", status: str = Status.QUEUED,
                   options: dict[str, Any] | None = None, **fields: Any) -> MosaicRequest:
    """A request saved as the hub saves it (a validated spec), in the given state."""
    spec = spec_of(name=name, **(options or {}))
    req = MosaicRequest.from_spec(spec, owner)
    for key, value in {"status": status, **fields}.items():
        setattr(req, key, value)
    req.save()
    return req
