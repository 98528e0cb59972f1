"""`backbone demo seed`: the same demo world for the same seed, every time.

Five fictional securities firms, each with its own account-number format; 24 people, each a
customer at one to three firms with one or two accounts there; deposits, and holdings of real
listings delivered through the depository. Names, numbers and amounts depend only on the seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from backbone.bootstrap import Container
from backbone.brokerage.domain import Account, AccountType
from backbone.identity.personal_identifier import development_personal_identifier
from backbone.kit.money import Quantity, Won, round_down_to_tick
from backbone.open_platform.adapters.interface import ALL_CAPABILITIES
from backbone.open_platform.companies.domain import ClientAuthMethod
from backbone.open_platform.firms.domain import AdapterKind
from backbone.open_platform.scopes import Scope

DEFAULT_SEED = 2026
PEOPLE_COUNT = 24


@dataclass(frozen=True, slots=True)
class DemoFirm:
    code: str
    name_ko: str
    name_en: str
    pattern: str
    branch: int


FIRMS = (
    DemoFirm("HNB", "한빛증권", "Hanbit Securities", "BBB-PP-NNNNNC", 101),
    DemoFirm("SSL", "새솔투자증권", "Saesol Investment & Securities", "NNNNNNNC-PP", 0),
    DemoFirm("DRM", "다름증권", "Dareum Securities", "NNNN-NNNC-PP", 0),
    DemoFirm("GAON", "가온증권", "Gaon Securities", "PP-BBNNNNNNC", 21),
    DemoFirm("NURI", "누리투자증권", "Nuri Investment & Securities", "BBBB-NNNNNC-PP", 3301),
)

SURNAMES = ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황")
GIVEN_NAMES = (
    "민준",
    "서연",
    "도윤",
    "지우",
    "하준",
    "서윤",
    "시우",
    "하은",
    "주원",
    "지민",
    "예준",
    "수아",
    "지호",
    "채원",
    "현우",
    "다은",
    "준서",
    "지유",
    "건우",
    "윤서",
    "우진",
    "민서",
    "선우",
    "예린",
)


@dataclass(frozen=True, slots=True)
class DemoPerson:
    name: str
    birth_date: date
    phone: str
    email: str

    @property
    def personal_identifier(self) -> str:
        return development_personal_identifier(self.name, self.birth_date, self.phone)


DEMO_COMPANY_NAME = "데모핀테크 주식회사"
DEMO_BUSINESS_NUMBER = "2208162517"
DEMO_APP_NAME = "데모 자산관리"
DEMO_REDIRECT_URI = "http://localhost:8080/callback"


@dataclass
class SeedSummary:
    firms: int = 0
    customers: int = 0
    accounts: int = 0
    deposits_won: int = 0
    holdings: int = 0
    people: list[DemoPerson] = field(default_factory=list)
    demo_client_id: str = ""
    demo_client_secret: str = ""


def demo_people(seed: int = DEFAULT_SEED, count: int = PEOPLE_COUNT) -> list[DemoPerson]:
    generator = random.Random(seed)
    given_names = list(GIVEN_NAMES)
    generator.shuffle(given_names)
    people = []
    for index in range(count):
        name = generator.choice(SURNAMES) + given_names[index % len(given_names)]
        birth = date(generator.randint(1962, 2003), generator.randint(1, 12), generator.randint(1, 28))
        phone = f"010-{generator.randint(2000, 9999):04d}-{index + 1000:04d}"
        people.append(DemoPerson(name, birth, phone, f"investor{index + 1:02d}@example.com"))
    return people


def is_seeded(session: Session, container: Container) -> bool:
    existing = {firm.code for firm in container.brokerage.firms(session)}
    return any(firm.code in existing for firm in FIRMS)


def seed(
    session: Session,
    container: Container,
    *,
    seed_value: int = DEFAULT_SEED,
    progress: Callable[[int, int], None] | None = None,
) -> SeedSummary:
    brokerage = container.brokerage
    generator = random.Random(seed_value)
    summary = SeedSummary()
    for firm in FIRMS:
        brokerage.register_firm(
            session,
            code=firm.code,
            name_ko=firm.name_ko,
            name_en=firm.name_en,
            account_number_pattern=firm.pattern,
            branch=firm.branch,
        )
        summary.firms += 1
    instruments = sorted(container.instruments)
    people = demo_people(seed_value)
    summary.people = people
    for index, person in enumerate(people):
        for firm in generator.sample(FIRMS, generator.randint(1, 3)):
            accounts = _open_accounts(session, container, generator, person, firm)
            summary.customers += 1
            summary.accounts += len(accounts)
            for account in accounts:
                summary.deposits_won += _fund(session, container, generator, account, seed_value)
                summary.holdings += _deliver_holdings(
                    session, container, generator, account, instruments, seed_value
                )
        if progress is not None:
            progress(index + 1, len(people))
    summary.demo_client_id, summary.demo_client_secret = _seed_open_platform(session, container, seed_value)
    return summary


def _seed_open_platform(session: Session, container: Container, seed_value: int) -> tuple[str, str]:
    """Every demo firm on the open platform (in process), and a demo fintech company with an app
    approved for production whose redirect URI is on localhost, so the portal journey can be shown.
    The client id is derived from the seed (the same every time); its secret is printed by the
    command, never stored in clear."""
    platform = container.open_platform
    for firm in FIRMS:
        platform.firms.register(
            session,
            code=firm.code,
            name_ko=firm.name_ko,
            name_en=firm.name_en,
            adapter=AdapterKind.BACKBONE,
            base_url=None,
            capabilities=ALL_CAPABILITIES,
            actor="demo",
        )
    company, _key = platform.companies.register_company(
        session, name=DEMO_COMPANY_NAME, business_number=DEMO_BUSINESS_NUMBER, email="developers@example.com"
    )
    app, secret = platform.companies.register_app(
        session,
        company=company,
        name=DEMO_APP_NAME,
        description="통합계좌조회 데모 앱",
        redirect_uris=[DEMO_REDIRECT_URI],
        scopes=frozenset(Scope),
        auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
        jwks=None,
        client_id=f"app_demo{seed_value:016x}"[:28],
    )
    platform.companies.request_production(session, app)
    platform.companies.approve(session, platform.companies.app(session, app.id))
    return app.client_id, secret or ""


def _open_accounts(
    session: Session, container: Container, generator: random.Random, person: DemoPerson, firm: DemoFirm
) -> list[Account]:
    customer = container.brokerage.register_customer(
        session,
        firm_code=firm.code,
        name=person.name,
        birth_date=person.birth_date,
        phone=person.phone,
        email=person.email,
        personal_identifier=person.personal_identifier,
    )
    types = [AccountType.GENERAL]
    if generator.random() < 0.4:
        types.append(generator.choice((AccountType.CMA, AccountType.ISA, AccountType.PENSION)))
    return [
        container.brokerage.open_account(
            session, customer_id=customer.id, account_type=account_type, alias=f"{account_type.name_ko} 계좌"
        )
        for account_type in types
    ]


def _fund(
    session: Session, container: Container, generator: random.Random, account: Account, seed_value: int
) -> int:
    amount = generator.randint(100, 10_000) * 10_000  # 1,000,000 to 100,000,000 won, in 10,000s
    container.brokerage.deposit(
        session,
        account=account,
        amount=Won(amount),
        idempotency_key=f"demo:{seed_value}:deposit:{account.firm.code}:{account.number}",
        memo="데모 입금",
    )
    return amount


def _deliver_holdings(
    session: Session,
    container: Container,
    generator: random.Random,
    account: Account,
    instruments: list[str],
    seed_value: int,
) -> int:
    chosen = generator.sample(instruments, generator.randint(0, 5))
    for code in chosen:
        # Bought elsewhere at up to 20% either side of today's base price: the demo shows gains and losses.
        base_price = container.instruments[code].base_price
        cost = max(1, round_down_to_tick(base_price * generator.randint(80, 120) // 100))
        container.brokerage.deliver_securities(
            session,
            account=account,
            instrument=code,
            quantity=Quantity.shares(generator.randint(1, 50) * 10),
            unit_cost_won=cost,
            idempotency_key=f"demo:{seed_value}:holding:{account.firm.code}:{account.number}:{code}",
            memo="데모 입고",
        )
    return len(chosen)
