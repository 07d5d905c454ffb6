"""The OpenAPI 3.1 document of /api/v1, built from the same constants the validation uses."""

from __future__ import annotations

from typing import Any

from compositing.orders.spec import (
    LAYOUTS,
    MAX_CLOUD_BUFFER,
    MAX_NAME_LENGTH,
    ORDER_OPTIONS,
    TILINGS,
    OrderOption,
)
from hub.mosaics.models import Status
from hub.mosaics.paging import DEFAULT_PAGE, MAX_OFFSET, MAX_PAGE

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The whole document, with the server URL of the hub that serves it."""
    errors = {str(code): _json(_ERROR, text) for code, text in (
        (400, "invalid input; `field` names the offending option"),
        (413, "the body is over the size limit; `field` is 'body'"),
        (401, "not authenticated"), (404, "no such request of the caller"))}
    id_param = {"name": "id", "in": "path", "required": True,
                "schema": {"type": "string", "format": "uuid"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sentinel-2 Mosaic Hub API", "version": "1.0.0",
                 "description": "Order Sentinel-2 L2A mosaics (medoid / short-term composite), "
                                "follow their progress and download the products."},
        "servers": [{"url": server_url}],
        "security": [{"token": []}, {"session": []}],
        "paths": {
            "/mosaics": {
                "get": {"summary": "The caller's mosaic requests, newest first",
                        "parameters": [
                            {"name": "limit", "in": "query", "schema": {
                                "type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                "default": DEFAULT_PAGE}},
                            {"name": "offset", "in": "query", "schema": {
                                "type": "integer", "minimum": 0, "maximum": MAX_OFFSET,
                                "default": 0}}],
                        "responses": {"200": _json({"type": "object", "properties": {
                            "count": {"type": "integer"},
                            "results": {"type": "array", "items": {
                                "$ref": "#/components/schemas/MosaicSummary"}}}},
                            "a page of requests; each gives its AOI's bbox, and its "
                            "links.self every option"), **errors}},
                "post": {"summary": "Order a mosaic",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/Order"}}}},
                         "responses": {"201": _json({"$ref": "#/components/schemas/Mosaic"},
                                                    "queued"),
                                       "403": _json(_ERROR, "the caller's account has not "
                                                    "confirmed its e-mail address yet"),
                                       **errors}},
            },
            "/mosaics/{id}": {
                "parameters": [id_param],
                "get": {"summary": "Status, progress and files of a request",
                        "responses": {"200": _json({"$ref": "#/components/schemas/Mosaic"},
                                                   "the request"), **errors}},
                "delete": {"summary": "Cancel an active request, or remove a finished one",
                           "responses": {"200": _json({"$ref": "#/components/schemas/Mosaic"},
                                                      "cancelled"),
                                         "204": {"description": "removed with its files"},
                                         **errors}},
            },
            "/mosaics/{id}/zip": {
                "parameters": [id_param],
                "get": {"summary": "Every file of a finished product as one streamed zip",
                        "description": "The same bytes every time it is asked for (members "
                                       "stored in order, with their files' dates), so a Range "
                                       "request resumes it (curl -C -); If-Range takes its "
                                       "ETag. HEAD gives its length.",
                        "responses": {"200": {"description": "the zip",
                                              "content": {"application/zip": {}}},
                                      "206": {"description": "the requested byte range"},
                                      "409": _json(_ERROR, "not finished"),
                                      "416": {"description": "the range starts past the end"},
                                      **errors}},
            },
            "/mosaics/{id}/metalink": {
                "parameters": [id_param],
                "get": {"summary": "Metalink 4 list of the files with sizes and SHA-256",
                        "responses": {"200": {"description": "RFC 5854 document", "content": {
                            "application/metalink4+xml": {}}}, **errors}},
            },
            "/timeseries": {
                "get": {"summary": "Composite values of every period, or every observation, "
                                   "at a pixel (1x1 or 3x3)",
                        "parameters": [
                            {"name": n, "in": "query", "required": n in ("lon", "lat", "start",
                                                                         "end"),
                             "schema": {"type": t}}
                            for n, t in (("lon", "number"), ("lat", "number"),
                                         ("start", "string"), ("end", "string"),
                                         ("period", "string"), ("resolution", "integer"),
                                         ("window", "integer"), ("bands", "string"),
                                         ("kind", "string"), ("format", "string"),
                                         ("quality", "boolean"), ("extent", "string"),
                                         ("indices", "string"))],
                        "responses": {"200": {"description": _timeseries_columns(), "content": {
                            "text/csv": {}, "application/json": {}}}, **errors}},
            },
            "/mosaics/{id}/files/{name}": {
                "parameters": [id_param, {"name": "name", "in": "path", "required": True,
                                          "schema": {"type": "string"}}],
                "get": {"summary": "Download a product file",
                        "responses": {"200": {"description": "the file",
                                              "content": {"application/octet-stream": {}}},
                                      "206": {"description": "the requested byte range"},
                                      "410": _json(_ERROR, "the product expired; its files "
                                                           "were removed"),
                                      **errors}},
            },
        },
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "`Token <key>`"},
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            },
            "schemas": {"Order": _order_schema(), "Mosaic": _mosaic_schema(),
                        "MosaicSummary": _summary_schema(),
                        "Error": {"type": "object", "required": ["error"], "properties": {
                            "error": {"type": "string"}, "field": {"type": ["string", "null"]}}}},
        },
    }


def _timeseries_columns() -> str:
    """The CSV/JSON columns of the time-series answers, as a Markdown list."""
    from compositing.timeseries import COLUMN_DOCS

    lines = [f"- `{name}`: {doc}" for name, doc in COLUMN_DOCS.items()]
    return ("CSV (UTF-8, header row, ISO 8601 dates) or JSON rows: one per period "
            "(kind=composite) or per observation (kind=observations). Columns:\n"
            + "\n".join(lines))


# What JSON Schema says beyond an option's choices and default (ORDER_OPTIONS has those).
_SHAPES: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "pattern": f"^[A-Za-z0-9_-]{{1,{MAX_NAME_LENGTH}}}$"},
    "aoi": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "number"},
                                           "minItems": 4, "maxItems": 4},
                      {"type": "string", "examples": ["29UNU", "T29UNU"]}]},
    "start": {"type": "string", "format": "date"},
    "end": {"type": "string", "format": "date"},
    "crs": {"type": "string", "examples": ["EPSG:32631", "EPSG:4326", "UTM"]},
    "cloud_buffer": {"type": "integer", "minimum": 0, "maximum": MAX_CLOUD_BUFFER},
}
_NOTES: dict[str, str] = {
    "layout": ". " + "; ".join(f"'{k}': {v}" for k, v in LAYOUTS.items())
              + ". Refused with 400, field 'layout', where the format has no such layout.",
    "tiling": ". " + "; ".join(f"'{k}': {v}" for k, v in TILINGS.items())
              + ". 'mgrs' is refused (400, field 'tiling') for a non-UTM crs.",
}


def _option_schema(option: OrderOption) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": option.help + _NOTES.get(option.name, "")}
    if option.choices is not None:
        values = list(option.choices)
        kind = "integer" if all(isinstance(v, int) for v in values) else "string"
        item = {"type": kind, "enum": values}
        schema.update({"type": "array", "items": item} if option.many else item)
    schema.update(_SHAPES.get(option.name, {}))
    if option.default not in (None, ()):
        default = option.default
        schema["default"] = list(default) if isinstance(default, tuple) else default
    return schema


def _order_schema() -> dict:
    return {
        "type": "object",
        "required": [name for name, option in ORDER_OPTIONS.items() if option.required],
        "additionalProperties": False,
        "properties": {name: _option_schema(option) for name, option in ORDER_OPTIONS.items()},
    }


def _summary_schema() -> dict:
    """A request as the list gives it: the AOI's bbox instead of its geometry."""
    schema = _mosaic_schema()
    order = _order_schema()
    order["properties"].pop("aoi")
    order["required"] = [name for name in order["required"] if name != "aoi"]
    schema["properties"]["options"] = order
    schema["properties"]["bbox"] = {
        "type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
        "description": "the AOI's min_lon, min_lat, max_lon, max_lat (WGS 84); GET links.self "
                       "for its geometry"}
    return schema


