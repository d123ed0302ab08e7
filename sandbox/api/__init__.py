"""The Partner Center ``/v1`` subset, one module per subject, and its router.

Each module exports ``ROUTES``: path templates (relative to ``/v1``; ``{name}``
matches one segment and becomes a keyword argument) with a handler per method.
Handlers run with the state lock held: ``handler(state, request, **ids)``.
"""

from __future__ import annotations

import re

from sandbox.api import (
    carts,
    customers,
    offers,
    orders,
    products,
    subscriptions,
    transitions,
    users,
)
from sandbox.api.common import Handler, Route
from sandbox.state import SandboxState
from sandbox.web import ApiError, Request, Response

#: Every route in matching order (literal segments before ``{id}`` ones).
ROUTES: list[Route] = [
    *customers.ROUTES,
    *subscriptions.ROUTES,
    *transitions.ROUTES,
    *orders.ROUTES,
    *carts.ROUTES,
    *users.ROUTES,
    *offers.ROUTES,
    *products.ROUTES,
]


def _compile(template: str) -> re.Pattern[str]:
    """Return the regex of a path template (``{cid}`` -> ``(?P<cid>[^/]+)``)."""
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^/v1{pattern}$", re.IGNORECASE)


class Router:
    """Dispatch a ``/v1`` request to its handler."""

    def __init__(self, routes: list[Route] | None = None) -> None:
        """Compile the route table (default: every module's ``ROUTES``)."""
        self._table: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (_compile(path), methods) for path, methods in (routes or ROUTES)
        ]

    def dispatch(self, state: SandboxState, request: Request) -> Response:
        """Return the handler's response; raise 404/1000 or 405 for no match."""
        for pattern, methods in self._table:
            match = pattern.match(request.path)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                raise ApiError(
                    405,
                    405,
                    "The requested resource does not support http method "
                    f"'{request.method}'.",
                )
            response: Response = handler(state, request, **match.groupdict())
            return response
        raise ApiError(404, 1000, "Not found")
