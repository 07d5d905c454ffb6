"""One order on 1 and 2 worker processes, real Redis and PostgreSQL (issue 13).

The script starts everything itself: a new PostgreSQL database, a queue of its own on the
local Redis, Celery workers of one pool process each (`celery -A workers worker
--concurrency=1`, as many as asked), and orders placed through `services.create_request` as
the REST API places them. Every order is timed from its creation to DONE as read from the
database. Printed:

- machine: the speed-up of 2 processes over 1 for plain rasterio decoding of the archive's
  files on this machine, the ceiling of the next figure;
- scale: a quarter (Q2 2023) at 10 m over a square of --side-m (49 chunks of 256 px by
  default) composed by 1 and by 2 worker processes, alternately, --repeat times (the
  speed-up is the ratio of the median walls): wall time, chunks/s, the cores the workers
  kept busy (CPU seconds per wall second), the share of the wall time the pool processes spent
  inside tasks (the rest: waiting for work, the broker, start-up), peak RSS of each pool
  process (VmHWM), the seconds spent in each kind of task (planning, chunks, delivery: the
  first and the last run alone) and the speed-up; with the default reading threads (one per
  core: one process already keeps more than one core busy, which bounds what a second can add
  on 2 cores) and with one;
- fairness: a 10 km2 monthly order of another user, alone on the 2 workers, then placed while
  the big order runs (after its first chunks): how long it took, and the ratio;
- memory: monthly 10 m orders over 1x, 4x and 16x an area (--mem-side-m, 7.68 km: 1x holds
  whole chunks; the chunks of a smaller AOI are smaller, and so is its peak) on one fresh
  worker each: the pool process's peak RSS, and the largest peaks of a chunk task and of the
  delivery (each task logs its own);
- remote: a monthly 10 m order over --side-m composed by 1, 2 and 4 worker processes
  (--remote-workers) from the archive on disk, then from the same files served by nginx
  behind a proxy adding 100 ms to every request (bench/remote.py measures one process alone;
  here the hub's chunk tasks): wall times and their ratio;
- estimate: the wall time of a 1,000,000 km2 monthly 20 m order on 10 and 100 machines like
  this one (2 worker processes each), from the output pixel rate of a monthly 20 m order
  measured here on 2 processes; local archive reads, as here.

    DEBUG=1 .venv/bin/python bench/scale.py [--side-m 15360] [--chunk 256] [--mem-side-m 7680]
                                           [--parts scale,fairness,remote,estimate,memory]
                                           [--repeat 3] [--read-threads default,1]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _demo_hub import REPO, database, ensure_extent_archive
from django.core.management.utils import get_random_secret_key
from pipeline import aoi_square, covering_extent_km

QUARTER = ("2023-04-01", "2023-06-30")
BANDS = ["B02", "B03", "B04", "B08"]
AUX = ["valid_obs", "method"]
REDIS = "redis://127.0.0.1:6379/0"
MKM2 = 1e12  # a million square kilometres, in m2


class Workers:
    """Celery worker processes of one pool process each, killed as a group when stopped."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: list[subprocess.Popen] = []
        self.log_files: list[Path] = []

    def start(self, n: int) -> None:
        for _ in range(n):
            name = f"bench-{uuid.uuid4().hex[:6]}"
            self.log_files.append(self.logs / f"{name}.log")
            log = self.log_files[-1].open("w")
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers", "worker", "--concurrency=1",
                 "--loglevel=INFO", f"--hostname={name}@%h"], cwd=REPO, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        # Ready once every pool process has warmed up (services.warm_up logs it), so that no
        # order is timed while a process still loads its kernels.
        deadline = time.monotonic() + 300
        while not all(p.exists() and "warmed up in" in p.read_text() for p in self.log_files):
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start; logs in {self.logs}")
            time.sleep(0.2)

    @staticmethod
    def pool(proc: subprocess.Popen) -> list[int]:
        try:
            return [int(p) for p in
                    Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        except FileNotFoundError:
            return []

    def peak_rss_mib(self) -> list[float]:
        """VmHWM of every pool process, in MiB."""
        peaks = []
        for proc in self.procs:
            for pid in self.pool(proc):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
        return peaks

    def task_peaks(self) -> dict[str, float]:
        """The largest peak RSS (MiB) that tasks of each kind logged (`fanout.run_task`)."""
        peaks: dict[str, float] = {}
        for path in self.log_files:
            for line in path.read_text().splitlines():
                found = re.search(r"(mosaics\.\w+) [^:]*: [\d.]+ s, peak RSS (\d+) MiB", line)
                if found:
                    kind, mib = found.group(1).removeprefix("mosaics."), float(found.group(2))
                    peaks[kind] = max(peaks.get(kind, 0.0), mib)
        return peaks

    def task_seconds(self) -> dict[str, float]:
        """Seconds the pool processes spent inside tasks of each kind (plan, chunk, deliver),
        as each task logs (`fanout.run_task`), over the logs of the workers running now."""
        totals: dict[str, float] = {}
        for path in self.log_files:
            for line in path.read_text().splitlines():
                found = re.search(r"mosaics\.(\w+) [^:]*: ([\d.]+) s, peak RSS", line)
                if found:
                    kind = found.group(1)
                    totals[kind] = totals.get(kind, 0.0) + float(found.group(2))
        return totals

    def cpu_seconds(self) -> float:
        """User and system CPU time of every worker process and its pool so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for proc in self.procs:
            for pid in (proc.pid, *self.pool(proc)):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []
        self.log_files = []


def order(owner: Any, side_m: float, period: str, start: str, resolution: int) -> Any:
    from hub.mosaics.services import create_request, read_order

    return create_request(read_order({
        "name": f"scale{int(side_m)}", "aoi": aoi_square(side_m), "period": period,
        "start": start, "resolution": resolution, "crs": "EPSG:32629", "bands": BANDS,
        "aux": AUX}), owner)


def wait_done(req: Any, timeout: float = 3600) -> float:
    """Seconds from the request's creation until it is DONE."""
    from hub.mosaics.models import MosaicRequest, Status

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = MosaicRequest.objects.get(pk=req.pk)
        if row.status == Status.DONE:
            return (row.finished_at - row.created_at).total_seconds()
        if row.status in (Status.FAILED, Status.CANCELLED):
            raise RuntimeError(f"order {req.pk} {row.status}: {row.error}")
        time.sleep(0.05)
    raise RuntimeError(f"order {req.pk} not done within {timeout} s")


def wait_chunks(req: Any, chunks: int) -> None:
    from hub.mosaics.models import MosaicRequest

    while MosaicRequest.objects.get(pk=req.pk).chunks_done < chunks:
        time.sleep(0.05)


def scale_out(workers: Workers, env: dict[str, str], owner: Any, args: argparse.Namespace,
              threads: str) -> None:
    """The big order on 1, then 2 worker processes of `threads` reading threads each, the
    pair `args.repeat` times: the speed-up is the ratio of the median walls (on a shared
    machine one run of either can land in a slow spell)."""
    if threads == "default":
        env.pop("HUB_READ_THREADS", None)
    else:
        env["HUB_READ_THREADS"] = threads
    print(f"\nscale: {QUARTER[0][:7]} quarter at 10 m, {args.side_m / 1000:g} km square, "
          f"chunks of {args.chunk} px, HUB_READ_THREADS {threads}")
    print(f"{'workers':>8} {'chunks':>7} {'wall s':>8} {'chunks/s':>9} {'cores':>6} "
          f"{'in tasks':>9}  peak RSS MiB")
    walls: dict[int, list[float]] = {1: [], 2: []}
    cores: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.repeat):
        for n in (1, 2):
            workers.start(n)
            cpu0 = workers.cpu_seconds()
            req = order(owner, args.side_m, "quarter", QUARTER[0], 10)
            wall = wait_done(req)
            walls[n].append(wall)
            cores[n].append((workers.cpu_seconds() - cpu0) / wall)
            req.refresh_from_db()
            peaks = " ".join(f"{p:.0f}" for p in workers.peak_rss_mib())
            tasks = workers.task_seconds()
            deadline = time.monotonic() + 10  # the delivery logs after it set DONE
            while "deliver_request" not in tasks and time.monotonic() < deadline:
                time.sleep(0.1)
                tasks = workers.task_seconds()
            busy = sum(tasks.values()) / (n * wall)
            print(f"{n:>8} {req.chunks_total:>7} {wall:>8.1f} "
                  f"{req.chunks_total / wall:>9.2f} {cores[n][-1]:>6.2f} {busy:>8.0%}  "
                  f"{peaks}   ({', '.join(f'{k} {s:.2f} s' for k, s in sorted(tasks.items()))})")
            workers.stop()
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    used = statistics.median(cores[1])
    print(f"speed-up, 2 vs 1 worker processes: {one / two:.2f}x (median walls {one:.1f} and "
          f"{two:.1f} s of {args.repeat} runs each; goal >= 1.7x); one process used "
          f"{used:.2f} cores, so 2 cores allow at most {2 / used:.2f}x")
    env.pop("HUB_READ_THREADS", None)


