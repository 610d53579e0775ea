"""The local mirror of the population registry snapshot (one row per citizen)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base


class Citizen(Base):
    """A citizen as the national population database knows them."""

    __tablename__ = "citizen"
    __table_args__ = (
        Index("ix_citizen_name_dob", "name_folded", "date_of_birth"),
        Index("ix_citizen_namekey_dob", "name_key", "date_of_birth"),
        Index("ix_citizen_dob", "date_of_birth"),
    )

    citizen_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    name_folded: Mapped[str] = mapped_column(String(120))
    #: Folded family and given name only: finds a record whose middle name was dropped.
    name_key: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[str] = mapped_column(String(10))
    dob_precision: Mapped[str] = mapped_column(String(5))
    sex: Mapped[str] = mapped_column(String(1))
    province_code: Mapped[str] = mapped_column(String(3), index=True)
    district_code: Mapped[str | None] = mapped_column(String(3))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    old_id: Mapped[str | None] = mapped_column(String(9), index=True)
    address: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(15), index=True)
    row_hash: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    source_row: Mapped[int] = mapped_column(Integer)
