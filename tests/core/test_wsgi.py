"""The WSGI entry point a production server imports."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_loads_every_view_before_its_first_request() -> None:
    # the URLconf import takes seconds (the back office's charts); no till should wait for it
    probe = (
        "import sys, kopilka.wsgi; "
        "print('kopilka.pos.api' in sys.modules, 'kopilka.backoffice.views' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "DATABASE_URL": "sqlite:///:memory:",
            "DJANGO_SETTINGS_MODULE": "kopilka.settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
