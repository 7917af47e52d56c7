"""Where webhooks may go: https URLs whose host resolves only to public addresses, so that no
subscription can make Pestle call into the pharmacy's own network (SSRF). Checked when a
subscription is saved and again before every delivery (the name may resolve elsewhere by then).
`allow_private` (PESTLE_ALLOW_PRIVATE_WEBHOOKS=1) lifts both rules for tests and development."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(ValueError):
    """Why a URL may not receive webhooks; the message names the rule."""


def check_url(url: str, allow_private: bool) -> tuple[str, int]:
    """The URL's host and port if its form is acceptable; raises TargetRefused."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused(f"the URL must use {' or '.join(schemes)}")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("the URL's port is not valid") from None
    return parts.hostname, port


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def refuse_private(host: str, addresses: list[str]) -> None:
    private = [address for address in addresses if not _is_public(address)]
    if private:
        raise TargetRefused(
            f"the host {host!r} resolves to a non-public address ({', '.join(private)})"
        )


def check_literal(url: str, allow_private: bool) -> tuple[str, int]:
    """`check_url`, and the rule on a host written as an IP address, which needs no DNS (and
    which an HTTP client connects to without resolving)."""
    host, port = check_url(url, allow_private)
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host, port
    if not allow_private:
        refuse_private(host, [host])
    return host, port


async def resolve_host(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses ``host`` resolves to, all public (unless ``allow_private``); raises
    TargetRefused when the name does not resolve or any address is not public."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise TargetRefused(f"the host {host!r} does not resolve") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not allow_private:
        refuse_private(host, addresses)
    return addresses


async def resolve_public(url: str, allow_private: bool) -> list[str]:
    """The URL's addresses when its form passes `check_url` and every address is public."""
    host, port = check_url(url, allow_private)
    return await resolve_host(host, port, allow_private)
