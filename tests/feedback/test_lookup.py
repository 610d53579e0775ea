"""Lookups and codes on the store (SQLite and PostgreSQL): expiry, single use, attempts, limits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vaxlink.db import transaction
from vaxlink.errors import InvalidInput
from vaxlink.feedback import otp, service
from vaxlink.feedback.models import OtpChallenge
from vaxlink.feedback.service import finish_lookup, parse_lookup, start_lookup
from vaxlink.settings import Settings

from .conftest import World

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
CID = "001085012345"


def _lookup(s: Session, settings: Settings, *, cid: str = CID, name: str = "nguyen van an",
            dob: str = "14/03/1985", client: str = "10.0.0.1", now: dt.datetime = T0
            ) -> service.LookupOutcome:  # fmt: skip
    return start_lookup(s, parse_lookup(cid, name, dob), client=client, now=now, settings=settings)


def test_match_sends_code_and_code_opens_session(world: World, settings: Settings) -> None:
    world.citizen(CID)
    with transaction(world.engine) as s:
        out = _lookup(s, settings)
    assert out.handle
    assert out.sms is not None
    assert out.sms.phone == "0912345678"
    code = out.sms.text.split("Your code: ")[1]
    assert code.isdigit()
    assert len(code) == 6
    with transaction(world.engine) as s:
        stored = s.scalar(select(OtpChallenge.code_hash))
        assert stored is not None
        assert code not in stored
        done = finish_lookup(s, out.handle, code, client="10.0.0.1", now=T0, settings=settings)
    assert done.token
    with transaction(world.engine) as s:
        assert otp.session_citizen(s, done.token, now=T0 + dt.timedelta(minutes=5)) == CID
        with pytest.raises(Exception, match="session has ended"):
            otp.session_citizen(s, done.token, now=T0 + dt.timedelta(minutes=16))
    # single use: the same code again is refused
    with transaction(world.engine) as s:
        again = finish_lookup(s, out.handle, code, client="10.0.0.1", now=T0, settings=settings)
    assert again.token is None
    assert again.attempts_left == 0


@pytest.mark.parametrize(
    ("cid", "name", "dob"),
    [(CID, "Nguyen Van Binh", "14/03/1985"), (CID, "Nguyễn Văn An", "15/03/1985"),
     ("001099999999", "Nguyễn Văn An", "14/03/1985")],
)  # fmt: skip
def test_wrong_combinations_still_write_a_challenge_and_send_nothing(
    world: World, settings: Settings, cid: str, name: str, dob: str
) -> None:
    world.citizen(CID)
    with transaction(world.engine) as s:
        out = _lookup(s, settings, cid=cid, name=name, dob=dob)
        assert out.handle is not None
        assert out.sms is None
        assert s.scalar(select(func.count()).select_from(OtpChallenge)) == 1
        # a code for an unmatched challenge never verifies, whatever is guessed
        for guess in ("000000", "123456"):
            res = finish_lookup(s, out.handle, guess, client="10.0.0.1", now=T0, settings=settings)
            assert res.token is None


def test_code_expires(world: World, settings: Settings) -> None:
    world.citizen(CID)
    with transaction(world.engine) as s:
        out = _lookup(s, settings)
    assert out.sms is not None
    code = out.sms.text.split("Your code: ")[1]
    late = T0 + dt.timedelta(seconds=settings.otp_ttl_seconds + 1)
    with transaction(world.engine) as s:
        res = finish_lookup(s, out.handle, code, client="10.0.0.1", now=late, settings=settings)
    assert res.token is None


def test_attempts_per_challenge_are_limited(world: World, settings: Settings) -> None:
    world.citizen(CID)
    with transaction(world.engine) as s:
        out = _lookup(s, settings)
    assert out.sms is not None
    code = out.sms.text.split("Your code: ")[1]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    lefts = []
    for _ in range(settings.otp_max_attempts):
        with transaction(world.engine) as s:
            lefts.append(finish_lookup(s, out.handle, wrong, client="10.0.0.2", now=T0,
                                       settings=settings).attempts_left)  # fmt: skip
    assert lefts == [4, 3, 2, 1, 0]
    with transaction(world.engine) as s:  # the right code no longer helps
        res = finish_lookup(s, out.handle, code, client="10.0.0.2", now=T0, settings=settings)
    assert res.token is None


def test_code_guessing_locks_the_address(world: World, settings: Settings) -> None:
    world.citizen(CID)
    locked = None
    for i in range(12):
        with transaction(world.engine) as s:
            out = _lookup(s, settings, client=f"10.1.0.{i}")
            res = finish_lookup(s, out.handle, "999999", client="10.9.9.9", now=T0,
                                settings=settings)  # fmt: skip
            locked = locked or res.locked_until
    assert locked is not None
    assert locked > T0
    # locked: even a right code from that address is not checked until the lockout ends
    with transaction(world.engine) as s:
        out = _lookup(s, settings, client="10.2.0.1", cid="001085012345")
    with transaction(world.engine) as s:
        assert out.sms is None  # phone limit reached by the many lookups above: nothing sent
        res = finish_lookup(s, out.handle, "000000", client="10.9.9.9", now=T0, settings=settings)
    assert res.locked_until is not None


def test_lookups_per_id_and_address_back_off_then_recover(world: World, settings: Settings) -> None:
    world.citizen(CID)
    outcomes = []
    for _ in range(7):
        with transaction(world.engine) as s:
            outcomes.append(_lookup(s, settings, name="Wrong Name", client="10.3.0.1"))
    assert [o.handle is not None for o in outcomes] == [True] * 5 + [False] * 2
    assert outcomes[-1].locked_until is not None
    # an unknown ID is limited exactly the same way
    unknown = []
    for _ in range(7):
        with transaction(world.engine) as s:
            unknown.append(_lookup(s, settings, cid="001099999999", client="10.4.0.1"))
    assert [o.handle is not None for o in unknown] == [True] * 5 + [False] * 2
    # other addresses are not held up by it, and the pair recovers after its delay
    with transaction(world.engine) as s:
        assert _lookup(s, settings, client="10.5.0.1").handle is not None
    later = T0 + dt.timedelta(seconds=settings.lookup_backoff_seconds + 1)
    with transaction(world.engine) as s:
        assert _lookup(s, settings, client="10.3.0.1", now=later).handle is not None


def test_lookups_per_id_have_a_daily_ceiling(world: World, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", lookup_max_per_id_day=4,
                        _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    world.citizen(CID)
    outcomes = []
    for i in range(6):
        with transaction(world.engine) as s:
            outcomes.append(_lookup(s, settings, name="Wrong Name", client=f"10.3.0.{i}"))
    assert [o.handle is not None for o in outcomes] == [True] * 4 + [False] * 2
    with transaction(world.engine) as s:
        assert _lookup(s, settings, client="10.3.9.1", now=T0 + dt.timedelta(days=1)).handle


def test_lookups_per_address_lock_out(world: World, settings: Settings) -> None:
    results = []
    for i in range(32):
        with transaction(world.engine) as s:
            results.append(_lookup(s, settings, cid=f"0010990{i:05d}", client="10.6.0.1"))
    assert results[29].handle is not None
    assert results[30].handle is None


def test_lookup_form_shape_errors_name_no_person() -> None:
    with pytest.raises(InvalidInput, match="12-digit"):
        parse_lookup("12ab", "An", "1985-03-14")
    with pytest.raises(InvalidInput, match="date of birth"):
        parse_lookup(CID, "Nguyễn Văn An", "31/02/1985")
    form = parse_lookup(" 001 085 012 345 ", "NGUYEN VAN  AN", "14/03/1985")
    assert (form.id_number, form.name_folded, form.date_of_birth) == (
        CID, "nguyen van an", "1985-03-14")  # fmt: skip


def test_old_id_number_finds_the_person(world: World, settings: Settings) -> None:
    world.citizen(CID, old_id="012345678")
    with transaction(world.engine) as s:
        out = _lookup(s, settings, cid="012345678")
    assert out.sms is not None


def test_person_without_phone_gets_the_same_answer(world: World, settings: Settings) -> None:
    world.citizen(CID, phone=None)
    with transaction(world.engine) as s:
        out = _lookup(s, settings)
    assert out.handle is not None
    assert out.sms is None


def test_expired_codes_and_sessions_are_purged(world: World, settings: Settings) -> None:
    world.citizen(CID)
    with transaction(world.engine) as s:
        out = _lookup(s, settings)
        otp.open_session(s, CID, now=T0, ttl=dt.timedelta(minutes=15))
    assert out.handle is not None
    with transaction(world.engine) as s:
        assert otp.purge_expired(s, now=T0 + dt.timedelta(hours=2)) == 0
        assert otp.purge_expired(s, now=T0 + dt.timedelta(days=2)) == 2
        assert s.scalar(select(func.count()).select_from(OtpChallenge)) == 0


def test_postgresql_one_statement_lookup_counts_as_statement_by_statement(
    world: World, tmp_path: Path
) -> None:
    """The PostgreSQL lookup's writes in one statement (`start_lookup_autocommit`, the limiter's
    rules in SQL) give the same answers, counters, lockouts and challenges as the statement by
    statement path (`hit_all`, `hit`, the challenge insert, the rules in Python), over a long
    run of lookups that reaches every limit, with time moving on."""
    import random

    from sqlalchemy import text

    from vaxlink.feedback import lookup

    if world.engine.dialect.name != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", lookup_max_per_id_day=12,
                        lookup_backoff_seconds=30, _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    world.citizen(CID)
    world.citizen("001085012346", phone="0912345678")  # shares the phone
    world.citizen("001085012347", phone=None)
    known = [CID, "001085012346", "001085012347"]
    unknown = [f"0010990000{i:02d}" for i in range(20)]

    def counters(s: Session) -> list[Any]:
        return [tuple(r) for r in s.execute(text(
            "SELECT key, window_start, count, locked_until FROM feedback_rate_counter "
            "ORDER BY key"))]  # fmt: skip

    def run(one_statement: bool) -> tuple[list[Any], list[Any], list[Any]]:
        rng = random.Random(13)
        now, answers, seen = T0, [], []
        for step in range(400):
            jump = rng.random() < 0.02
            now += dt.timedelta(seconds=rng.randrange(3600, 10800) if jump else rng.choice(
                [0, 0, 1, 5, 30]))  # fmt: skip
            cid = rng.choice(known) if rng.random() < 0.6 else rng.choice(unknown)
            form = parse_lookup(cid, rng.choice(["nguyen van an", "Tran Thi Binh"]), "14/03/1985")
            client = rng.choice(["10.7.0.1", "10.7.0.1", "10.7.0.1", "10.7.0.2"])
            if one_statement:
                out = lookup.start_lookup_autocommit(world.engine, form, client=client, now=now,
                                                     settings=settings)  # fmt: skip
            else:
                with transaction(world.engine) as s:
                    out = lookup._start_lookup_session(s, form, client=client, now=now,
                                                       settings=settings)  # fmt: skip
            answers.append((out.handle is not None, out.locked_until,
                            out.sms.phone if out.sms else None))  # fmt: skip
            if step % 10 == 9:
                with transaction(world.engine) as s:
                    seen.append(counters(s))
        with transaction(world.engine) as s:
            challenges = s.execute(text("SELECT citizen_id, created_at, expires_at, attempts "
                                        "FROM feedback_challenge ORDER BY id")).all()  # fmt: skip
            s.execute(text("DELETE FROM feedback_rate_counter"))
            s.execute(text("DELETE FROM feedback_challenge"))
        return answers, seen, [tuple(r) for r in challenges]

    by_statement, in_one = run(False), run(True)
    answers = by_statement[0]
    assert {a[0] for a in answers} == {True, False}  # lookups went ahead, others were refused
    assert any(a[2] for a in answers)
    locked = {key.split(":")[0] for snapshot in by_statement[1]
              for key, _start, _count, until in snapshot if until is not None}  # fmt: skip
    assert locked == {"id-addr", "id-day", "addr", "phone"}  # every limit was reached
    assert in_one[0] == by_statement[0]
    assert in_one[1] == by_statement[1]
    assert in_one[2] == by_statement[2]


def test_postgresql_lookup_refused_by_a_lock_set_after_its_read(
    world: World, settings: Settings
) -> None:
    """Another request locks the address between the lookup's read and its write: the write
    counts nothing on the phone, writes no challenge, and the answer is that lock's end."""
    from sqlalchemy import text

    from vaxlink.dbdriver import driver_rows
    from vaxlink.feedback import lookup

    if world.engine.dialect.name != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    world.citizen(CID)
    with transaction(world.engine) as s:  # the address's counter exists
        assert _lookup(s, settings, cid="001099999999", client="10.8.0.1").handle is not None
    until = T0 + dt.timedelta(minutes=42)
    with world.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        reads = []

        def rows_of(statement: Any, params: Any) -> Any:
            rows = driver_rows(conn, statement, params)
            if not reads:  # after the read: another request locks the address
                reads.append(1)
                conn.execute(text("UPDATE feedback_rate_counter SET locked_until = :u "
                                  "WHERE key LIKE 'addr:%'"), {"u": until})  # fmt: skip
            return rows

        out = lookup._start_lookup_pg(rows_of, parse_lookup(CID, "Nguyễn Văn An", "14/03/1985"),
                                      client="10.8.0.1", now=T0, settings=settings)  # fmt: skip
    assert (out.handle, out.locked_until, out.sms) == (None, until, None)
    with transaction(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(OtpChallenge)) == 1  # the first one's
        phones = s.execute(text("SELECT count FROM feedback_rate_counter "
                                "WHERE key LIKE 'phone:%'")).scalars().all()  # fmt: skip
    assert phones == [1]  # the first lookup's unknown ID, nothing for the person's phone


def test_the_postgresql_write_stays_in_psycopgs_query_cache(store: Any) -> None:
    """psycopg parses a statement's placeholders once and keeps the result only for statements
    of at most 4096 characters and 50 parameters: past that it parses on every lookup (about a
    tenth of the lookup's CPU when the statement was 5,900 characters)."""
    from psycopg import _queries

    from vaxlink.feedback import lookup

    if store.dialect.name != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    sql = str(lookup._write_statement().compile(dialect=store.dialect))
    assert len(sql) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    assert sql.count("%(") <= _queries.MAX_CACHED_STATEMENT_PARAMS
