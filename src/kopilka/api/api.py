"""The REST API object: /api/v1/, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from typing import Any

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from kopilka.api.auth import TerminalAuth
from kopilka.api.errors import install_error_handlers
from kopilka.members.api import router as members_router
from kopilka.pos.api import router as pos_router


class ReadableJSONRenderer(JSONRenderer):
    """UTF-8 JSON: Russian names and explanations stay readable in logs and curl output."""

    json_dumps_params: dict[str, Any] = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=ReadableJSONRenderer(),
    title="Kopilka API",
    version="1",
    description="Loyalty points for tills and POS systems. Money is a decimal string in roubles, points are integers.",
    urls_namespace="api-v1",
    auth=TerminalAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)
api.add_router("/", members_router)
api.add_router("/", pos_router)