_DECODE = """
import sys, time, rasterio
t0 = time.perf_counter()
for path in sys.argv[1:]:
    with rasterio.open(path) as src:
        src.read(1)
print(time.perf_counter() - t0)
"""


def machine_floor(archive: Path) -> float:
    """What 2 processes gain over 1 on this machine for the hub's own kind of work: decoding
    the archive's June COGs with rasterio alone, by 1 process, then the same by each of 2
    processes at once; the speed-up 2 x t1 / t2 (2.0 on two free, independent cores)."""
    files = sorted(str(p) for p in archive.glob("*/S2*_202306*/B0[2348].tif"))
    run = [sys.executable, "-c", _DECODE, *files]
    subprocess.run(run, check=True, capture_output=True)  # page cache and imports warm
    one = float(subprocess.run(run, check=True, capture_output=True, text=True).stdout)
    t0 = time.perf_counter()
    pair = [subprocess.Popen(run, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in pair:
        proc.communicate()
    both = time.perf_counter() - t0
    return 2 * one / both


def fairness(workers: Workers, owner: Any, other: Any, args: argparse.Namespace) -> None:
    """A 10 km2 order of another user alone, then beside the big order."""
    workers.start(2)
    small_side = 3162  # 10 km2, the small order
    alone = wait_done(order(other, small_side, "month", "2023-06-01", 10))
    big = order(owner, args.side_m, "quarter", QUARTER[0], 10)
    wait_chunks(big, 2)
    beside = wait_done(order(other, small_side, "month", "2023-06-01", 10))
    wait_done(big)
    workers.stop()
    print(f"\nfairness: a {small_side / 1000:g} km monthly order of another user took "
          f"{alone:.1f} s alone and {beside:.1f} s beside the big order: "
          f"{beside / alone:.2f}x (goal < 2x)")


def remote(workers: Workers, env: dict[str, str], owner: Any, archive: Path,
           args: argparse.Namespace, latency_s: float = 0.1) -> None:
    """The monthly order on 1 and 2 workers from disk, then over HTTP with latency."""
    from tests.archive_files import write_archives_file
    from tests.faultproxy import Action, fault_proxy
    from tests.webserver import nginx_serving

    print(f"\nremote: June 2023 at 10 m, {args.side_m / 1000:g} km square, chunks of "
          f"{args.chunk} px, from disk and over HTTP (nginx, +{latency_s * 1000:g} ms a request)")
    print(f"{'workers':>8} {'chunks':>7} {'disk s':>7} {'http s':>7} {'x disk':>7}")
    root = str(archive.resolve())
    delay = Action(delay_s=latency_s)
    with tempfile.TemporaryDirectory() as tmp, \
            nginx_serving(archive.resolve(), Path(tmp) / "nginx") as web, \
            fault_proxy(int(web.base.rsplit(":", 1)[1]), lambda *a: delay) as proxy:
        file = write_archives_file(Path(tmp) / "http.toml", "http", preset="local",
                                   href_rewrites=[[f"{root}/", f"{proxy.base}/"]])
        for n in (int(w) for w in args.remote_workers.split(",")):
            walls = []
            for archives in ({}, {"HUB_ARCHIVES": "http", "HUB_ARCHIVES_FILE": str(file)}):
                env.update(archives, HUB_ORDER_TASKS=str(max(2, n)))
                workers.start(n)
                req = order(owner, args.side_m, "month", "2023-06-01", 10)
                walls.append(wait_done(req))
                workers.stop()
                for name in archives:
                    env.pop(name)
                env["HUB_ORDER_TASKS"] = "2"
            req.refresh_from_db()
            print(f"{n:>8} {req.chunks_total:>7} {walls[0]:>7.1f} {walls[1]:>7.1f} "
                  f"{walls[1] / walls[0]:>7.2f}")


def estimate(workers: Workers, owner: Any, args: argparse.Namespace) -> None:
    """A 1,000,000 km2 monthly 20 m order on 10 and 100 machines, from one measured here."""
    workers.start(2)
    wall20 = wait_done(order(owner, args.side_m, "month", "2023-06-01", 20))
    workers.stop()
    px20 = (args.side_m / 20) ** 2
    rate = px20 / wall20  # output pixels per second on this machine (2 processes)
    total_px = MKM2 / 20 ** 2
    print(f"\nestimate: a monthly 20 m order here: {px20 / 1e6:.2f} Mpx in {wall20:.1f} s, "
          f"{rate / 1e3:.0f} kpx/s on 2 processes")
    for machines in (10, 100):
        minutes = total_px / (rate * machines) / 60
        print(f"  1,000,000 km2 monthly at 20 m ({total_px / 1e9:.1f} Gpx) on {machines} "
              f"such machines: about {minutes:.0f} min")


def memory(workers: Workers, owner: Any, args: argparse.Namespace) -> None:
    """One fresh worker per AOI of 1x, 4x and 16x the area: its pool process's peak RSS, and
    the largest peak of a chunk task and of the delivery."""
    print(f"\nmemory: monthly 10 m orders, chunks of {args.chunk} px, one fresh worker each")
    print(f"{'area':>5} {'side km':>8} {'chunks':>7} {'wall s':>8}  pool peak RSS MiB"
          f"   peak of a task: chunk, delivery")
    base = None
    for scale in (1, 4, 16):
        side = args.mem_side_m * math.sqrt(scale)
        workers.start(1)
        req = order(owner, side, "month", "2023-06-01", 10)
        wall = wait_done(req)
        req.refresh_from_db()
        peak = max(workers.peak_rss_mib())
        tasks = workers.task_peaks()
        workers.stop()
        base = base or peak
        print(f"{scale:>4}x {side / 1000:>8.2f} {req.chunks_total:>7} {wall:>8.1f}  "
              f"{peak:.0f} ({peak / base:.2f}x the 1x)   "
              f"{tasks.get('compose_chunk', 0):.0f}, {tasks.get('deliver_request', 0):.0f}")
    print("flat within 20 %: every ratio <= 1.20")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side-m", type=float, default=15360)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--mem-side-m", type=float, default=7680)
    parser.add_argument("--parts", default="scale,fairness,remote,estimate,memory",
                        help="which measurements, comma-separated")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each worker count in the scale measurement")
    parser.add_argument("--remote-workers", default="1,2,4",
                        help="worker processes of the remote measurement, comma-separated "
                             "(HUB_ORDER_TASKS set to match): more than the cores can help "
                             "when reads wait on round trips")
    parser.add_argument("--read-threads", default="default,1",
                        help="HUB_READ_THREADS of the workers in the scale runs ('default': "
                             "one per core)")
    args = parser.parse_args()
    subprocess.run([str(REPO / "bin" / "ensure-services")], check=True)
    largest = max(args.side_m, 4 * args.mem_side_m)
    extent = covering_extent_km(aoi_square(largest))
    archive = ensure_extent_archive(extent, extent, dates=QUARTER)

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, database("bench") as db_url:
        env = {**os.environ, "DEBUG": "0", "SECRET_KEY": get_random_secret_key(),
               "DATABASE_URL": db_url, "CELERY_BROKER_URL": REDIS,
               "HUB_QUEUE": f"bench-{uuid.uuid4().hex[:8]}", "HUB_ARCHIVE_DIR": str(archive),
               "HUB_MEDIA_ROOT": f"{tmp}/media", "HUB_STATE_DIR": f"{tmp}/state",
               "HUB_STAC_URL": "", "HUB_CHUNK_SIZE": str(args.chunk), "HUB_ORDER_TASKS": "2",
               "HUB_MAX_QUEUED_MPX": "1000000", "DJANGO_SETTINGS_MODULE": "hub.settings"}
        os.environ.update(env)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        users = get_user_model().objects
        alice = users.create_user("alice", password="bench-a-1")
        bob = users.create_user("bob", password="bench-b-1")
        logs = Path(tmp) / "logs"
        logs.mkdir()
        workers = Workers(env, logs)

        print(f"archive {archive.name}; Redis queue {env['HUB_QUEUE']}; 2 cores")
        if "scale" in args.parts:
            print(f"\nmachine: 2 processes decoding COGs with rasterio alone do "
                  f"{machine_floor(archive):.2f}x the work of 1 in the same time (the "
                  f"ceiling of any 2-process speed-up here)")
            for threads in args.read_threads.split(","):
                scale_out(workers, env, alice, args, threads)
        if "fairness" in args.parts:
            fairness(workers, alice, bob, args)
        if "remote" in args.parts:
            remote(workers, env, alice, archive, args)
        if "estimate" in args.parts:
            estimate(workers, alice, args)
        if "memory" in args.parts:
            memory(workers, alice, args)


if __name__ == "__main__":
    main()
