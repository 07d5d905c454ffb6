"""Compose a mosaic in this process, for scripts and tests (same pipeline as the workers).

Its options are the order options of the form and the REST API (`ORDER_OPTIONS`), generated
from the same definitions; lists are comma-separated.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from compositing.archive.scenes import ArchiveDataError
from compositing.orders.spec import ORDER_OPTIONS, OrderOption, SpecError, parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.services import mosaic_settings


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _help(option: OrderOption) -> str:
    text = option.help
    if option.choices is not None:
        text += f" ({'comma-separated, ' if option.many else ''}one of: "
        text += ", ".join(str(value) for value in option.choices) + ")"
    if option.default not in (None, ()):
        default = option.default
        shown = ",".join(default) if isinstance(default, tuple) else default
        text += f"; default {shown}"
    return text.replace("%", "%%")


def _aoi_text(value: str) -> str:
    """The AOI as given, or the content of the file it names."""
    try:
        path = Path(value)
        return path.read_text(encoding="utf-8") if path.is_file() else value
    except OSError:  # e.g. a GeoJSON text too long to be a file name
        return value


class Command(BaseCommand):
    help = "Compose a Sentinel-2 L2A mosaic into --out without the queue."

    def add_arguments(self, parser: Any) -> None:
        for name, option in ORDER_OPTIONS.items():
            extra = " (or a file holding it)" if name == "aoi" else ""
            parser.add_argument(_flag(name), dest=name, required=option.required,
                                help=_help(option) + extra)
        parser.add_argument("--out", required=True, type=Path, help="output directory")

    def handle(self, *args: Any, **opts: Any) -> None:
        options = {name: opts[name] for name in ORDER_OPTIONS if opts.get(name) is not None}
        options["aoi"] = _aoi_text(options["aoi"])
        try:
            spec = parse_spec(options)
        except SpecError as exc:
            raise CommandError(f"{_flag(exc.field)}: {exc.message}") from None
        out: Path = opts["out"].resolve()
        out.mkdir(parents=True, exist_ok=True)

        def progress(fraction: float) -> None:
            self.stderr.write(f"\r{100 * fraction:5.1f} %", ending="")

        try:
            result = run_mosaic(spec, mosaic_settings(), out, uuid.uuid4().hex[:8], progress)
        except ArchiveDataError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write("")
        self.stdout.write(f"{result.folder}")
        for f in result.files:
            self.stdout.write(f"  {f.name}  {f.size} bytes  sha256 {f.sha256}")
