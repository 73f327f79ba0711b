"""Which URLs a webhook may call: http(s) only, and never a private, loopback, link-local or
otherwise non-public address (cloud metadata at 169.254.169.254, the cluster's own services)
unless the operator allows a network (`WEBHOOK_ALLOWED_NETWORKS`, e.g. "127.0.0.0/8" in tests).

A name is resolved and every address it resolves to is checked: at submit time (a 422 for the
client) and again before each attempt (a name may be re-pointed after the check).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL_CHARS = 2000


class TargetRefused(ValueError):
    """A webhook URL that may not be called; the message says why."""


def parse_networks(spec: str) -> list[IPNetwork]:
    """`"127.0.0.0/8, ::1/128"` -> networks (a setting's value)."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",")
            if part.strip()]


def check_target(url: str, allowed: Sequence[IPNetwork] = ()) -> None:
    """Raise TargetRefused unless `url` is http(s) and every address of its host is public or
    inside an allowed network."""
    if len(url) > MAX_URL_CHARS:
        raise TargetRefused(f"is longer than {MAX_URL_CHARS} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise TargetRefused("must not carry credentials")
    for address in _addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)):
        if not address.is_global and not any(address in net for net in allowed):
            raise TargetRefused(f"resolves to {address}, a non-public address")


def _addresses(host: str, port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"host {host!r} does not resolve") from exc
    return {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
