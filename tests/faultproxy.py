"""An HTTP proxy on loopback that puts faults between a reader and a real server: latency,
503s, dropped connections, refusals. It relays requests and responses byte for byte (keeping
connections alive as the server does) and asks a policy what to do with each request.

Used by the remote-archive tests (GDAL's retries) and by bench/remote.py (latency)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Action:
    """What the proxy does with one request: wait `delay_s`, then answer `status` itself
    (with an empty body), drop the connection unanswered, or forward it."""

    delay_s: float = 0.0
    status: int | None = None
    drop: bool = False


FORWARD = Action()
# policy(method, path, how many requests for this path came before) -> Action
Policy = Callable[[str, str, int], Action]


@dataclass
class Proxy:
    base: str
    seen: Counter[str] = field(default_factory=Counter)
    actions: list[tuple[str, str, Action]] = field(default_factory=list)
    forwarded: int = 0  # requests the server answered
    bytes_out: int = 0  # bytes of its answers relayed (status line and headers included)
    in_flight: int = 0
    most_in_flight: int = 0  # requests being answered at once, at most
    # (seconds since the proxy started when a request came and when it was answered, method,
    # path), for a timeline of the reads
    timeline: list[tuple[float, float, str, str]] = field(default_factory=list)
    thread_ident: int | None = None  # the relaying thread's, for its CPU time

    def cpu_s(self) -> float:
        """CPU seconds the relaying thread has used so far: on a benchmark's machine it shares
        the cores with the reader, which a real network would not."""
        if self.thread_ident is None:
            return 0.0
        return time.clock_gettime(time.pthread_getcpuclockid(self.thread_ident))


@contextmanager
def fault_proxy(upstream_port: int, policy: Policy) -> Iterator[Proxy]:
    """A proxy to 127.0.0.1:upstream_port on a free loopback port, in a thread of its own."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    state: dict[str, object] = {}
    proxy = Proxy("")
    lock = threading.Lock()
    t0 = time.monotonic()

    async def relay_response(upstream: asyncio.StreamReader, client: asyncio.StreamWriter,
                             method: str) -> bool:
        head = await upstream.readuntil(b"\r\n\r\n")
        client.write(head)
        sent = len(head)
        length = 0
        keep = True
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            if name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                keep = False
        if method != "HEAD":
            remaining = length
            while remaining:
                chunk = await upstream.read(min(remaining, 1 << 16))
                if not chunk:
                    return False
                client.write(chunk)
                remaining -= len(chunk)
                sent += len(chunk)
        await client.drain()
        with lock:
            proxy.forwarded += 1
            proxy.bytes_out += sent
        return keep

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []  # 0 or 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, path, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
                with lock:
                    n = proxy.seen[path]
                    proxy.seen[path] += 1
                action = policy(method, path, n)
                with lock:
                    proxy.actions.append((method, path, action))
                    proxy.in_flight += 1
                    proxy.most_in_flight = max(proxy.most_in_flight, proxy.in_flight)
                came = time.monotonic() - t0
                try:
                    if not await respond(action, head, method, writer, upstream):
                        return
                finally:
                    with lock:
                        proxy.in_flight -= 1
                        proxy.timeline.append((came, time.monotonic() - t0, method, path))
        finally:
            for _, upstream_writer in upstream:
                upstream_writer.close()
            writer.close()

    async def respond(action: Action, head: bytes, method: str, writer: asyncio.StreamWriter,
                      upstream: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
                      ) -> bool:
        """Answer one request as the action says; whether the connection stays open."""
        if action.delay_s:
            await asyncio.sleep(action.delay_s)
        if action.drop:
            return False
        if action.status is not None:
            writer.write(f"HTTP/1.1 {action.status} Injected\r\nContent-Length: 0\r\n"
                         f"Connection: keep-alive\r\n\r\n".encode())
            await writer.drain()
            return True
        if not upstream:
            upstream.append(await asyncio.open_connection("127.0.0.1", upstream_port))
        upstream[0][1].write(head)
        await upstream[0][1].drain()
        return await relay_response(upstream[0][0], writer, method)

    async def serve() -> None:
        stop = asyncio.Event()
        state["stop"] = stop
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        proxy.base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        started.set()
        await stop.wait()
        server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        await server.wait_closed()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),),
                              name="fault-proxy", daemon=True)
    thread.start()
    proxy.thread_ident = thread.ident
    if not started.wait(10):
        raise RuntimeError("the fault proxy did not start")
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
        thread.join(10)
        loop.close()