def _mosaic_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "status": {"type": "string", "enum": [value for value, _ in Status.choices]},
            "status_label": {"type": "string"},
            "progress": {"type": "number", "minimum": 0, "maximum": 100,
                         "description": "99 x composed chunks / chunks; 100 once published"},
            "chunks": {"type": "object", "description": "the order's chunks composed so far "
                                                        "and in all (0 until it is planned)",
                       "properties": {"done": {"type": "integer"},
                                      "total": {"type": "integer"}}},
            "error": {"type": ["string", "null"]},
            "options": {"$ref": "#/components/schemas/Order"},
            "created": {"type": "string", "format": "date-time"},
            "started": {"type": ["string", "null"], "format": "date-time"},
            "finished": {"type": ["string", "null"], "format": "date-time"},
            "queue_position": {"type": ["integer", "null"],
                               "description": "1 = next to run, among all users' queued "
                                              "requests; null when not queued"},
            "expires": {"type": ["string", "null"], "format": "date-time",
                        "description": "when the product's files are removed (HUB_RETENTION_DAYS "
                                       "after it was published); status EXPIRED after that"},
            "files": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string",
                         "description": "path in the product folder; files of tile subfolders "
                                        "(tiling 'mgrs') are named like '29UNU/B04_M20_"
                                        "20230601_29UNU.tif'"},
                "size": {"type": "integer"},
                "sha256": {"type": "string"}, "href": {"type": "string"}}}},
            "links": {"type": "object"},
        },
    }
