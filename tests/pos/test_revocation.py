"""A key revoked from the shell stops in every worker of a real multi-process server at once."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from kopilka.core.sql import postgres_url
from tests.conftest import postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_of(url: str, key: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def served(log: Path) -> list[tuple[int, int, str]]:
    """(worker pid, status, request id) for each request in the access log."""
    rows = []
    for line in log.read_text().splitlines():
        pid, status, request_id = line.split()
        rows.append((int(pid.strip("<>")), int(status), request_id))
    return rows


def test_a_key_revoked_from_the_shell_is_refused_by_every_worker_within_a_second(
    terminal, tmp_path: Path
) -> None:
    # given gunicorn with 4 worker processes, each of which has accepted the key
    _principal, key = terminal
    port, log = free_port(), tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url(connection.settings_dict),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    connection.close()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "kopilka.wsgi:application",
            "--pythonpath",
            str(ROOT / "src"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--access-logfile",
            str(log),
            "--access-logformat",
            "%(p)s %(s)s %(q)s",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1/members/lookup?phone=%2B79161234567&n="
    try:
        deadline = time.monotonic() + 120
        accepted: set[int] = set()
        batch = 0
        # requests 8 at a time, so that busy workers leave the next connection to the idle ones
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(accepted) < WORKERS:
                assert time.monotonic() < deadline, f"only workers {accepted} answered"
                batch += 1
                try:
                    urls = [f"{base}b{batch}-{i}" for i in range(8)]
                    list(pool.map(lambda url: status_of(url, key), urls))
                except (ConnectionError, urllib.error.URLError, TimeoutError):
                    time.sleep(0.2)
                    continue
                accepted = {pid for pid, status, _ in served(log) if status == 404}
            # when the owner revokes it from the shell
            subprocess.run(
                [sys.executable, "manage.py", "revoke_terminal", "--key", key],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            revoked_at = time.monotonic()
            # then every worker answers 401 from its first request on, all within a second
            refused_by: dict[int, float] = {}
            batch = 0
            while set(refused_by) != accepted and batch < 250:
                batch += 1
                urls = [f"{base}after{batch}-{i}" for i in range(8)]
                statuses = list(pool.map(lambda url: status_of(url, key), urls))
                assert set(statuses) == {401}, f"batch {batch} after the revoke got {statuses}"
                for pid, code, request_id in served(log):
                    if f"n=after{batch}-" in request_id and code == 401:
                        refused_by.setdefault(pid, time.monotonic() - revoked_at)
        assert set(refused_by) == accepted, (refused_by, accepted)
        assert max(refused_by.values()) < 1.0, refused_by
        assert all(code == 401 for _, code, rid in served(log) if "after" in rid)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
