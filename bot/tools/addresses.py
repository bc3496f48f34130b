"""Which IP addresses web_fetch may reach: public ones only (the SSRF guard's rule).

An address is judged by where packets sent to it end up. IPv6 forms that carry
an IPv4 address (mapped, translated, compatible, NAT64, 6to4, Teredo, ISATAP)
are judged by that IPv4 address, because the kernel, a translator or a tunnel
on the way delivers them there: `::ffff:127.0.0.1` and `2002:7f00:1::` both
mean this machine. Where the carried address cannot be known (local-use NAT64,
whose prefix length only the local network knows) the whole range is refused.
IPv6 outside global unicast (2000::/3) is refused, and so are the IANA
special-purpose ranges of both families, multicast and reserved space: a block
list for IPv4, where no such rule exists. Networks the admin lists in
CLAWLING_WEB_ALLOWED_NETWORKS are allowed on purpose, in any of these spellings.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_interface,
    ip_network,
)

IPAddress = IPv4Address | IPv6Address
Table = Sequence[tuple[IPv4Network | IPv6Network, str]]

# (network, what it is): the first match names the refusal.
IPV4_REFUSED = tuple(
    (ip_network(network), kind)
    for network, kind in (
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address (cloud metadata lives here)"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)

GLOBAL_UNICAST = ip_network("2000::/3")
# Outside 2000::/3 everything is refused; these only give the refusal a name.
IPV6_NAMED = tuple(
    (ip_network(network), kind)
    for network, kind in (
        ("::/128", "the unspecified address"),
        ("::1/128", "the IPv6 loopback address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address, whose IPv4 target cannot be known"),
        ("100::/64", "a discard-only address"),
        ("fc00::/7", "a unique local address (cloud metadata lives here too)"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
# Special-purpose ranges inside global unicast (Teredo, 2001::/32, is judged before).
IPV6_REFUSED = tuple(
    (ip_network(network), kind)
    for network, kind in (
        ("2001:db8::/32", "a documentation address"),
        ("2001::/23", "an IETF protocol address"),
        ("3fff::/20", "a documentation address"),
    )
)

MAPPED = ip_network("::ffff:0:0/96")
TRANSLATED = ip_network("::ffff:0:0:0/96")
COMPATIBLE = ip_network("::/96")
NAT64 = ip_network("64:ff9b::/96")
SIX_TO_FOUR = ip_network("2002::/16")
TEREDO = ip_network("2001::/32")
# ISATAP interface identifiers (RFC 5214): 0000:5efe or 0200:5efe, then the IPv4 address.
ISATAP_IDS = (0x00005EFE, 0x02005EFE)


def _low_ipv4(ip: IPv6Address) -> IPv4Address:
    return IPv4Address(int(ip) & 0xFFFFFFFF)


def carried_ipv4(ip: IPv6Address) -> tuple[str, list[IPv4Address]] | None:
    """The form's name and the IPv4 addresses this IPv6 address delivers to, when its
    range exists to carry IPv4 (ISATAP, which uses any prefix, is not one of them)."""
    if ip in MAPPED:
        return "an IPv4-mapped form of", [_low_ipv4(ip)]
    if ip in TRANSLATED:
        return "an IPv4-translated form of", [_low_ipv4(ip)]
    if ip in COMPATIBLE and int(ip) > 1:  # :: and ::1 are IPv6's own
        return "an IPv4-compatible form of", [_low_ipv4(ip)]
    if ip in NAT64:
        return "a NAT64 form of", [_low_ipv4(ip)]
    if ip in SIX_TO_FOUR:
        return "a 6to4 address of", [IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)]
    if ip in TEREDO:
        # Teredo stores the client inverted; the server is on the path too.
        server = IPv4Address((int(ip) >> 64) & 0xFFFFFFFF)
        client = IPv4Address(~int(ip) & 0xFFFFFFFF)
        return "a Teredo address of", [client, server]
    return None


def _kind(ip: IPAddress, table: Table) -> str | None:
    for network, kind in table:
        if ip in network:
            return f"{kind} ({network})"
    return None


def ipv4_refusal(ip: IPv4Address) -> str | None:
    """What makes this IPv4 address off limits ("a private address (10.0.0.0/8)"), or None."""
    return _kind(ip, IPV4_REFUSED)


def ipv6_refusal(ip: IPv6Address) -> str | None:
    """What makes this IPv6 address itself off limits, its carried IPv4 aside."""
    named = _kind(ip, IPV6_NAMED)
    if named is not None:
        return named
    if ip not in GLOBAL_UNICAST:
        return f"a reserved address (outside global unicast {GLOBAL_UNICAST})"
    return _kind(ip, IPV6_REFUSED)


class AddressPolicy:
    """Public addresses are fine; private, loopback, link-local, special-purpose and
    multicast ones are not, unless they are in one of the allowed networks."""

    def __init__(self, allowed_networks: Sequence[str] = ()) -> None:
        # As an interface, "192.168.1.20/24" means its network, as the setting allows.
        self._allowed = [ip_interface(n).network for n in allowed_networks]

    def _allows(self, ip: IPAddress) -> bool:
        return any(ip in network for network in self._allowed)

    def refusal(self, address: str) -> str | None:
        """Why this address may not be reached ("… is a loopback address …"), or None."""
        try:
            ip: IPAddress = ip_address(address)  # a zone (fe80::1%eth0) is kept: it routes alike
        except ValueError:
            return f"{address[:100]!r} is not an IP address"
        if self._allows(ip):
            return None
        if isinstance(ip, IPv4Address):
            kind = ipv4_refusal(ip)
            return None if kind is None else f"{address} is {kind}"
        return self._ipv6_refusal(address, ip)

    def _ipv6_refusal(self, address: str, ip: IPv6Address) -> str | None:
        carried = carried_ipv4(ip)
        if carried is None:
            own = ipv6_refusal(ip)
            if own is not None:
                return f"{address} is {own}"
            return self._isatap_refusal(address, ip)
        form, targets = carried
        for target in targets:
            kind = self._target_refusal(target)
            if kind is not None:
                return f"{address} is {form} {target}, {kind}"
        return None

    def _isatap_refusal(self, address: str, ip: IPv6Address) -> str | None:
        if (int(ip) >> 32) & 0xFFFFFFFF not in ISATAP_IDS:
            return None
        target = _low_ipv4(ip)
        kind = self._target_refusal(target)
        return None if kind is None else f"{address} is an ISATAP address of {target}, {kind}"

    def _target_refusal(self, target: IPv4Address) -> str | None:
        return None if self._allows(target) else ipv4_refusal(target)
