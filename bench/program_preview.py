"""The marketer console's live preview: how long one preview of a draft takes, as the page's
script sends it after each pause in typing (`POST /backoffice/program/preview/`).

    .venv/bin/python bench/program_preview.py [--requests 200]

Creates its own PostgreSQL database (a name with "bench" in it), migrates it and loads the demo,
then, in this process (Django's test client, a marketer's session, no HTTP server), sends the
console's own form for the program in force and for a 20-rule program (bench/rulegen.py) with
one figure changed, --requests times each. Prints JSON: p50, p95 and max in ms, the examples
priced per preview, and whether p95 is under the 300 ms the script waits between keystrokes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any

from benchdb import database_create
from pos_commit import django_setup, manage, percentile
from rulegen import rules_document

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopilka_previewbench"
TARGET_P95_MS = 300.0  # program.js waits 300 ms after the last keystroke


def _form() -> dict[str, Any]:
    """The console's form for the program in force, as a browser sends it unchanged."""
    from kopilka.backoffice.preview import shop_stores
    from kopilka.backoffice.program_forms import ProgramDraft
    from kopilka.program.engine.document import program_to_document
    from kopilka.program.selectors import program_in_force

    base = program_to_document(program_in_force())
    draft = ProgramDraft(None, base=base, stores=[store.code for store in shop_stores()])
    data: dict[str, Any] = {"key": uuid.uuid4().hex}
    for part in (draft.main, *draft.formsets.values()):
        bound_forms = [part] if part is draft.main else [part.management_form, *part.forms]
        for form in bound_forms:
            for field in form:
                value = field.value()
                if value is None or value is False:
                    continue
                data[field.html_name] = "on" if value is True else value
    return data


def _timed(client: Any, data: dict[str, Any], requests: int) -> dict[str, Any]:
    for _ in range(5):  # warm: templates compiled, caches filled
        answer = client.post("/backoffice/program/preview/", data)
        if answer.status_code != 200 or "examples" not in answer.content.decode():
            raise RuntimeError(f"preview failed: HTTP {answer.status_code}")
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        client.post("/backoffice/program/preview/", data)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    examples = answer.content.decode().count('<span class="label">')
    return {
        "examples": examples,
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "max_ms": round(times[-1], 2),
        "met": percentile(times, 95) < TARGET_P95_MS,
    }


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
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from kopilka.core.audit import Actor
    from kopilka.core.clock import now
    from kopilka.pos.models import Store
    from kopilka.program.selectors import program_cache_clear
    from kopilka.program.services import program_version_create

    marketer = User.objects.create_user("bench-marketer", is_staff=True)
    marketer.groups.add(Group.objects.get(name="marketer"))
    client = Client(HTTP_ACCEPT_LANGUAGE="ru", HTTP_HOST="127.0.0.1")
    client.force_login(marketer)
    results = {}
    data = _form()
    data["earn_percent"] = "7"
    results["default"] = _timed(client, data, args.requests)
    store = Store.objects.order_by("code").first()
    assert store is not None
    document = rules_document(20, at=now(), time_zone=store.time_zone, store=store.code)
    program_version_create(actor=Actor.system("bench"), document=document)
    program_cache_clear()
    data = _form()
    data["earn_percent"] = "7"
    results["rules_20"] = _timed(client, data, args.requests)
    print(
        json.dumps(
            {
                "benchmark": "program_preview",
                "loaded": {k: loaded[k] for k in ("members", "purchases") if k in loaded},
                "requests": args.requests,
                "programs": results,
                "target_p95_ms": TARGET_P95_MS,
                "met": all(r["met"] for r in results.values()),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
