"""The client's address: the peer, or `X-Forwarded-For` when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Networks:
    """Whether an address lies in any of some networks (addresses or CIDRs). Peers are few
    (load balancers, load generators, scrapers): each verdict is remembered."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry, strict=False) for entry in entries
        )
        self._verdicts: dict[str, bool] = {}

    def __contains__(self, address: str) -> bool:
        verdict = self._verdicts.get(address)
        if verdict is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                verdict = False
            else:
                if ip.version == 6 and ip.ipv4_mapped is not None:  # a dual-stack listener
                    ip = ip.ipv4_mapped
                verdict = any(ip in network for network in self.networks)
            if len(self._verdicts) < 10_000:
                self._verdicts[address] = verdict
        return verdict


class ClientAddress:
    """Resolves client IPs for one app; trusted proxies are addresses or CIDR networks."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.trusted = Networks(trusted_proxies)

    def is_trusted(self, address: str) -> bool:
        return address in self.trusted

    def __call__(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        if not self.is_trusted(peer):
            return peer
        forwarded = _header(scope, b"x-forwarded-for")
        if not forwarded:
            return peer
        # Walk from the right: the nearest hop a trusted proxy vouches for is the client.
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        return hops[0] if hops else peer


def _header(scope: Scope, name: bytes) -> str | None:
    values = [value for key, value in scope["headers"] if key == name]
    if not values:
        return None
    return b",".join(values).decode("latin-1")
