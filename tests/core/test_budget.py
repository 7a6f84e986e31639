"""The per-cycle request budget, shared by replicas that read the same token's headers."""

from __future__ import annotations

from bot.core.budget import BudgetReading, plan_cycle

# 1000 an hour, 500 left, the window ends in an hour: 12 polls of 300 s to come.
HALF_SPENT = BudgetReading(limit=1000, remaining=500, reset_in=3600)


def test_one_replica_spends_its_fair_share_of_what_is_left() -> None:
    plan = plan_cycle(HALF_SPENT, destinations=100, poll_interval=300)
    # (500 - 200 in reserve) / 12 polls
    assert (plan.requests, plan.stretched) == (25, True)


def test_replicas_split_a_short_budget_between_them() -> None:
    plan = plan_cycle(HALF_SPENT, destinations=100, poll_interval=300, replicas=3)
    assert (plan.requests, plan.stretched) == (8, True)
    assert "8 of them by this replica of 3" in plan.reason


def test_with_budget_to_spare_any_replica_may_poll_everything_due() -> None:
    # The leases keep the total at one poll per destination; a slow replica
    # must not leave the others idle while destinations wait.
    plan = plan_cycle(HALF_SPENT, destinations=20, poll_interval=300, replicas=3)
    assert (plan.requests, plan.stretched) == (25, False)


def test_a_replica_always_gets_at_least_one_request_while_any_is_spare() -> None:
    reading = BudgetReading(limit=1000, remaining=213, reset_in=3600)
    plan = plan_cycle(reading, destinations=100, poll_interval=300, replicas=3)
    assert plan.requests == 1


def test_before_any_response_the_documented_hourly_default_is_assumed() -> None:
    # Nothing has said what is left yet: a thousand destinations must not cost a
    # thousand requests before the first answer tells the real budget.
    unknown = BudgetReading(limit=None, remaining=None, reset_in=None)
    plan = plan_cycle(unknown, destinations=1000, poll_interval=300)
    # (1000 - 200 in reserve) / 12 polls in the hour
    assert (plan.requests, plan.stretched) == (66, True)
    few = plan_cycle(unknown, destinations=5, poll_interval=300)
    assert (few.requests, few.stretched) == (66, False)
    # A limit a response did state is assumed whole until one states what is left.
    bigger = plan_cycle(
        BudgetReading(limit=5000, remaining=None, reset_in=None),
        destinations=1000,
        poll_interval=300,
    )
    assert bigger.requests == (5000 - 1000) // 12
