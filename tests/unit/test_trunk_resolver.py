"""A trunk's host to an address: addresses as they are, names looked up once per TTL."""

from __future__ import annotations

from sipline.calls.trunk_resolver import TrunkResolver


async def test_an_address_is_used_as_it_is() -> None:
    assert await TrunkResolver().resolve("127.0.0.1", 5070) == ("127.0.0.1", 5070)


async def test_a_name_is_resolved_and_kept_for_its_ttl() -> None:
    resolver = TrunkResolver(ttl=60)
    address = await resolver.resolve("localhost", 5070)
    assert address[1] == 5070 and address[0] in ("127.0.0.1", "::1")
    # kept: the same answer, even should the system's resolver now say otherwise
    assert await resolver.resolve("localhost", 5070) == address
