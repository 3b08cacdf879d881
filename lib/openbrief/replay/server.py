"""The replay Hub's HTTP server (:class:`ReplayHub`, :func:`serve`) and its command line.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit
from openbrief.replay.catalog import Catalog, DEFAULT_PAGE_SIZE, HubError, ReplayDataError, _DAY_PREFIX_RE, _as_days
from openbrief.replay.faults import FaultBook, FaultRule, _ERROR_ACTIONS, parse_fault


# ---------------------------------------------------------------------------
# HTTP


@dataclass(frozen=True)
class ServedRequest:
    """One request the replay Hub received."""

    method: str
    target: str              # path and query, as received
    status: int | None       # None: the connection was dropped without an answer
    fault: str | None = None  # the fault rule that fired, if any
    received: float = 0.0     # time.monotonic() when the request arrived, before any latency


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json_answer(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> _Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _Answer(status, body, dict(headers or {}))


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise HubError(400, "invalid cursor") from None
    if not isinstance(offset, int) or offset < 0:
        raise HubError(400, "invalid cursor")
    return offset


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, catalogs, page_size, faults, log, latency=0.0):
        super().__init__(address, _Handler)
        self.latency = latency
        self.catalogs: dict[str | None, Catalog] = catalogs
        self.newest = max(catalogs, key=lambda d: d or "")
        self.page_size = page_size
        self.faults = FaultBook(faults)
        self.requests: list[ServedRequest] = []
        self.log = log
        self.stopping = threading.Event()
        self._log_lock = threading.Lock()

    def record(self, request: ServedRequest) -> None:
        self.requests.append(request)
        if self.log is not None:
            status = "dropped" if request.status is None else request.status
            fault = f" [fault {request.fault}]" if request.fault else ""
            with self._log_lock:
                self.log.write(f"{request.method} {request.target} {status}{fault}\n")
                self.log.flush()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "openbrief-replay-hub"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Silence the stdlib's own stderr log: :meth:`_Server.record` logs instead."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        srv = self.server
        received = time.monotonic()
        if srv.latency:
            srv.stopping.wait(srv.latency)
        split = urlsplit(self.path)
        day_match = _DAY_PREFIX_RE.match(split.path)
        day, path = (day_match[1], day_match[2] or "/") if day_match else (None, split.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        route = ("models" if path.rstrip("/") == "/api/models"
                 else "model_info" if path.startswith("/api/models/") else "other")

        rule = srv.faults.pick(route, self._page_of(pairs) if route == "models" else None)
        fault = str(rule) if rule else None
        if rule and rule.action == "drop":
            srv.record(ServedRequest("GET", self.path, None, fault, received))
            self.close_connection = True
            return
        if rule and rule.action == "stall":
            srv.stopping.wait(rule.seconds)

        if rule and rule.action in _ERROR_ACTIONS:
            answer = self._fault_error(rule)
        else:
            try:
                answer = self._answer(day, path, split.path, route, pairs)
            except HubError as err:
                answer = _json_answer(err.status, {"error": err.message}, err.headers)
        if rule and rule.action == "malformed":
            answer = _Answer(200, b'[{"id": "replay/malformed", "likes": ')
        # recorded before the answer leaves, so a client that has its answer sees it in the log
        srv.record(ServedRequest("GET", self.path, answer.status, fault, received))
        self._send(answer, truncate=rule if rule and rule.action == "truncate" else None)

    def _page_of(self, pairs: list[tuple[str, str]]) -> int:
        cursor = dict(pairs).get("cursor")
        try:
            return (_decode_cursor(cursor) // self.server.page_size + 1) if cursor else 1
        except HubError:
            return 1

    def _answer(self, day, path, raw_path, route, pairs) -> _Answer:
        srv = self.server
        if day is None:
            catalog = srv.catalogs[srv.newest]
        elif day in srv.catalogs:
            catalog = srv.catalogs[day]
        else:
            known = ", ".join(sorted(d for d in srv.catalogs if d)) or "none (undated data)"
            raise HubError(404, f"unknown replay day {day!r}; days served: {known}")
        params: dict[str, list[str]] = {}
        for key, value in pairs:
            params.setdefault(key, []).append(value)

        if route == "models":
            return self._listing(catalog, params, raw_path, pairs)
        if route == "model_info":
            model_id = path[len("/api/models/"):].split("/revision/", 1)[0].rstrip("/")
            return _json_answer(200, catalog.model_info(model_id, params))
        raise HubError(404, f"no such route: {path}")

    def _listing(self, catalog, params, raw_path, pairs) -> _Answer:
        cursor = params.get("cursor")
        offset = _decode_cursor(cursor[-1]) if cursor else 0
        size = self.server.page_size
        items, total = catalog.list_models(params, offset, size)
        headers = {}
        if offset + size < total:
            kept = [(k, v) for k, v in pairs if k != "cursor"]
            query = urlencode([*kept, ("cursor", _encode_cursor(offset + size))])
            host = self.headers.get("Host") or "%s:%s" % self.server.server_address[:2]
            headers["Link"] = f'<http://{host}{raw_path}?{query}>; rel="next"'
        return _json_answer(200, items, headers)

    @staticmethod
    def _fault_error(rule: FaultRule) -> _Answer:
        headers = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
        if rule.ratelimit is not None:
            headers["RateLimit"] = f'"api";r=0;t={rule.ratelimit}'
            headers["RateLimit-Policy"] = '"fixed window";"api";q=500;w=300'
        message = "Too many requests" if rule.action == "429" else "Injected server error"
        return _json_answer(int(rule.action), {"error": message}, headers)

    def _send(self, answer: _Answer, truncate: FaultRule | None = None) -> None:
        body = answer.body
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if not (truncate and truncate.close):
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.close_connection = True
        try:
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncate else body)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the client gave up (e.g. timed out on a stall): nothing left to tell it


class ReplayHub:
    """A replay Hub serving in a daemon thread; use as a context manager. Each request is
    answered in its own thread, ``latency`` seconds after it arrived (the Hub's round trip).

    >>> with ReplayHub([{"id": "org/m", "downloads": 3}], page_size=3) as hub:
    ...     HfApi(endpoint=hub.url, token=False).model_info("org/m")   # doctest: +SKIP
    """

    def __init__(self, data: str | Path | Sequence[dict] | Mapping[str, Sequence[dict]], *,
                 host: str = "127.0.0.1", port: int = 0, page_size: int = DEFAULT_PAGE_SIZE,
                 faults: Iterable[FaultRule | str] = (), log: TextIO | None = None, latency: float = 0.0):
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {latency}")
        self.latency = latency
        self.catalogs = {day: Catalog(records) for day, records in _as_days(data).items()}
        self.days = sorted(d for d in self.catalogs if d)
        self._address = (host, port)
        self._page_size = page_size
        self._faults = [parse_fault(f) if isinstance(f, str) else f for f in faults]
        self._log = log
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._requests: list[ServedRequest] = []

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the server (kept after :meth:`stop`)."""
        if self._url is None:
            raise RuntimeError("ReplayHub is not started")
        return self._url

    @property
    def requests(self) -> list[ServedRequest]:
        """Every request served so far, in order (kept after :meth:`stop`)."""
        return self._requests

    def start(self) -> ReplayHub:
        """Bind the port and serve in a daemon thread; idempotent."""
        if self._server is None:
            server = _Server(self._address, self.catalogs, self._page_size, self._faults, self._log, self.latency)
            server.requests = self._requests
            host, port = server.server_address[:2]
            self._url = f"http://{host}:{port}"
            # A short poll interval keeps stop() fast (shutdown waits for one poll).
            self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"replay-hub {self._url}", daemon=True)
            self._server = server
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; stalled answers are cut short."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(data: str | Path | Sequence[dict], *, port: int = 0, page_size: int = DEFAULT_PAGE_SIZE,
          faults: Iterable[FaultRule | str] = (), out: TextIO = sys.stdout,
          log: TextIO | None = sys.stderr, latency: float = 0.0) -> int:
    """Serve in the foreground until SIGINT or SIGTERM; return an exit code.

    The first line written to ``out`` is exactly ``serving on http://127.0.0.1:PORT``.
    """
    stop = threading.Event()
    with ReplayHub(data, port=port, page_size=page_size, faults=faults, log=log, latency=latency) as hub:
        print(f"serving on {hub.url}", file=out, flush=True)
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    return 0


