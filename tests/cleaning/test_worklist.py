"""The worklist on SQLite and PostgreSQL: scope per unit, filters, search, sort, keyset pages,
and the audited detail with its field-by-field comparison."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cleaning.world import (
    BA_DINH,
    HA_NOI,
    PHUC_XA,
    TAN_DINH,
    World,
    ports,
    principal,
    registry_of,
)
from tests.store_support import captured_queries, plan
from vaxlink.auth.errors import OutOfScope
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.cleaning import service
from vaxlink.cleaning.detail import dose_detail
from vaxlink.cleaning.errors import InvalidCorrection
from vaxlink.cleaning.worklist import WorklistQuery, worklist

POLICE = principal(Role.COMMUNE_POLICE, PHUC_XA)


def _ids(db: Session, who: object, **kw: object) -> list[int]:
    page = worklist(db, who, WorklistQuery(**kw))  # type: ignore[arg-type]
    return [r["id"] for r in page.rows]


def test_scope_per_unit(db: Session, world: World) -> None:
    d = world.doses
    commune = {d["an1"], d["an2"], d["binh"], d["ghost"]}
    assert set(_ids(db, POLICE)) == commune  # not the verified one, not other communes
    assert set(_ids(db, principal(Role.DISTRICT_HEALTH, BA_DINH))) == commune | {d["cuong"]}
    assert set(_ids(db, principal(Role.PROVINCIAL_CDC, HA_NOI))) == commune | {d["cuong"]}
    assert _ids(db, principal(Role.COMMUNE_POLICE, TAN_DINH)) == [d["dung"]]


def test_filters_and_search(db: Session, world: World) -> None:
    d = world.doses
    assert _ids(db, POLICE, statuses=("review",)) == [d["an1"], d["an2"]]
    assert _ids(db, POLICE, reason="no_plausible_candidate") == [d["binh"]]
    assert _ids(db, POLICE, search="nguyễn  VĂN a") == [d["an1"], d["an2"]]
    assert _ids(db, POLICE, search="0011 90") == [d["binh"]]
    assert _ids(db, POLICE, date_from=dt.date(2021, 8, 15), date_to=dt.date(2021, 9, 30)) == [
        d["an2"]
    ]
    assert _ids(db, POLICE, facility="F999") == []
    page = worklist(db, POLICE, WorklistQuery())
    assert page.total == 4
    assert "below_threshold" in page.reasons
    row = next(r for r in page.rows if r["id"] == d["an1"])
    assert row["candidates"][0]["citizen_id"] == "001085012345"


@pytest.mark.parametrize("sort", ["id", "vaccination_date", "name"])
def test_keyset_pages_cover_everything_once(db: Session, world: World, sort: str) -> None:
    q = WorklistQuery(sort=sort, limit=1)  # type: ignore[arg-type]
    seen: list[int] = []
    while True:
        page = worklist(db, POLICE, q)
        seen += [r["id"] for r in page.rows]
        if page.next_cursor is None:
            break
        q = WorklistQuery(sort=sort, limit=1, after=page.next_cursor)  # type: ignore[arg-type]
    assert sorted(seen) == sorted(_ids(db, POLICE))
    assert len(seen) == 4
    full = [r["id"] for r in worklist(db, POLICE, WorklistQuery(sort=sort)).rows]  # type: ignore[arg-type]
    assert seen == full


def test_damaged_cursor_is_refused(db: Session, world: World) -> None:
    with pytest.raises(InvalidCorrection, match="damaged"):
        worklist(db, POLICE, WorklistQuery(after="not-a-cursor"))


def test_closed_items_leave_the_open_list(db: Session, world: World) -> None:
    ghost = world.doses["ghost"]
    version = service.load_dose(db, POLICE, ghost, now=dt.datetime.now(dt.UTC)).version
    service.decide(db, POLICE, ghost, **ports(db), expected_version=version, decision="cannot_verify",
                   cannot_verify_reason="deceased")  # fmt: skip
    assert ghost not in _ids(db, POLICE)
    assert _ids(db, POLICE, state="closed") == [ghost]
    assert ghost in _ids(db, POLICE, state="all")


def test_detail_compares_with_each_candidate_and_is_audited(db: Session, world: World) -> None:
    an1 = world.doses["an1"]
    detail = dose_detail(db, POLICE, an1, registry_of(db), now=dt.datetime.now(dt.UTC))
    assert [c.citizen_id for c in detail.candidates] == ["001085012345", "001085012346"]
    best, other = detail.candidates
    assert best.person is not None
    assert best.person.full_name == "Nguyễn Văn An"
    assert best.agreement["full_name"] == "agree"
    assert best.agreement["date_of_birth"] == "agree"
    assert other.agreement["date_of_birth"] == "partly"
    assert best.agreement["id_number"] == "missing"
    assert best.evidence["fields"]["given"]["level"] == "exact"
    assert detail.raw["full_name"] == "Nguyen Van An"
    assert detail.links[0]["reason"] == "below_threshold"
    views = db.scalars(select(AuditEntry).where(AuditEntry.action == "dose.view")).all()
    assert [v.object_id for v in views] == [str(an1)]
    with pytest.raises(OutOfScope):
        dose_detail(db, POLICE, world.doses["dung"], registry_of(db), now=dt.datetime.now(dt.UTC))


@pytest.mark.parametrize(
    ("who", "index"),
    [(principal(Role.DISTRICT_HEALTH, BA_DINH), "ix_dose_record_worklist_district"),
     (principal(Role.PROVINCIAL_CDC, HA_NOI), "ix_dose_record_worklist_province"),
     (POLICE, "ix_dose_record_worklist_ward")],
)  # fmt: skip
def test_the_page_query_reads_its_level_s_worklist_index(
    db: Session, world: World, who: object, index: str
) -> None:
    # The district and province indexes are partial (worklist statuses only); SQLite uses such an
    # index only if the query repeats its WHERE term, so the query sent is explained as it is.
    conn = db.connection()
    with captured_queries(conn, lambda sql: sql.lstrip().upper().startswith("SELECT")
                          and "FROM dose_record" in sql) as sent:  # fmt: skip
        _ids(db, who)
    assert sent
    text_plan = plan(conn, *sent[0])
    assert index in text_plan, text_plan
