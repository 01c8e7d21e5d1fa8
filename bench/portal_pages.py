"""The member's pages on the demo data with the production server: p50/p95 per page.

    .venv/bin/python bench/portal_pages.py [--requests 200]

Creates its own PostgreSQL database (a name with "bench" in it), migrates it and loads the demo
(`manage.py load_demo`), logs in the member with the most point operations (a session made the
way the login does), starts granian as in production (2 workers, 2 threads each, DEBUG off) and
requests each page of `/me/` (and the public ones: login, join, a consent) --requests times one after another on a keep-alive connection.
Prints JSON: per page p50, p95 and max in ms, and whether each p95 is under the issue's 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from types import SimpleNamespace

from benchdb import database_create
from pos_commit import HttpConnection, Server, django_setup, manage, percentile

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopilka_portalbench"
PAGES = ["/me/", "/me/card/", "/me/card/qr.svg", "/me/history/", "/me/history/?page=2",
         "/me/history/?kind=earn&since=2026-01-01", "/me/rewards/", "/me/program/",
         "/me/profile/", "/me/privacy/"]  # fmt: skip
PUBLIC = ["/login/", "/join/", "/consent/personal-data/", "/manifest.webmanifest"]
TARGET_P95_MS = 100.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    url = args.database_url
    database_create(url, drop=True, force=False)
    manage(url, "migrate", "--noinput", "-v0")
    loaded = json.loads(manage(url, "load_demo").stdout.splitlines()[0])
    django_setup(url)
    from django.contrib.sessions.backends.db import SessionStore
    from django.db.models import Count

    from kopilka.ledger.models import Transfer
    from kopilka.portal.session import KEY

    busiest = (
        Transfer.objects.values("member_id").annotate(n=Count("id")).order_by("-n").first() or {}
    )
    session = SessionStore()
    session[KEY] = busiest["member_id"]
    session.save()
    server = Server(url, SimpleNamespace(server="granian", workers=2, threads=2))
    results = {}
    try:
        server.wait_ready()
        conn = HttpConnection("127.0.0.1", server.port)
        for path in PAGES + PUBLIC:
            cookie = f"Cookie: sessionid={session.session_key}\r\n" if path in PAGES else ""
            request = (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"{cookie}Accept-Language: ru\r\n\r\n"
            ).encode()
            for _ in range(5):  # warm: templates compiled, connections open in both workers
                status, _body = conn.request(request)
                if status != 200:
                    raise RuntimeError(f"{path}: HTTP {status}")
            times = []
            for _ in range(args.requests):
                start = time.perf_counter()
                conn.request(request)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            p95 = percentile(times, 95)
            results[path] = {
                "p50_ms": round(percentile(times, 50), 2),
                "p95_ms": round(p95, 2),
                "max_ms": round(times[-1], 2),
                "met": p95 < TARGET_P95_MS,
            }
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "benchmark": "portal_pages",
                "loaded": {k: loaded[k] for k in ("members", "purchases") if k in loaded},
                "member_operations": busiest.get("n"),
                "requests_per_page": args.requests,
                "pages": results,
                "target_p95_ms": TARGET_P95_MS,
                "met": all(r["met"] for r in results.values()),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
