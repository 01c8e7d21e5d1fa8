"""Schemathesis throws generated requests at every operation of our own OpenAPI schema:
whatever arrives, the answer is never a 500, and every error has the documented JSON shape.
The terminals' operations get a terminal's key, the staff API's an owner's personal token."""

from collections.abc import Iterator

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from kopilka.core.audit import Actor
from kopilka.staff.tokens import staff_token_create
from kopilka.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Calling the WSGI app directly would close the test's database connection after each
    request, as a real server does; Django's own test client switches that off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def staff_token(db: None) -> str:
    owner = User.objects.create_superuser("fuzz", "fuzz@example.org")
    return staff_token_create(user=owner, name="fuzz", actor=Actor.system("test")).key


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_test_connection")
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_never_get_a_server_error(case, terminal, staff_token) -> None:
    staff = case.operation.path.startswith("/api/v1/staff/")
    key = staff_token if staff else terminal[1]
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
    response = case.call()
    assert response.status_code < 500, (case.as_curl_command(), response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "fields"}
        assert error["code"] and error["message"]
