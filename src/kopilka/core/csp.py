"""The Content-Security-Policy: the pages' policy from settings, and a fixed one for JSON.

An API answer is never rendered as a page, so it carries the strictest policy (nothing may load,
nothing may frame it), set by the response itself; the middleware then leaves it alone instead
of building the pages' policy for every purchase.
"""

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponseBase

JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"


class ContentSecurityPolicy(CSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if HEADER in response:
            return response
        return super().process_response(request, response)
