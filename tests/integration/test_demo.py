"""The demo world is the same for the same seed."""

from __future__ import annotations

from backbone.bootstrap import Container
from backbone.demo import seed as demo_seed


def world(container: Container) -> list[tuple[str, str, str, int, tuple[tuple[str, int], ...]]]:
    rows = []
    with container.database.reading() as session:
        for firm in container.brokerage.firms(session):
            for account in container.brokerage.accounts_of_firm(session, firm.code):
                customer = container.brokerage.customer(session, account.customer_id)
                balance = container.holdings.balance(session, account)
                positions = tuple((position.instrument, position.total) for position in balance.positions)
                rows.append((firm.code, account.display_number, customer.name, balance.cash_today, positions))
    return rows


def test_a_seed_gives_at_least_four_firms_and_twenty_customers_at_one_to_three_firms(
    container: Container,
) -> None:
    with container.database.transaction() as session:
        summary = demo_seed.seed(session, container, seed_value=11)
    assert summary.firms >= 4
    people = demo_seed.demo_people(11)
    assert len(people) >= 20
    with container.database.reading() as session:
        for person in people:
            firms = {
                customer.firm_id
                for customer in container.brokerage.customers_by_personal_identifier(
                    session, person.personal_identifier
                )
            }
            assert 1 <= len(firms) <= 3
    assert summary.deposits_won > 0
    assert summary.holdings > 0


def test_the_same_seed_builds_the_same_world(container: Container, tmp_path_factory: object) -> None:
    with container.database.transaction() as session:
        demo_seed.seed(session, container, seed_value=5)
    first = world(container)
    with container.database.transaction() as session:
        assert demo_seed.is_seeded(session, container)
    assert demo_seed.demo_people(5) == demo_seed.demo_people(5)
    assert demo_seed.demo_people(5) != demo_seed.demo_people(6)
    assert len(first) >= 20
