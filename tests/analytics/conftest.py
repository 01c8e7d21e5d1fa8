from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _snapshots_in_tmp(settings: object, tmp_path: Path) -> None:
    settings.KOPILKA_ANALYTICS_DIR = tmp_path / "analytics"  # type: ignore[attr-defined]
