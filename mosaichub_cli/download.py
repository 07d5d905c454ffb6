"""mosaichub-download: list and fetch finished mosaics, resuming, in parallel, verified.

    mosaichub-download --url http://127.0.0.1:8000 --token KEY list
    mosaichub-download --token KEY --out products get --all
    MOSAICHUB_TOKEN=KEY mosaichub-download get 3f2c…  [more ids]

Exit codes: 0 done, 1 some file failed or a product is not ready, 2 usage, 3 token refused,
4 unknown request id, 5 server unreachable, 130 interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TextIO
from xml.etree import ElementTree as ET

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130
CHUNK_SIZE = 256 * 1024
NETWORK_TRIES = 5  # transfer attempts per checksum attempt; each resumes from the .part
METALINK = "{urn:ietf:params:xml:ns:metalink}"
USER_AGENT = "mosaichub-download/0.1"


class CliError(Exception):
    """A failure to report in one line, with the exit code it maps to."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message, self.code = message, code


class Interrupted(Exception):  # noqa: N818 - a signal, not an error
    """The user pressed Ctrl-C: stop transfers, keep the .part files."""


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch: where it lives, what it must hash to, where it goes."""

    url: str
    size: int
    sha256: str
    target: Path

    @property
    def part(self) -> Path:
        """The partial download, resumed from its size on the next run."""
        return self.target.with_name(self.target.name + ".part")


class Hub:
    """The hub's REST API, authenticated with an API token."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.token, self.timeout = token, timeout

    def url(self, path: str) -> str:
        """An absolute URL from an API path (as the hub's links give them) or a URL."""
        return urllib.parse.urljoin(self.base_url, path)

    def open(self, url: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        """Open a URL; 401 and an unreachable server become CliError, other HTTP errors raise."""
        request = urllib.request.Request(self.url(url), headers={
            "Authorization": f"Token {self.token}", "User-Agent": USER_AGENT, **(headers or {})})
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                raise CliError(f"the hub refused the token (401: {error_text(exc)}); "
                               "check --token or MOSAICHUB_TOKEN", EXIT_AUTH) from None
            raise
        except urllib.error.URLError as exc:
            raise CliError(f"cannot reach the hub at {self.base_url}: {exc.reason}",
                           EXIT_UNREACHABLE) from None

    def get_json(self, path: str) -> Any:
        """GET a JSON document."""
        with self.open(path, {"Accept": "application/json"}) as response:
            return json.load(response)

    def mosaics(self) -> list[dict[str, Any]]:
        """Every request of the token's owner, newest first."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.get_json(f"api/v1/mosaics?limit=100&offset={len(found)}")
            found.extend(page["results"])
            if not page["results"] or len(found) >= page["count"]:
                return found

    def mosaic(self, request_id: str) -> dict[str, Any]:
        """One request, or CliError EXIT_NOT_FOUND."""
        try:
            uuid.UUID(request_id)
            return self.get_json(f"api/v1/mosaics/{request_id}")
        except ValueError:
            pass
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        raise CliError(f"unknown request id {request_id!r} (not yours, or never existed)",
                       EXIT_NOT_FOUND)

    def metalink(self, request_id: str) -> bytes:
        """The product's Metalink 4 document (folder, sizes, checksums, URLs)."""
        with self.open(f"api/v1/mosaics/{request_id}/metalink") as response:
            return response.read()


def error_text(exc: urllib.error.HTTPError) -> str:
    """The API's {"error": ...} message of an HTTP error, or its reason."""
    try:
        return str(json.loads(exc.read())["error"])
    except (ValueError, KeyError, TypeError, OSError):
        return str(exc.reason)


def safe_relative(name: str) -> PurePosixPath:
    """A server-given relative path, refused if it could escape the output folder."""
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts):
        raise CliError(f"the hub sent an unsafe file name {name!r}")
    return path


def folder_name(name: str) -> str:
    """A request name as a single folder name."""
    return re.sub(r"[^\w.\- ]+", "_", name).strip(" .") or "product"


