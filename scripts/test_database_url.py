"""Print the DATABASE_URL the test suite should use.

PostgreSQL is the real thing (row locks, concurrency tests), so it is the default: DATABASE_URL
if set, else the local server. When it is unreachable, CI fails loudly; a developer without
PostgreSQL gets SQLite and a warning, and the PostgreSQL-only tests are skipped.
"""

import os
import sys
from urllib.parse import urlsplit, urlunsplit

DEFAULT = "postgres://postgres@127.0.0.1:5432/kopilka"


def reachable(url: str) -> str | None:
    import psycopg

    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    try:
        psycopg.connect(maintenance, connect_timeout=5).close()
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


def main() -> int:
    url = os.environ.get("DATABASE_URL") or DEFAULT
    if not url.startswith(("postgres://", "postgresql://")):
        print(url)
        return 0
    problem = reachable(url)
    if problem is None:
        print(url)
        return 0
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        print(f"FATAL: PostgreSQL at {url} is unreachable and CI=true: {problem}", file=sys.stderr)
        return 1
    print(
        f"WARNING: PostgreSQL at {url} is unreachable ({problem}); testing on SQLite only.",
        file=sys.stderr,
    )
    print("sqlite:///:memory:")
    return 0


if __name__ == "__main__":
    sys.exit(main())