def _fault_arg(spec: str) -> FaultRule:
    try:
        return parse_fault(spec)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _whole(low: int, high: int):
    """An argparse ``type``: a whole number from ``low`` to ``high``."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be a whole number between {low} and {high}")
        return value
    return convert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``replay-hub`` command's arguments to ``parser``."""
    parser.add_argument("data", help="a JSON Lines file of Hub model records, or a folder of YYYY-MM-DD.jsonl")
    parser.add_argument("--port", type=_whole(0, 65535), default=0,
                        help="port on 127.0.0.1, 0 to 65535 (default 0: any free port)")
    parser.add_argument("--page-size", type=_whole(1, 1_000_000), default=DEFAULT_PAGE_SIZE,
                        help=f"items per /api/models page, at least 1 (default {DEFAULT_PAGE_SIZE})")
    parser.add_argument("--fault", action="append", default=[], type=_fault_arg, metavar="SPEC",
                        help="inject a fault, e.g. models:page=2:429:retry-after=1:times=1 (repeatable)")
    parser.add_argument("--latency-ms", type=_whole(0, 60_000), default=0,
                        help="delay every answer by this many milliseconds, 0 to 60000 (default 0); "
                             "requests are served concurrently, as the Hub serves them")


def run(args: argparse.Namespace) -> int:
    """Run the ``replay-hub`` command from parsed arguments; bad data or a port it cannot bind: one line, exit 2."""
    try:
        return serve(args.data, port=args.port, page_size=args.page_size, faults=args.fault,
                     latency=args.latency_ms / 1000)
    except ReplayDataError as err:
        problem = str(err)
    except OSError as err:
        problem = (f"cannot read {err.filename}: {err.strerror}" if err.filename else
                   f"cannot serve on 127.0.0.1:{args.port}: {err.strerror}; choose another --port (0: any free port)")
    print(f"openbrief: error: replay-hub: {problem}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openbrief.replay", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