def product_files(hub: Hub, mosaic: dict[str, Any], out: Path) -> list[RemoteFile]:
    """The files of a finished product and where they go: OUT/<product folder>/<name>."""
    root = ET.fromstring(hub.metalink(mosaic["id"]))
    fallback = folder_name(mosaic["options"]["name"])
    files = []
    for entry in root.iter(f"{METALINK}file"):
        relative = safe_relative(entry.get("name", ""))
        if len(relative.parts) == 1:
            relative = PurePosixPath(fallback) / relative
        files.append(RemoteFile(
            url=hub.url(entry.findtext(f"{METALINK}url", "")),
            size=int(entry.findtext(f"{METALINK}size", "0")),
            sha256=entry.findtext(f"{METALINK}hash", "").strip().lower(),
            target=out.joinpath(*relative.parts)))
    return files


def human_size(size: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


class Progress:
    """Byte and file counts shared by the download threads, drawn as a text bar on stderr."""

    def __init__(self, files: Sequence[RemoteFile], stream: TextIO) -> None:
        self.total = sum(f.size for f in files)
        self.files_total = len(files)
        self.done: dict[Path, int] = {}
        self.files_done = 0
        self.moved = 0
        self.started = time.monotonic()
        self.stream = stream
        self.live = stream.isatty()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self._drawn = False

    def update(self, remote: RemoteFile, done: int, moved: int = 0) -> None:
        """Record that `done` bytes of a file are on disk, `moved` of them just transferred."""
        with self.lock:
            self.done[remote.target] = done
            self.moved += moved

    def finish(self, remote: RemoteFile, message: str) -> None:
        """A file is settled (downloaded, skipped or failed): print a line and the bar."""
        with self.lock:
            self.files_done += 1
            self.done.setdefault(remote.target, 0)
            self._print(f"{message}\n{self.bar()}" if not self.live else message)

    def note(self, message: str) -> None:
        """A line above the bar."""
        with self.lock:
            self._print(message)

    def bar(self) -> str:
        """'[#####.....]  50%  5.0 MiB/10.0 MiB  1.2 MiB/s  1/2 files'."""
        done = sum(self.done.values())
        fraction = done / self.total if self.total else 1.0
        filled = int(fraction * 30)
        rate = self.moved / max(time.monotonic() - self.started, 1e-6)
        return (f"[{'#' * filled}{'.' * (30 - filled)}] {fraction * 100:5.1f}%  "
                f"{human_size(done)}/{human_size(self.total)}  {human_size(rate)}/s  "
                f"{self.files_done}/{self.files_total} files")

    def _print(self, message: str) -> None:
        if self.live and self._drawn:
            self.stream.write("\r\033[K")
        self.stream.write(message + "\n")
        if self.live:
            self.stream.write(self.bar())
            self._drawn = True
        self.stream.flush()

    def run(self) -> None:
        """Redraw the bar on a terminal until stopped."""
        while self.live and not self.stop.wait(0.25):
            with self.lock:
                self.stream.write("\r\033[K" + self.bar())
                self._drawn = True
                self.stream.flush()
        if self.live and self._drawn:
            self.stream.write("\r\033[K" + self.bar() + "\n")
            self.stream.flush()


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def download(hub: Hub, remote: RemoteFile, progress: Progress, cancel: threading.Event) -> bool:
    """Fetch one file into place, verified; True when it is complete and its checksum matches."""
    name = str(remote.target)
    if remote.target.is_file():
        if remote.target.stat().st_size == remote.size and sha256_of(remote.target) == \
                remote.sha256:
            progress.update(remote, remote.size)
            progress.finish(remote, f"already complete: {name}")
            return True
        progress.note(f"replacing {name}: it does not match the hub's checksum")
        remote.target.unlink()
    remote.target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        digest = fetch_part(hub, remote, progress, cancel)
        if digest == remote.sha256:
            remote.part.replace(remote.target)
            progress.finish(remote, f"downloaded: {name} ({human_size(remote.size)})")
            return True
        remote.part.unlink(missing_ok=True)
        progress.update(remote, 0)
        if attempt == 1:
            progress.note(f"checksum mismatch for {name}: deleted, downloading again")
    progress.finish(remote, f"FAILED: {name}: checksum mismatch twice "
                            f"(expected sha256 {remote.sha256})")
    return False


def fetch_part(hub: Hub, remote: RemoteFile, progress: Progress,
               cancel: threading.Event) -> str:
    """Complete the .part file, resuming after network errors; its SHA-256."""
    for attempt in range(1, NETWORK_TRIES + 1):
        try:
            return transfer(hub, remote, progress, cancel)
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code not in (416, 500, 502,
                                                                           503, 504):
                raise CliError(f"{remote.target}: HTTP {exc.code}: {error_text(exc)}") from None
            if attempt == NETWORK_TRIES:
                raise CliError(f"{remote.target}: transfer failed: {exc}") from None
            progress.note(f"{remote.target}: {exc}; resuming (attempt {attempt + 1})")
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


def transfer(hub: Hub, remote: RemoteFile, progress: Progress, cancel: threading.Event) -> str:
    """One HTTP request appending to the .part from its current size; the SHA-256 when done."""
    offset = remote.part.stat().st_size if remote.part.exists() else 0
    if offset > remote.size:
        remote.part.unlink()
        offset = 0
    if offset == remote.size:  # a previous run got every byte but stopped before verifying
        progress.update(remote, offset)
        return sha256_of(remote.part)
    headers = {"Range": f"bytes={offset}-", "If-Range": f'"{remote.sha256}"'} if offset else {}
    try:
        response = hub.open(remote.url, headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 416:  # the .part does not fit the file any more: start again
            remote.part.unlink(missing_ok=True)
        raise
    with response:
        resumed = response.status == 206 and response.headers.get(
            "Content-Range", "").startswith(f"bytes {offset}-")
        if offset and resumed:
            progress.note(f"resuming {remote.target} at {offset} bytes")
        elif offset:
            progress.note(f"{remote.target}: the hub sent the whole file; starting over")
            offset = 0
        digest = hashlib.sha256()
        if offset:
            with remote.part.open("rb") as existing:
                while chunk := existing.read(CHUNK_SIZE):
                    digest.update(chunk)
        progress.update(remote, offset)
        with remote.part.open("ab" if offset else "wb") as out:
            while chunk := response.read(CHUNK_SIZE):
                if cancel.is_set():
                    raise Interrupted
                out.write(chunk)
                digest.update(chunk)
                offset += len(chunk)
                progress.update(remote, offset, len(chunk))
    return digest.hexdigest()


def command_list(hub: Hub, out: TextIO) -> int:
    """Print the caller's requests: id, status, size, name."""
    mosaics = hub.mosaics()
    out.write(f"{'ID':36}  {'STATUS':9}  {'SIZE':>10}  NAME\n")
    for mosaic in mosaics:
        size = sum(f["size"] for f in mosaic["files"])
        shown = human_size(size) if mosaic["files"] else "-"
        out.write(f"{mosaic['id']:36}  {mosaic['status']:9}  {shown:>10}  "
                  f"{mosaic['options']['name']}\n")
    if not mosaics:
        out.write("(no requests)\n")
    return EXIT_OK


def command_get(hub: Hub, ids: Sequence[str], every: bool, out_dir: Path, parallel: int,
                err: TextIO) -> int:
    """Download finished products; rerunning resumes and skips verified files."""
    if every:
        mosaics = [m for m in hub.mosaics() if m["status"] == "DONE"]
        if not mosaics:
            err.write("no finished products to download\n")
        not_ready = 0
    else:
        found = [hub.mosaic(request_id) for request_id in ids]
        mosaics = [m for m in found if m["status"] == "DONE"]
        for mosaic in found:
            if mosaic["status"] != "DONE":
                err.write(f"not ready: {mosaic['id']} {mosaic['options']['name']!r} is "
                          f"{mosaic['status_label']}\n")
        not_ready = len(found) - len(mosaics)
    files = [f for mosaic in mosaics for f in product_files(hub, mosaic, out_dir)]
    ok = fetch_all(hub, files, parallel, err)
    failed = len(files) - ok
    err.write(f"{ok} of {len(files)} files complete and verified in {out_dir}"
              + (f", {failed} failed" if failed else "") + "\n")
    return EXIT_FAILED if failed or not_ready else EXIT_OK


def fetch_all(hub: Hub, files: Sequence[RemoteFile], parallel: int, err: TextIO) -> int:
    """Download files on `parallel` threads with one progress bar; how many succeeded."""
    progress = Progress(files, err)
    cancel = threading.Event()
    drawer = threading.Thread(target=progress.run, daemon=True)
    drawer.start()
    ok = 0
    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    try:
        futures = {pool.submit(download, hub, f, progress, cancel): f for f in files}
        for future in as_completed(futures):
            try:
                ok += future.result()
            except CliError as exc:
                if exc.code in (EXIT_AUTH, EXIT_UNREACHABLE):
                    raise
                progress.finish(futures[future], f"FAILED: {exc.message}")
    except KeyboardInterrupt:
        raise Interrupted from None
    finally:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        progress.stop.set()
        drawer.join()
    return ok


def parser() -> argparse.ArgumentParser:
    """The command line."""
    cli = argparse.ArgumentParser(
        prog="mosaichub-download", description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 1)[1])
    _add_options(cli, defaults=True)
    commands = cli.add_subparsers(dest="command", required=True)
    # The options are taken after the command as well ("get --all --out DIR"); given there,
    # they win over the same given before it.
    _add_options(commands.add_parser("list", help="list your requests: id, status, size, name"),
                 defaults=False)
    get = commands.add_parser("get", help="download finished products (resumes, verifies)")
    _add_options(get, defaults=False)
    get.add_argument("ids", nargs="*", metavar="ID", help="request ids")
    get.add_argument("--all", action="store_true", help="every finished product")
    return cli


def _add_options(cli: argparse.ArgumentParser, defaults: bool) -> None:
    """The options every command takes: with their defaults on the main parser; without
    (argparse.SUPPRESS) on a command's, so that one not given after the command keeps the
    value given before it."""
    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    cli.add_argument("--url", default=default(os.environ.get("MOSAICHUB_URL",
                                                             "http://127.0.0.1:8000")),
                     help="the hub's address (default: $MOSAICHUB_URL or http://127.0.0.1:8000)")
    cli.add_argument("--token", default=default(os.environ.get("MOSAICHUB_TOKEN", "")),
                     help="an API token from the hub's account page (default: $MOSAICHUB_TOKEN)")
    cli.add_argument("--out", type=Path, default=default(Path(".")),
                     help="folder receiving one subfolder per product (default: .)")
    cli.add_argument("--parallel", type=int, default=default(4),
                     help="files at once (default: 4)")
    cli.add_argument("--timeout", type=float, default=default(60.0),
                     help="seconds per network read (default: 60)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code."""
    cli = parser()
    args = cli.parse_args(argv)
    if not args.token:
        cli.error("no API token: pass --token or set MOSAICHUB_TOKEN")
    if args.command == "get" and bool(args.ids) == args.all:
        cli.error("get needs request ids or --all (not both)")
    if args.parallel < 1:
        cli.error("--parallel must be at least 1")
    hub = Hub(args.url, args.token, args.timeout)
    try:
        if args.command == "list":
            return command_list(hub, sys.stdout)
        return command_get(hub, args.ids, args.all, args.out, args.parallel, sys.stderr)
    except CliError as exc:
        sys.stderr.write(f"mosaichub-download: {exc.message}\n")
        return exc.code
    except urllib.error.HTTPError as exc:
        sys.stderr.write(f"mosaichub-download: HTTP {exc.code}: {error_text(exc)}\n")
        return EXIT_FAILED
    except (Interrupted, KeyboardInterrupt):
        sys.stderr.write("\ninterrupted: rerun the same command to resume\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
