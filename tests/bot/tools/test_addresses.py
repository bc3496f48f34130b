"""The SSRF address rule, row by row: which addresses web_fetch may reach, and why not.

Every IPv6 form that carries an IPv4 address is judged by that address; the
rows pair each form with a private and a public IPv4 so that both a policy that
lets the form through and one that refuses it wholesale fail here.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.tools.addresses import AddressPolicy

REFUSED, ALLOWED = False, True

# (address, allowed?, a fragment of the refusal, why the row is here)
ROWS: list[tuple[str, bool, str, str]] = [
    # Ordinary public addresses stay reachable.
    ("8.8.8.8", ALLOWED, "", "public IPv4"),
    ("1.1.1.1", ALLOWED, "", "public IPv4"),
    ("93.184.216.34", ALLOWED, "", "public IPv4"),
    ("223.255.255.255", ALLOWED, "", "last unicast /8 before multicast"),
    ("2606:4700:4700::1111", ALLOWED, "", "public IPv6"),
    ("2a00:1450:4001:81c::200e", ALLOWED, "", "public IPv6"),
    ("2001:4860:4860::8888", ALLOWED, "", "public IPv6 under 2001: but outside 2001::/23"),
    ("2001:200::1", ALLOWED, "", "first address after 2001::/23"),
    # IPv4 special ranges, with their edges.
    ("0.0.0.0", REFUSED, "a 'this network' address (0.0.0.0/8)", "unspecified IPv4"),
    ("0.255.255.255", REFUSED, "'this network'", "0.0.0.0/8 reaches this machine on Linux"),
    ("10.0.0.1", REFUSED, "a private address (10.0.0.0/8)", "RFC 1918"),
    ("10.255.255.255", REFUSED, "private", "RFC 1918, last address"),
    ("11.0.0.0", ALLOWED, "", "just after 10/8"),
    ("100.63.255.255", ALLOWED, "", "just before CGNAT"),
    ("100.64.0.1", REFUSED, "carrier-grade NAT (shared) address (100.64.0.0/10)", "CGNAT"),
    ("100.127.255.255", REFUSED, "carrier-grade NAT", "CGNAT, last address"),
    ("100.128.0.0", ALLOWED, "", "just after CGNAT"),
    ("127.0.0.1", REFUSED, "a loopback address (127.0.0.0/8)", "loopback"),
    ("127.255.255.254", REFUSED, "loopback", "all of 127/8 is loopback"),
    ("169.254.169.254", REFUSED, "link-local address (cloud metadata", "cloud metadata"),
    ("169.254.0.1", REFUSED, "(169.254.0.0/16)", "link-local"),
    ("172.15.255.255", ALLOWED, "", "just before 172.16/12"),
    ("172.16.0.1", REFUSED, "a private address (172.16.0.0/12)", "RFC 1918"),
    ("172.31.255.255", REFUSED, "private", "RFC 1918, last address"),
    ("172.32.0.0", ALLOWED, "", "just after 172.16/12"),
    ("192.0.0.8", REFUSED, "an IETF protocol address (192.0.0.0/24)", "IETF assignments"),
    ("192.0.2.1", REFUSED, "a documentation address (192.0.2.0/24)", "TEST-NET-1"),
    ("192.88.99.1", REFUSED, "a 6to4 relay anycast address (192.88.99.0/24)", "6to4 relays"),
    ("192.168.1.1", REFUSED, "a private address (192.168.0.0/16)", "RFC 1918"),
    ("192.169.0.1", ALLOWED, "", "just after 192.168/16"),
    ("198.17.255.255", ALLOWED, "", "just before benchmarking"),
    ("198.18.0.1", REFUSED, "a benchmarking address (198.18.0.0/15)", "RFC 2544"),
    ("198.19.255.255", REFUSED, "benchmarking", "RFC 2544, last address"),
    ("198.20.0.0", ALLOWED, "", "just after benchmarking"),
    ("198.51.100.7", REFUSED, "documentation address (198.51.100.0/24)", "TEST-NET-2"),
    ("203.0.113.9", REFUSED, "documentation address (203.0.113.0/24)", "TEST-NET-3"),
    ("224.0.0.1", REFUSED, "a multicast address (224.0.0.0/4)", "multicast"),
    ("239.255.255.250", REFUSED, "multicast", "SSDP multicast"),
    ("240.0.0.1", REFUSED, "a reserved address (240.0.0.0/4)", "class E"),
    ("255.255.255.255", REFUSED, "reserved", "broadcast"),
    # IPv6's own special addresses.
    ("::", REFUSED, "the unspecified address (::/128)", "unspecified"),
    ("0:0:0:0:0:0:0:0", REFUSED, "unspecified", "unspecified, long spelling"),
    ("::1", REFUSED, "the IPv6 loopback address (::1/128)", "loopback"),
    ("0::0:1", REFUSED, "IPv6 loopback", "loopback, odd spelling"),
    ("fe80::1", REFUSED, "a link-local address (fe80::/10)", "link-local"),
    ("fe80::1%eth0", REFUSED, "link-local", "link-local with a zone"),
    ("febf::1", REFUSED, "link-local", "link-local, last /16"),
    ("fec0::1", REFUSED, "a site-local address (fec0::/10)", "deprecated site-local"),
    ("fc00::1", REFUSED, "a unique local address", "ULA"),
    ("fd00:ec2::254", REFUSED, "(fc00::/7)", "AWS metadata over IPv6"),
    ("ff02::1", REFUSED, "a multicast address (ff00::/8)", "link-local multicast"),
    ("ff0e::1", REFUSED, "multicast", "global multicast"),
    ("100::1", REFUSED, "a discard-only address (100::/64)", "discard prefix"),
    ("2001:db8::1", REFUSED, "a documentation address (2001:db8::/32)", "documentation"),
    ("3fff::1", REFUSED, "a documentation address (3fff::/20)", "documentation (RFC 9637)"),
    ("2001:2::1", REFUSED, "an IETF protocol address (2001::/23)", "benchmarking"),
    ("2001:10::1", REFUSED, "IETF protocol", "ORCHID"),
    ("2001:1ff::1", REFUSED, "IETF protocol", "last /32 of 2001::/23"),
    ("5f00::1", REFUSED, "a reserved address (outside global unicast 2000::/3)", "SRv6"),
    ("4000::1", REFUSED, "outside global unicast", "unassigned"),
    ("1fff:ffff::1", REFUSED, "outside global unicast", "just before 2000::/3"),
    ("e000::1", REFUSED, "outside global unicast", "unassigned"),
    ("64:ff9b:2::1", REFUSED, "outside global unicast", "just after local-use NAT64"),
    # IPv4-mapped (::ffff:0:0/96).
    ("::ffff:127.0.0.1", REFUSED, "an IPv4-mapped form of 127.0.0.1, a loopback", "mapped"),
    ("::ffff:7f00:1", REFUSED, "IPv4-mapped form of 127.0.0.1", "mapped, hex"),
    ("::ffff:169.254.169.254", REFUSED, "mapped form of 169.254.169.254", "mapped metadata"),
    ("::ffff:8.8.8.8", ALLOWED, "", "mapped public"),
    # IPv4-translated (::ffff:0:0:0/96, RFC 2765).
    ("::ffff:0:7f00:1", REFUSED, "an IPv4-translated form of 127.0.0.1, a loopback", "SIIT"),
    ("::ffff:0:a00:1", REFUSED, "translated form of 10.0.0.1, a private", "SIIT private"),
    ("::ffff:0:808:808", ALLOWED, "", "SIIT public"),
    # IPv4-compatible (::/96, deprecated).
    ("::7f00:1", REFUSED, "an IPv4-compatible form of 127.0.0.1, a loopback", "compatible"),
    ("::127.0.0.1", REFUSED, "compatible form of 127.0.0.1", "compatible, dotted"),
    ("::a9fe:a9fe", REFUSED, "compatible form of 169.254.169.254", "compatible metadata"),
    ("::2", REFUSED, "compatible form of 0.0.0.2, a 'this network'", "compatible low"),
    ("::8.8.8.8", ALLOWED, "", "compatible public"),
    # NAT64 well-known prefix (64:ff9b::/96): how IPv6-only networks reach IPv4 sites.
    ("64:ff9b::7f00:1", REFUSED, "a NAT64 form of 127.0.0.1, a loopback", "NAT64 loopback"),
    ("64:ff9b::a9fe:a9fe", REFUSED, "NAT64 form of 169.254.169.254", "NAT64 metadata"),
    ("64:ff9b::808:808", ALLOWED, "", "NAT64 public"),
    # Local-use NAT64 (64:ff9b:1::/48, RFC 8215): the embedding is unknowable.
    ("64:ff9b:1::808:808", REFUSED, "local-use NAT64 address, whose IPv4 target", "RFC 8215"),
    ("64:ff9b:1:7f00:1::", REFUSED, "(64:ff9b:1::/48)", "RFC 8215 /64 form"),
    # 6to4 (2002::/16): the IPv4 address follows the prefix.
    ("2002:7f00:1::", REFUSED, "a 6to4 address of 127.0.0.1, a loopback", "6to4 loopback"),
    ("2002:a9fe:a9fe::1", REFUSED, "6to4 address of 169.254.169.254", "6to4 metadata"),
    ("2002:c0a8:101::", REFUSED, "6to4 address of 192.168.1.1, a private", "6to4 private"),
    ("2002:808:808::1", ALLOWED, "", "6to4 public"),
    # Teredo (2001::/32): server, then the client inverted.
    (
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
        REFUSED,
        "a Teredo address of 127.0.0.1, a loopback",
        "Teredo client loopback",
    ),
    (
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",
        REFUSED,
        "Teredo address of 10.0.0.1, a private",
        "Teredo client private",
    ),
    (
        "2001:0:a00:1:8000:63bf:f7f7:f7f7",
        REFUSED,
        "Teredo address of 10.0.0.1, a private",
        "Teredo server private",
    ),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", ALLOWED, "", "Teredo, public client and server"),
    # ISATAP interface identifiers, under any prefix.
    ("2001:4860::5efe:a00:1", REFUSED, "an ISATAP address of 10.0.0.1, a private", "ISATAP"),
    ("2001:4860::200:5efe:7f00:1", REFUSED, "ISATAP address of 127.0.0.1", "ISATAP, u bit"),
    ("fe80::5efe:808:808", REFUSED, "link-local", "ISATAP link-local"),
    ("2001:4860::5efe:808:808", ALLOWED, "", "ISATAP public"),
    ("2001:4860::5eff:a00:1", ALLOWED, "", "not an ISATAP identifier"),
    ("2001:4860::1:5efe:a00:1", ALLOWED, "", "not an ISATAP identifier"),
    # Not addresses at all.
    ("localhost", REFUSED, "'localhost' is not an IP address", "a name"),
    ("", REFUSED, "'' is not an IP address", "empty"),
    ("8.8.8.8%eth0", REFUSED, "'8.8.8.8%eth0' is not an IP address", "IPv4 has no zones"),
]


@pytest.mark.parametrize(("address", "allowed", "why", "note"), ROWS, ids=[r[0] for r in ROWS])
def test_the_address_table(address: str, allowed: bool, why: str, note: str) -> None:
    reason = AddressPolicy().refusal(address)
    if allowed:
        assert reason is None, note
    else:
        assert reason is not None and why in reason, (note, reason)
        name = why.endswith("not an IP address")
        assert reason.startswith(why if name else f"{address} is "), reason


def test_a_refusal_names_the_address_form_and_range() -> None:
    refusal = AddressPolicy().refusal
    assert refusal("10.1.2.3") == "10.1.2.3 is a private address (10.0.0.0/8)"
    assert refusal("fd00:ec2::254") == (
        "fd00:ec2::254 is a unique local address (cloud metadata lives here too) (fc00::/7)"
    )
    assert refusal("2002:7f00:1::") == (
        "2002:7f00:1:: is a 6to4 address of 127.0.0.1, a loopback address (127.0.0.0/8)"
    )
    assert refusal("2001:4860::5efe:a00:1") == (
        "2001:4860::5efe:a00:1 is an ISATAP address of 10.0.0.1, a private address (10.0.0.0/8)"
    )
    assert refusal("4000::1") == "4000::1 is a reserved address (outside global unicast 2000::/3)"
    assert refusal("x" * 300) == repr("x" * 100) + " is not an IP address"


def test_allowed_networks_open_chosen_networks_in_every_spelling() -> None:
    policy = AddressPolicy(["192.168.1.7/24", "fd00::/8", "127.0.0.1"])  # as settings allow
    for address in [
        "192.168.1.20",
        "192.168.1.255",
        "::ffff:192.168.1.20",
        "::ffff:0:c0a8:114",
        "::c0a8:114",
        "64:ff9b::c0a8:114",
        "2002:c0a8:114::",
        "2001:0:4136:e378:8000:63bf:3f57:feeb",  # Teredo client 192.168.1.20
        "2001:4860::5efe:c0a8:114",
        "fd00::5",
        "127.0.0.1",
        "8.8.8.8",
    ]:
        assert policy.refusal(address) is None, address
    for address in [
        "192.168.2.1",
        "2002:c0a8:201::",
        "fc00::1",
        "127.0.0.2",
        "::ffff:127.0.0.2",
        "10.0.0.1",
        "::1",
        "2001:0:c0a8:114:8000:63bf:f5ff:fffe",  # server allowed, client 10.0.0.1 not
    ]:
        assert policy.refusal(address) is not None, address


TEREDO_SERVER = IPv4Address("65.54.227.120")  # a public Teredo server


def _teredo(client: IPv4Address, server: IPv4Address = TEREDO_SERVER) -> str:
    value = (0x2001 << 112) | (int(server) << 64) | (0x8000 << 48) | (~int(client) & 0xFFFFFFFF)
    return str(IPv6Address(value))


def _spellings(v4: IPv4Address) -> list[str]:
    n = int(v4)
    return [
        f"::ffff:{v4}",
        str(IPv6Address((0xFFFF << 32) | n)),  # translated
        str(IPv6Address((0x64FF9B << 96) | n)),  # NAT64
        str(IPv6Address((0x2002 << 112) | (n << 80))),  # 6to4
        _teredo(v4),
        str(IPv6Address((0x2001_4860 << 96) | (0x5EFE << 32) | n)),  # ISATAP
    ] + ([str(IPv6Address(n))] if n > 1 else [])  # compatible


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_ipv4_form_is_judged_like_its_ipv4_address(n: int) -> None:
    v4 = IPv4Address(n)
    policy = AddressPolicy()
    verdict = policy.refusal(str(v4)) is None
    # An independent oracle: Python's own idea of global, plus what it leaves out.
    extra = v4.is_multicast or str(v4).startswith(("192.0.0.", "192.88.99."))
    assert verdict == (v4.is_global and not extra)
    for spelling in _spellings(v4):
        assert (policy.refusal(spelling) is None) == verdict, spelling


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_no_ipv6_address_crashes_the_rule(n: int) -> None:
    reason = AddressPolicy().refusal(str(IPv6Address(n)))
    assert reason is None or reason.startswith(str(IPv6Address(n)))
