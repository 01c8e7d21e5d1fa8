"""What the benchmarks share: PostgreSQL URLs and creating their own database."""

from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def libpq_url(url: str) -> str:
    """The URL libpq accepts (DATABASE_URL may say postgres:// or pgsql://)."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit(f"--database-url must be a PostgreSQL URL, got {parts.scheme!r}")
    return urlunsplit(parts._replace(scheme="postgresql"))


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit("--database-url needs a database name")
    return name


def database_create(url: str, *, drop: bool, force: bool) -> None:
    """Create the database if it is missing; with `drop`, drop it first. A benchmark drops only
    a database whose name says "bench", unless forced."""
    name = database_name(url)
    if drop and "bench" not in name and not force:
        raise SystemExit(
            f"refusing to drop database {name!r}: its name lacks 'bench' (use --force)"
        )
    maintenance = urlunsplit(urlsplit(libpq_url(url))._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if drop:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
