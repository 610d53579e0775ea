"""Ticket life cycle on the store: the one transition table, escalation, figures, the CLI."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Role
from vaxlink.db import transaction
from vaxlink.feedback.errors import TicketInvalid, TicketTransitionInvalid
from vaxlink.feedback.models import Ticket, TicketEvent
from vaxlink.feedback.service import ticket_figures
from vaxlink.feedback.tickets import (
    TRANSITIONS,
    Outbox,
    RejectReason,
    TicketKind,
    TicketStatus,
    escalate_overdue,
    move,
    open_ticket,
)
from vaxlink.geo.codes import Level, UnitKey

from .conftest import DISTRICT, OTHER_WARD, WARD, World

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
STATION = Principal(7, "tram", Role.HEALTH_STATION, UnitKey(Level.WARD, WARD))
S = TicketStatus


def _open(s: Session, *, ward: str = WARD, at: dt.datetime = T0, outbox: Outbox | None = None
          ) -> Ticket:  # fmt: skip
    return open_ticket(s, citizen_id="001085012345", kind=TicketKind.DOSE_DETAILS,
                       description="Ngày tiêm mũi 2 bị sai.", province_code="001",
                       district_code=DISTRICT, ward_code=ward, facility_code=None, dose_id=None,
                       now=at, due_in=dt.timedelta(days=7), phone="0912345678",
                       outbox=outbox or Outbox())  # fmt: skip


def test_the_transition_table_is_complete_and_final_states_are_final() -> None:
    assert set(TRANSITIONS) == set(TicketStatus)
    assert TRANSITIONS[S.RESOLVED] == TRANSITIONS[S.REJECTED] == frozenset()
    assert S.RESOLVED not in TRANSITIONS[S.NEW]  # nobody resolves without working it


@pytest.mark.parametrize(("start", "to"), list(itertools.product(list(S), list(S))))
def test_every_pair_follows_the_table(world: World, start: S, to: S) -> None:
    with transaction(world.engine) as s:
        ticket = _open(s)
        ticket.status = start.value
        s.flush()
        why, answer = RejectReason.DUPLICATE, "Đã xử lý."
        if to in TRANSITIONS[start]:
            move(
                s,
                STATION,
                ticket,
                to,
                now=T0,
                phone=None,
                outbox=Outbox(),
                reason=why,
                answer=answer,
            )
            assert ticket.status == to.value
        else:
            with pytest.raises(TicketTransitionInvalid):
                move(
                    s,
                    STATION,
                    ticket,
                    to,
                    now=T0,
                    phone=None,
                    outbox=Outbox(),
                    reason=why,
                    answer=answer,
                )


def test_life_cycle_records_events_and_tells_the_citizen(world: World) -> None:
    outbox = Outbox()
    with transaction(world.engine) as s:
        ticket = _open(s, outbox=outbox)
        move(s, STATION, ticket, S.ASSIGNED, now=T0, phone="0912345678", outbox=outbox)
        move(s, STATION, ticket, S.IN_PROGRESS, now=T0, phone="0912345678", outbox=outbox)
        with pytest.raises(TicketInvalid, match="why"):
            move(s, STATION, ticket, S.REJECTED, now=T0, phone=None, outbox=outbox, answer="x")
        with pytest.raises(TicketInvalid, match="answer"):
            move(s, STATION, ticket, S.RESOLVED, now=T0, phone=None, outbox=outbox)
        move(s, STATION, ticket, S.REJECTED, now=T0 + dt.timedelta(days=1), phone="0912345678",
             outbox=outbox, reason=RejectReason.RECORD_CORRECT, answer="Dữ liệu đã đúng.")  # fmt: skip
        events = s.scalars(select(TicketEvent.to_status).order_by(TicketEvent.id)).all()
    assert events == ["new", "assigned", "in_progress", "rejected"]
    assert len(outbox.notices) == 4
    assert all(n.phone == "0912345678" for n in outbox.notices)
    assert all("Nguy" not in n.text for n in outbox.notices)
    assert ticket.reject_reason == "record_correct"
    assert ticket.resolved_at is not None


def test_a_fix_awaits_its_certificate_keeps_the_answer_and_says_nothing_of_a_new_one(
    world: World,
) -> None:
    outbox = Outbox()
    with transaction(world.engine) as s:
        ticket = _open(s)
        ticket.status = S.IN_PROGRESS.value
        s.flush()
        with pytest.raises(TicketInvalid, match="answer"):
            move(s, STATION, ticket, S.AWAITING_CERTIFICATE, now=T0, phone=None, outbox=outbox)
        move(s, STATION, ticket, S.AWAITING_CERTIFICATE, now=T0, phone="0912345678",
             outbox=outbox, answer="Đã sửa ngày tiêm.")  # fmt: skip
        assert (ticket.answer, ticket.resolved_at) == ("Đã sửa ngày tiêm.", None)
        # settled by a job (no staff account): resolved, and now the SMS says a new certificate
        move(s, None, ticket, S.RESOLVED, now=T0, phone="0912345678", outbox=outbox,
             answer=ticket.answer, by="job:test", new_certificate=True)  # fmt: skip
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                           .order_by(TicketEvent.id)).all()  # fmt: skip
    waiting, resolved = (n.text for n in outbox.notices)
    assert "cho co so tiem ky duyet" in waiting
    assert "awaiting certificate" in waiting
    assert "chung nhan moi" not in waiting
    assert "new certificate" not in waiting
    assert "da giai quyet, da cap chung nhan moi" in resolved
    assert "resolved, new certificate issued" in resolved
    assert len(resolved) <= 160  # one SMS segment
    assert [(e.to_status, e.actor) for e in events][-2:] == [
        ("awaiting_certificate", "health_station"), ("resolved", "system")]
    assert ticket.answer == "Đã sửa ngày tiêm."
    with transaction(world.engine) as s:  # a job never takes a report
        other = _open(s)
        with pytest.raises(TicketInvalid, match="staff account"):
            move(s, None, other, S.ASSIGNED, now=T0, phone=None, outbox=Outbox(), by="job:test")


def test_overdue_tickets_escalate_once(world: World) -> None:
    with transaction(world.engine) as s:
        late = _open(s, at=T0 - dt.timedelta(days=8)).id
        fresh = _open(s, at=T0 - dt.timedelta(days=2)).id
        done = _open(s, at=T0 - dt.timedelta(days=9))
        done.status = S.RESOLVED.value
        done.resolved_at = T0 - dt.timedelta(days=8)
    with transaction(world.engine) as s:
        first = escalate_overdue(s, now=T0)
    with transaction(world.engine) as s:
        second = escalate_overdue(s, now=T0 + dt.timedelta(hours=1))
        escalated = {t.id: t.escalated_at for t in s.scalars(select(Ticket))}
    assert [r.ticket_id for r in first] == [late]
    assert second == []
    assert escalated[late] == T0
    assert escalated[fresh] is None


def test_district_health_sees_escalated_tickets_in_its_district(world: World) -> None:
    district = Principal(8, "ttyt", Role.DISTRICT_HEALTH, UnitKey(Level.DISTRICT, DISTRICT))
    with transaction(world.engine) as s:
        _open(s, at=T0 - dt.timedelta(days=8))
        escalate_overdue(s, now=T0)
        scope = district.scope_filter(Ticket.__table__.c.province_code,
                                      Ticket.__table__.c.district_code,
                                      Ticket.__table__.c.ward_code)  # fmt: skip
        seen = s.scalars(select(Ticket.id).where(scope, Ticket.escalated_at.is_not(None))).all()
    assert len(seen) == 1


def test_figures_per_ward(world: World) -> None:
    day = T0.date()
    with transaction(world.engine) as s:
        # ward 1: one resolved in 24 h, one resolved in 48 h (late: due in 1 day), one open overdue
        a = _open(s, at=T0 - dt.timedelta(days=20))
        b = _open(s, at=T0 - dt.timedelta(days=10))
        b.due_at = b.created_at + dt.timedelta(days=1)
        _open(s, at=T0 - dt.timedelta(days=9))
        for ticket, hours in ((a, 24), (b, 48)):
            ticket.status = S.RESOLVED.value
            ticket.resolved_at = ticket.created_at + dt.timedelta(hours=hours)
        _open(s, ward=OTHER_WARD, at=T0 - dt.timedelta(days=1))  # ward 2: open, not late
        _open(s, at=T0 + dt.timedelta(days=1))  # after the day: not counted
    with transaction(world.engine) as s:
        rows = {r.ward_code: r for r in ticket_figures(s, None, day)}
        only = ticket_figures(s, Ticket.__table__.c.ward_code == OTHER_WARD, day)
    w1, w2 = rows[WARD], rows[OTHER_WARD]
    assert (w1.open, w1.overdue, w1.resolved) == (1, 1, 2)
    assert w1.median_hours_to_resolve == pytest.approx(36.0)
    assert w1.share_overdue == pytest.approx(2 / 3)
    assert (w2.open, w2.overdue, w2.resolved, w2.share_overdue) == (1, 0, 0, 0.0)
    assert [r.ward_code for r in only] == [OTHER_WARD]


def test_escalate_command(store: Engine, store_url: str, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from vaxlink.feedback.cli import app
    from vaxlink.feedback.sms import ConsoleSms
    from vaxlink.settings import get_settings

    world = World(store)
    world.citizen("001085012345")
    with transaction(store) as s:
        _open(s, at=T0 - dt.timedelta(days=8))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["escalate", "--at", T0.isoformat()])
        figures = CliRunner().invoke(app, ["figures", "--day", "2025-03-01", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "escalated 1 overdue" in result.output
    last = ConsoleSms.last_to("0912345678")
    assert last is not None
    assert "Trung tam Y te huyen" in last.text
    assert '"overdue": 1' in figures.output
