"""Every query about platform firms."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backbone.kit.db import TableRecord
from backbone.open_platform.adapters.interface import Capability
from backbone.open_platform.firms.domain import AdapterKind, PlatformFirm
from backbone.open_platform.models import FirmRow


def firm_of(row: FirmRow | TableRecord) -> PlatformFirm:
    return PlatformFirm(
        id=row.id,
        code=row.code,
        name_ko=row.name_ko,
        name_en=row.name_en,
        adapter=AdapterKind(row.adapter),
        base_url=row.base_url,
        capabilities=frozenset(Capability(value) for value in row.capabilities.split()),
        created_at=row.created_at,
    )


def insert_firm(session: Session, firm: PlatformFirm) -> None:
    session.execute(
        insert(FirmRow).values(
            id=firm.id,
            code=firm.code,
            name_ko=firm.name_ko,
            name_en=firm.name_en,
            adapter=firm.adapter.value,
            base_url=firm.base_url,
            capabilities=" ".join(sorted(capability.value for capability in firm.capabilities)),
            created_at=firm.created_at,
        )
    )


def firm_by_code(session: Session, code: str) -> PlatformFirm | None:
    row = session.scalars(select(FirmRow).where(FirmRow.code == code)).first()
    return None if row is None else firm_of(row)


def firm_by_id(session: Session, firm_id: int) -> PlatformFirm | None:
    row = session.get(FirmRow, firm_id)
    return None if row is None else firm_of(row)


def firms(session: Session) -> list[PlatformFirm]:
    return [firm_of(row) for row in session.scalars(select(FirmRow).order_by(FirmRow.code))]


def firms_by_ids(session: Session, ids: list[int]) -> dict[int, PlatformFirm]:
    if not ids:
        return {}
    rows = session.scalars(select(FirmRow).where(FirmRow.id.in_(sorted(set(ids)))))
    return {row.id: firm_of(row) for row in rows}
