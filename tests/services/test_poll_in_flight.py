"""A replica polls at most `max_in_flight` destinations at once, whatever its workers."""

from __future__ import annotations

from bot.core.backups import Destination
from bot.northflank.client import NorthflankClient
from bot.services.poller import CONCURRENCY, Poller
from bot.services.replica import Replica
from bot.store import Store
from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank, make_backup
from tests.store.examples import T0, watching

# Long enough that every worker has claimed its destination and sent its request
# before the first answer, on a loaded machine too: at 0.3 s, a fourth worker whose
# SQLite claim waited behind the others' writes once came too late to overlap.
LATENCY = 1.0


def most_at_once(arrivals: list[float]) -> int:
    """The most requests in flight together: each is answered LATENCY after it arrives,
    and a place it frees can only be taken again after that answer."""
    return max(
        sum(1 for other in arrivals if other <= first < other + LATENCY) for first in arrivals
    )


async def _poll(store: Store, fake: FakeNorthflank, max_in_flight: int) -> list[float]:
    client = NorthflankClient(api_token=DEFAULT_TOKEN, base_url=fake.url)
    replica = Replica(store, clock=lambda: T0)
    poller = Poller(
        store,
        client,
        clock=lambda: T0,
        poll_interval=300,
        replica=replica,
        max_in_flight=max_in_flight,
    )
    try:
        fake.clear_requests()
        report = await poller.poll_all(force=True)
    finally:
        await client.aclose()
    assert len(report.destinations) == 6 and not [d for d in report.destinations if d.error]
    return [r.at for r in fake.requests if r.path.endswith("/backups")]


async def test_the_cap_holds_however_many_workers_there_are(store: Store) -> None:
    with FakeNorthflank(latency=LATENCY) as fake:
        for i in range(6):
            fake.add_destination(f"dest-{i}", f"Destination {i}")
            fake.add_backups(f"dest-{i}", [make_backup(f"b-{i}", created_at=T0)])
            await watching(store, "C-ops", Destination(f"dest-{i}", f"Destination {i}"))
        # Without a cap below it, the connection's workers poll CONCURRENCY at once...
        assert most_at_once(await _poll(store, fake, max_in_flight=100)) == CONCURRENCY
        # ...and with one, no more than it allows.
        arrivals = await _poll(store, fake, max_in_flight=2)
    assert len(arrivals) == 6
    assert most_at_once(arrivals) == 2
