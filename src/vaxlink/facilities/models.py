"""The `facility` table: one row per vaccination site, keyed by the code dose records carry."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, Enum, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base, UtcDateTime

CODE_LENGTH = 64  # as dose_record.facility_code
NAME_LENGTH = 200
WARD_LENGTH = 5


class FacilityKind(StrEnum):
    """What sort of site it is: a commune health station, a hospital, a mobile team or other."""

    HEALTH_STATION = "health_station"
    HOSPITAL = "hospital"
    MOBILE_TEAM = "mobile_team"
    OTHER = "other"


class Facility(Base):
    """A vaccination site: its name, the ward whose health station it belongs to, its head and
    contact. Sites are deactivated, never deleted, so old doses keep their site's name."""

    __tablename__ = "facility"

    #: The code dose records carry in `facility_code`, exactly as the site writes it.
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    #: 5-digit ward code of the 2008-2025 list (the one dose records use); its station is the
    #: site's station. Checked against geo's unit list on import, not a foreign key: the store's
    #: copy of the units is optional (`vaxlink geo load`).
    ward_code: Mapped[str] = mapped_column(String(WARD_LENGTH), index=True)
    kind: Mapped[FacilityKind] = mapped_column(
        Enum(
            FacilityKind,
            name="facility_kind",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        )
    )
    #: The head of the site, who answers for its records.
    head_name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class FocalPoint(Base):
    """A focal-point officer of one administrative unit in the campaign (Sở Y tế's list of đầu
    mối): who to call at the ward's station, police or committee, or at the district's centre.

    Personal contact data kept to what the campaign needs (name, title, phone, e-mail); officers
    are deactivated, never deleted, so who was the contact on a day stays answerable."""

    __tablename__ = "focal_point"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ward, district, province or nation; the code in the 2008-2025 list ("VN" for the nation).
    unit_level: Mapped[str] = mapped_column(String(8))
    unit_code: Mapped[str] = mapped_column(String(8))
    #: Denormalised place of the unit, for set-based scope filters (empty above the unit's level).
    province_code: Mapped[str] = mapped_column(String(3), default="")
    district_code: Mapped[str] = mapped_column(String(3), default="")
    ward_code: Mapped[str] = mapped_column(String(5), default="")
    full_name: Mapped[str] = mapped_column(String(120))
    #: Organisation and title, e.g. "Trạm y tế xã — Trạm trưởng", "Công an xã", "TTYT huyện".
    organisation: Mapped[str] = mapped_column(String(200))
    #: Role in the campaign, e.g. "Đầu mối làm sạch dữ liệu".
    campaign_role: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_focal_point_place", "province_code", "district_code", "ward_code"),)
