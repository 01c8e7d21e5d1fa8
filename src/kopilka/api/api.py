"""The REST API object: /api/v1/, OpenAPI at /api/v1/openapi.json, Swagger UI at /api/v1/docs,
ReDoc at /api/v1/redoc; both from django-ninja's own static files (no CDN: they work offline)."""

from typing import Any

from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Redoc, Swagger
from ninja.renderers import JSONRenderer

from kopilka.api.auth import TerminalAuth
from kopilka.api.errors import install_error_handlers
from kopilka.api.openapi import document
from kopilka.members.api import router as members_router
from kopilka.pos.api import router as pos_router
from kopilka.program.api import router as program_router
from kopilka.rewards.api import router as rewards_router
from kopilka.staff.api import router as staff_router


class ReadableJSONRenderer(JSONRenderer):
    """UTF-8 JSON: Russian names and explanations stay readable in logs and curl output."""

    json_dumps_params: dict[str, Any] = {"ensure_ascii": False}


class KopilkaAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        return document(super().get_openapi_schema(*args, **kwargs))


api = KopilkaAPI(
    renderer=ReadableJSONRenderer(),
    title="Kopilka API",
    version="1",
    description=(
        "Баллы лояльности для касс и POS-систем: деньги — строкой в рублях, баллы — целыми "
        'числами, ошибки — JSON {"error": {"code", "message", "fields"}}. '
        "Loyalty points for tills and POS systems: money is a decimal string in roubles, points "
        'are integers, errors are JSON {"error": {"code", "message", "fields"}}.'
    ),
    urls_namespace="api-v1",
    auth=TerminalAuth(),
    docs=Swagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)
api.add_router("/", members_router)
api.add_router("/", pos_router)
api.add_router("/", program_router)
api.add_router("/", rewards_router)
api.add_router("/staff/", staff_router)


class _Redoc(Redoc):
    template = "core/redoc.html"  # starts ReDoc without an inline script (CSP)


_redoc = _Redoc()


# ReDoc's search runs in a worker it builds from a blob: URL.
@csp_update({"worker-src": ["'self'", "blob:"]})
def redoc_page(request: HttpRequest) -> HttpResponse:
    """ReDoc beside Swagger UI: ninja serves one docs page per API, so this one is mounted in urls."""
    return _redoc.render_page(request, api)
