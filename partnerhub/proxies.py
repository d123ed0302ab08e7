"""The client's address behind trusted reverse proxies (``PARTNERHUB_TRUSTED_PROXIES``).

Behind a TLS proxy or load balancer every request comes from the proxy's address,
so django-axes would lock an account for everyone after one person's mistakes and
the audit log would record the proxy for every action. ``TrustedProxyMiddleware``
replaces ``REMOTE_ADDR`` with the client's address taken from ``X-Forwarded-For``,
but only for requests that come from a configured proxy: each proxy appends the
address it received the request from, so the header is read from the right, and the
first address that is not itself a trusted proxy is the client. Anything to the left
of it was written by the client and is ignored. Without trusted proxies the header is
never read. Everything downstream (django-axes, the audit log, request logs) then
reads ``REMOTE_ADDR``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# The address the request really came from, kept when REMOTE_ADDR is replaced.
PEER_META_KEY = "PARTNERHUB_PROXY_ADDR"


@lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def _address(text: str) -> Address | None:
    """Return the address in one X-Forwarded-For entry (a port is allowed)."""
    text = text.strip()
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # 203.0.113.7:51234
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def forwarded_client(
    remote_addr: str, forwarded_for: str, networks: tuple[Network, ...]
) -> str:
    """Return the client's address for a request from ``remote_addr``.

    ``remote_addr`` itself unless it is a trusted proxy; then the right-most
    ``forwarded_for`` entry that is not a trusted proxy, stopping at the first
    entry that is not an address (the last good hop is used).
    """
    peer = _address(remote_addr)
    if peer is None or not networks or not _is_trusted(peer, networks):
        return remote_addr
    client = str(peer)
    for entry in reversed(forwarded_for.split(",")):
        address = _address(entry)
        if address is None:
            break
        client = str(address)
        if not _is_trusted(address, networks):
            break
    return client


class TrustedProxyMiddleware:
    """Set ``REMOTE_ADDR`` to the client's address for requests from a trusted proxy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        networks = _trusted(tuple(settings.PARTNERHUB_TRUSTED_PROXIES))
        remote_addr = request.META.get("REMOTE_ADDR", "")
        if networks and remote_addr:
            client = forwarded_client(
                remote_addr, request.META.get("HTTP_X_FORWARDED_FOR", ""), networks
            )
            if client != remote_addr:
                request.META[PEER_META_KEY] = remote_addr
                request.META["REMOTE_ADDR"] = client
        return self.get_response(request)


def client_ip_for_axes(request: HttpRequest) -> str | None:
    """Return the address django-axes counts failures for (AXES_CLIENT_IP_CALLABLE).

    The same ``REMOTE_ADDR`` the audit log records, after the middleware above.
    """
    return request.META.get("REMOTE_ADDR") or None
