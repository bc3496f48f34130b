"""Socket Mode closed and opened again (SoleReceiver), as it is when the receivers' lock
moves between replicas; HTTP mode, which every replica serves, is never held."""

from __future__ import annotations

from tests.adapters.slack.conftest import Launch
from tests.adapters.slack.harness import ALICE, dm


async def test_socket_mode_closes_and_opens_again_and_events_still_arrive(
    launch: Launch, sqlite_url: str
) -> None:
    slack = await launch("socket", sqlite_url)
    adapter, fake = slack.adapter, slack.fake
    assert slack.app.receivers is not None and slack.app.receivers.receiving
    assert adapter.receives_alone
    await slack.deliver(dm("hello", user=ALICE))
    await slack.settle()

    await adapter.stop_receiving()
    await fake.wait_for(lambda: fake.open_sockets == 0)
    # Not receiving is no reason to be taken out of the load balancer: it still sends.
    assert await slack.app.observability.problems() == []

    await adapter.start_receiving()
    await adapter.start_receiving()  # a second call changes nothing
    await slack.deliver(dm("back again", user=ALICE))
    await slack.settle()
    assert fake.texts("DALICE") == ["echo: hello", "echo: back again"]
    assert (fake.connections, fake.most_sockets) == (2, 1)


async def test_http_mode_is_served_by_every_replica_and_holds_nothing(
    launch: Launch, sqlite_url: str
) -> None:
    slack = await launch("http", sqlite_url)
    assert not slack.adapter.receives_alone
    assert slack.app.receivers is not None
    assert slack.app.receivers.adapters == [] and not slack.app.receivers.receiving
