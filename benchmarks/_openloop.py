"""A lean open-loop HTTP/1.1 load generator for the benchmarks (asyncio streams, keep-alive).

Why not httpx: its connection pool walks every queued request against every connection each time
one is assigned, so once a few hundred requests are in flight the *load generator* spends its core
in that loop, answers pile up unread in its sockets and the measured latency is its own (seen in
refresh_contention_bench: 120 server connections idle with nothing to send, the client 100 % busy
in `AsyncConnectionPool._assign_requests_to_connections`, p99 "16-22 s"). Here an idle connection
is popped from a stack and a new one is opened when none is idle: O(1) per request.

Latency is measured from the moment a request was *scheduled* to leave, not from when the client
got round to sending it, so a client or server that falls behind shows up in the figures
(no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    """A response: its status, headers (lower-case names; repeated ones joined by ', ' except
    set-cookie, kept as a list) and body."""

    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: bytes


#: A connection idle this long is not reused: uvicorn closes idle keep-alive connections after 5 s
#: (`--timeout-keep-alive`), and a request sent as it closes would fail.
IDLE_S = 4.0


class ClosedEarly(Exception):
    """The server closed the connection before a whole response came back."""


@dataclass
class Connections:
    """Keep-alive connections to one server: the idle ones on a stack, a new one when none is."""

    host: str
    port: int
    idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = field(
        default_factory=list
    )
    opened: int = 0

    async def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> Answer:  # fmt: skip
        while self.idle:
            since, reader, writer = self.idle.pop()
            if time.monotonic() - since < IDLE_S:
                try:
                    return await self._send(reader, writer, method, path, headers, body)
                except (ClosedEarly, ConnectionResetError, BrokenPipeError):
                    continue  # the server closed it as we reused it: a new connection, as browsers do
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return await self._send(reader, writer, method, path, headers, body)

    async def _send(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str,
                    path: str, headers: dict[str, str] | None, body: bytes) -> Answer:  # fmt: skip
        try:
            lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
            lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
            if body or method == "POST":
                lines.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            answer, keep = await _read(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self.idle.append((time.monotonic(), reader, writer))
        else:
            writer.close()
        return answer

    def close(self) -> None:
        for _since, _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _read(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    status_line = await reader.readline()
    if not status_line:
        raise ClosedEarly("connection closed before the status line")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    cookies: list[str] = []
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            cookies.append(value)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    keep = headers.get("connection", "").lower() != "close"
    return Answer(status, headers, cookies, body), keep


@dataclass(frozen=True)
class Sample:
    """One request of a run: its kind, when it was due (s from the start), its outcome (an HTTP
    status or an error's name) and its latency from when it was due."""

    kind: str
    due: float
    outcome: str
    seconds: float


async def open_loop(
    plan: list[tuple[float, str]],
    send: Callable[[str], Awaitable[str]],
    *,
    timeout: float = 30.0,
) -> list[Sample]:
    """Start `send(kind)` at each planned time (seconds from now), whatever became of the
    earlier ones; each answers an outcome. A request not answered within `timeout` s counts as
    "Timeout"; one that raised, as its exception's name."""
    samples: list[Sample] = []
    start = time.perf_counter()

    async def one(due: float, kind: str) -> None:
        try:
            outcome = await asyncio.wait_for(send(kind), timeout)
        except TimeoutError:
            outcome = "Timeout"
        except Exception as exc:  # every failure is a result of the run
            outcome = type(exc).__name__
        samples.append(Sample(kind, due, outcome, time.perf_counter() - start - due))

    tasks = []
    for due, kind in plan:
        delay = start + due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, kind)))
    await asyncio.gather(*tasks)
    return samples
