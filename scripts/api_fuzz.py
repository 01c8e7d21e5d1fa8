"""Schemathesis against our own OpenAPI schema on a real server and database, every check on.

    .venv/bin/python scripts/api_fuzz.py [--max-examples 30] [--seed 1]

Creates a fresh database beside DATABASE_URL's (PostgreSQL: <name>_fuzz; otherwise a SQLite file
in a temporary folder), migrates it, creates the store `central` with a terminal and a member
with points (the schema's examples name them) and an owner with a staff API token (each security
scheme gets its own credential, scripts/schemathesis.toml), starts gunicorn on a free port and runs
`schemathesis run --checks all` with every phase (examples, coverage, fuzzing, stateful). Our own
check (scripts/fuzz_hooks.py) adds: a request the schema calls valid is never refused as
unreadable. Prints schemathesis' report and one JSON line of figures; exits non-zero on any
failure.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def fresh_database(url: str, folder: Path) -> str:
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{folder / 'fuzz.sqlite3'}"
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'kopilka'}_fuzz"
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(base: str, key: str, path: str, body: dict, idempotency_key: str = "") -> int:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def seed(base: str, key: str) -> None:
    """The member and store the schema's examples name, with points to spend."""
    member = {"phone": "+79161234567", "name": "Анна", "consents": {"personal_data": True}}
    assert call(base, key, "/api/v1/members", member) == 201
    body = {
        "phone": "+79161234567",
        "store": "central",
        "receipt_number": "seed",
        "lines": [{"sku": "SEED", "quantity": "1", "price": "10000.00"}],
    }
    assert call(base, key, "/api/v1/purchases", body, "seed") == 201


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the server stopped while starting")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit("the server did not answer /healthz within 120 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "DATABASE_URL": fresh_database(os.environ.get("DATABASE_URL", ""), folder),
            "KOPILKA_VAR_DIR": str(folder),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "false",
        }
        manage(env, "migrate", "--noinput", "-v0")
        key = manage(env, "create_terminal", "--store", "central").strip().splitlines()[-1]
        manage(
            env, "createsuperuser", "--noinput", "--username", "fuzz", "--email", "fuzz@example.org"
        )
        staff_token = manage(env, "create_staff_token", "fuzz", "--name", "fuzz").strip()
        staff_token = staff_token.splitlines()[-1]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                *(str(BIN / "gunicorn"), "kopilka.wsgi:application", "--pythonpath", "src"),
                *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--limit-request-line", "0"),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "server.log", "wb"),  # noqa: SIM115
        )
        try:
            wait_ready(base, server)
            seed(base, key)
            started = time.monotonic()
            done = subprocess.run(
                [
                    str(BIN / "schemathesis"),
                    "--config-file",
                    str(ROOT / "scripts" / "schemathesis.toml"),
                    "run",
                    f"{base}/api/v1/openapi.json",
                    "--checks",
                    "all",
                    "--phases",
                    "examples,coverage,fuzzing,stateful",
                    "--max-examples",
                    str(args.max_examples),
                    "--seed",
                    str(args.seed),
                    "--report",
                    "junit",
                    "--report-dir",
                    str(folder / "report"),
                    "--workers",
                    "2",
                    "--no-color",
                ],
                env={
                    **env,
                    "SCHEMATHESIS_HOOKS": "scripts.fuzz_hooks",
                    "PYTHONPATH": str(ROOT),
                    "KOPILKA_FUZZ_TERMINAL_KEY": key,
                    "KOPILKA_FUZZ_STAFF_TOKEN": staff_token,
                },
                cwd=folder,  # its example database (.schemathesis/) stays out of the checkout
                capture_output=True,
                text=True,
            )
            seconds = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(30)
        print(done.stdout[-20000:])
        print(done.stderr[-5000:], file=sys.stderr)
        errors = [
            line
            for line in (folder / "server.log").read_text(errors="replace").splitlines()
            if '"level": "ERROR"' in line
        ]
        server_errors = len(errors)
        for line in errors[:10]:  # what broke, with its traceback, for whoever reads the run
            print(line, file=sys.stderr)
    figures = {
        "benchmark": "api_fuzz",
        "exit_code": done.returncode,
        "seconds": round(seconds, 1),
        "max_examples": args.max_examples,
        "server_errors_logged": server_errors,
        **summary(done.stdout),
    }
    print(json.dumps(figures, ensure_ascii=False))
    return done.returncode or (1 if server_errors else 0)


def summary(report: str) -> dict[str, object]:
    """The figures of schemathesis' closing lines ("1234 generated, 0 failures ...")."""
    figures: dict[str, object] = {}
    for number, label in re.findall(r"(\d+) (generated|passed|failed|skipped|errors?)", report):
        figures[label] = int(number)
    if match := re.search(r"Test cases:\s*\n\s*(.+)", report):
        figures["test_cases"] = match.group(1).strip()
    return figures


if __name__ == "__main__":
    sys.exit(main())
