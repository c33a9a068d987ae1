"""The dashboard's web server: the standard library's threading HTTP server, GET only.

Each request opens the store read-only, runs a few plain reads and closes it again, so no
connection and no read transaction outlives a request: a search writing to the same SQLite
file in WAL mode never waits on the dashboard. The pages are small HTML shells; the page's
script (``static/app.js``) reads the JSON below and draws every chart as SVG itself.

    GET /                              the studies
    GET /study/ID                      one study
    GET /study/ID/trial/N              one trial
    GET /api/studies                   the studies, with counts, best and last activity
    GET /api/study/ID?number=N&seq=S   trials new, running or finished since a cursor
    GET /api/study/ID/analysis         parameter importance, the Pareto front
    GET /api/study/ID/trial/N          one trial in full
    GET /static/app.js, /static/app.css
"""

from __future__ import annotations

import html
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from hpdeco.dashboard import data
from hpdeco.errors import HpdecoError, StudyNotFound
from hpdeco.store import StudyRow, open_store, redact
from hpdeco.store.changes import Cursor, changed_listing, trial_record
from hpdeco.store.sql import SQLStore

# Nothing but this server's own files may run or load: a name that slipped past escaping
# still could not run a script (inline scripts and style attributes are refused).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
</head>
<body data-page="{page}" data-study="{study}" data-trial="{trial}" data-poll="{poll}">
<header><a class="home" href="/">hpdeco</a> <span class="store">{store}</span>
<span id="status" class="status"></span></header>
<main id="main"><noscript>This page needs JavaScript (it ships with hpdeco; nothing is
fetched from the internet).</noscript></main>
<script src="/static/app.js"></script>
</body>
</html>
"""


class NotFound(HpdecoError):
    """A page or study that the store does not have (HTTP 404)."""


class DashboardServer(ThreadingHTTPServer):
    """Serves one store's studies; ``store`` is its path or URL (opened per request)."""

    daemon_threads = True  # a browser holding a connection open never blocks Ctrl+C

    def __init__(self, address: tuple[str, int], store: str, *, poll_s: float, log: TextIO) -> None:
        self.store = store
        self.shown_store = redact(store)  # never the password, in the page or the log
        self.poll_ms = int(poll_s * 1000)
        self.log = log
        super().__init__(address, Handler)

    @contextmanager
    def opened(self) -> Iterator[SQLStore]:
        store = open_store(self.store, read_only=True)
        try:
            yield store
        finally:
            store.close()


_ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), name)
    for p, name in (
        (r"/", "page_studies"),
        (r"/study/(\d+)", "page_study"),
        (r"/study/(\d+)/trial/(\d+)", "page_trial"),
        (r"/static/([a-z]+\.(?:js|css))", "static"),
        (r"/api/studies", "api_studies"),
        (r"/api/study/(\d+)", "api_study"),
        (r"/api/study/(\d+)/analysis", "api_analysis"),
        (r"/api/study/(\d+)/trial/(\d+)", "api_trial"),
    )
]


class Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    timeout = 60  # a connection that sends nothing (a browser's preconnect) is dropped
    server_version = "hpdeco-dashboard"
    sys_version = ""

    # -- GET only -----------------------------------------------------------------------------

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.command != "GET":
            # The dashboard only reads: every other method, known or not, is refused here.
            self._send(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{self.command} is not allowed: the dashboard is read-only (GET only)\n".encode(),
                "text/plain; charset=utf-8",
                {"Allow": "GET"},
            )
            return False
        return True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        for pattern, name in _ROUTES:
            match = pattern.fullmatch(url.path)
            if match:
                route: Callable[..., None] = getattr(self, name)
                try:
                    route(*(int(g) if g.isdigit() else g for g in match.groups()), query=query)
                except (NotFound, StudyNotFound) as exc:
                    self._json({"error": str(exc)}, HTTPStatus.NOT_FOUND)
                except HpdecoError as exc:
                    self._json({"error": str(exc)}, HTTPStatus.SERVICE_UNAVAILABLE)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the browser went away (a reload): nothing to answer
                except Exception as exc:
                    self._fail(exc)
                return
        self._json({"error": f"no page at {url.path!r}"}, HTTPStatus.NOT_FOUND)

    # -- pages --------------------------------------------------------------------------------

    def _page(self, page: str, title: str, study: int | str = "", trial: int | str = "") -> None:
        text = PAGE.format(
            title=html.escape(title),
            page=page,
            study=study,
            trial=trial,
            poll=self.server.poll_ms,
            store=html.escape(self.server.shown_store),
        )
        self._send(HTTPStatus.OK, text.encode(), "text/html; charset=utf-8")

    def page_studies(self, *, query: Any) -> None:
        self._page("studies", "hpdeco studies")

    def page_study(self, study: int, *, query: Any) -> None:
        self._page("study", "hpdeco study", study)

    def page_trial(self, study: int, trial: int, *, query: Any) -> None:
        self._page("trial", "hpdeco trial", study, trial)

    def static(self, name: str, *, query: Any) -> None:
        if name not in STATIC:
            raise NotFound(f"no file {name!r}")
        body = (resources.files("hpdeco.dashboard") / "static" / name).read_bytes()
        self._send(HTTPStatus.OK, body, STATIC[name])

    # -- JSON ---------------------------------------------------------------------------------

    def api_studies(self, *, query: Any) -> None:
        with self.server.opened() as store:
            studies = []
            for row in store.studies():
                seen = store.overview(row.id, row.direction)
                studies.append(
                    {
                        "id": row.id,
                        "name": row.name,
                        "objectives": data.objectives_of(row),
                        "counts": {s.value: n for s, n in seen.counts.items()},
                        "best": None
                        if seen.best is None
                        else {"number": seen.best[0], "value": data.number(seen.best[1])},
                        "last_activity": seen.last_activity or row.created_at,
                    }
                )
        self._json({"store": self.server.shown_store, "studies": studies})

    def api_study(self, study: int, *, query: dict[str, list[str]]) -> None:
        since = Cursor(_int(query, "number", -1), _int(query, "seq", 0))
        with self.server.opened() as store:
            row = _study(store, study)
            listing = changed_listing(store, row.id, since)
            body = data.listing_json(row, store, listing)
        self._send(HTTPStatus.OK, body, "application/json")

    def api_analysis(self, study: int, *, query: Any) -> None:
        with self.server.opened() as store:
            self._json(data.analysis_json(_study(store, study), store))

    def api_trial(self, study: int, number: int, *, query: Any) -> None:
        with self.server.opened() as store:
            row = _study(store, study)
            record = trial_record(store, row.id, row.objective, number)
            if record is None:
                raise NotFound(f"study {row.name!r} has no trial {number}")
            self._json(data.trial_page_json(row, store, record))

    # -- answering ----------------------------------------------------------------------------

    def _json(self, payload: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, data.dumps(payload), "application/json")

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        kind: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _fail(self, exc: Exception) -> None:
        text = redact(" ".join(str(exc).split())) or type(exc).__name__
        print(
            f"hpdeco dashboard: error on {self.path}: {type(exc).__name__}: {text}",
            file=self.server.log,
        )
        if self.server.log is sys.stderr and sys.flags.dev_mode:
            traceback.print_exc()
        self._json({"error": f"{type(exc).__name__}: {text}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def log_message(self, format: str, *args: Any) -> None:
        # Polls every two seconds would drown the terminal: only failed requests are logged
        # (their paths hold numbers only; a store's locator is never in them).
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            print(f"hpdeco dashboard: {format % args}", file=self.server.log)


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    values = query.get(key)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        raise NotFound(f"{key}={values[0]!r} is not a whole number") from None


def _study(store: SQLStore, study_id: int) -> StudyRow:
    for row in store.studies():
        if row.id == study_id:
            return row
    raise NotFound(f"no study with id {study_id} in the store (deleted?)")


__all__ = ["DashboardServer", "Handler"]
