"""The rules of a citizen's report, decided by the feedback service, not by the page
(SQLite and PostgreSQL): files, deadline, station, and whose dose it is."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from vaxlink.db import transaction
from vaxlink.errors import InvalidInput
from vaxlink.feedback import service
from vaxlink.feedback.models import Attachment
from vaxlink.settings import Settings

from .conftest import World

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
CID, OTHER = "001085012345", "001085099999"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TEXT = "the lot number on my second dose is wrong"


def _file(world: World, settings: Settings, form: service.ReportForm,
          blobs: list[bytes] | None = None) -> service.Ticket:  # fmt: skip
    with transaction(world.engine) as s:
        ticket = service.file_report(s, CID, form, blobs or [], settings=settings, now=T0,
                                     outbox=service.Outbox())  # fmt: skip
        s.expunge(ticket)
    return ticket


def test_deadline_station_and_the_citizens_own_dose(world: World, settings: Settings) -> None:
    world.citizen(CID)
    world.citizen(OTHER, full_name="Trần Thị Bình", phone="0987654321")
    mine = world.dose(CID, 1, dt.date(2021, 8, 1))
    theirs = world.dose(OTHER, 1, dt.date(2021, 8, 1))
    ticket = _file(world, settings, service.ReportForm("dose_details", "home", str(mine), TEXT))
    assert ticket.due_at == T0 + dt.timedelta(days=settings.ticket_due_days)
    assert ticket.dose_id == mine
    assert ticket.ward_code == "00001"
    # a dose of someone else names no dose at all: a report never reaches another's record
    other = _file(world, settings, service.ReportForm("dose_details", "home", str(theirs), TEXT))
    assert other.dose_id is None
    with transaction(world.engine) as s:
        service.ensure_own_dose(s, CID, mine)
        service.ensure_own_dose(s, CID, None)
        with pytest.raises(InvalidInput, match="does not belong"):
            service.ensure_own_dose(s, CID, theirs)


def test_due_at_follows_the_setting(settings: Settings) -> None:
    assert service.due_at(T0, Settings(ticket_due_days=3)) == T0 + dt.timedelta(days=3)
    assert service.upload_limit(settings) == settings.attachment_max_bytes + 1


@pytest.mark.parametrize(
    ("blobs", "key"),
    [
        ([PDF] * 4, "feedback.err.files"),
        ([b"x" * 100], "feedback.err.type"),
        ([b"%PDF-" + b"x" * 2048 + b"%%EOF"], "feedback.err.size"),
    ],
)
def test_attachments_are_refused_before_anything_is_saved(
    world: World, tmp_path: object, blobs: list[bytes], key: str
) -> None:
    world.citizen(CID)
    settings = Settings(data_dir=tmp_path, attachment_max_bytes=1024)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as refused:
        _file(world, settings, service.ReportForm("dose_details", "home", "", TEXT), blobs)
    assert getattr(refused.value, "key", None) == key
    with transaction(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(service.Ticket)) == 0
        assert s.scalar(select(func.count()).select_from(Attachment)) == 0


def test_unknown_kind_or_station_is_refused(world: World, settings: Settings) -> None:
    world.citizen(CID)
    for form, key in ((service.ReportForm("nonsense", "home", "", TEXT), "feedback.err.kind"),
                      (service.ReportForm("dose_details", "site:X", "", TEXT),
                       "feedback.err.station")):  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            _file(world, settings, form)
        assert getattr(refused.value, "key", None) == key
