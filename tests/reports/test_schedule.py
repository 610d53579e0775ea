"""The schedule: what is due when, made once, and mailed through a real (local) SMTP server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from typer.testing import CliRunner

from tests.reports.world import NOW, TODAY, Built, at
from vaxlink.db import transaction
from vaxlink.reports import cli as reports_cli
from vaxlink.reports.config import ReportSettings, SmtpSettings
from vaxlink.reports.errors import MailError
from vaxlink.reports.models import DailyReport
from vaxlink.reports.schedule import Due, due_reports
from vaxlink.reports.service import run_due
from vaxlink.reports.smtp import Attachment, SmtpMailer

CONFIG = ReportSettings(times={"district": dt.time(13, 30), "province": dt.time(15, 0)})
UNITS = {"district": ["001", "002"], "province": ["001"], "ward": ["00001"]}
D = dt.date(2025, 3, 3)


def test_nothing_is_due_before_the_first_time() -> None:
    assert due_reports(at(D, 13, 29), CONFIG, UNITS, []) == []


def test_districts_at_13_30_provinces_at_15_00() -> None:
    assert due_reports(at(D, 13, 30), CONFIG, UNITS, []) == [
        Due(D, "district", "001"), Due(D, "district", "002")
    ]  # fmt: skip
    done = [(D, "district", "001")]
    assert due_reports(at(D, 15, 0), CONFIG, UNITS, done) == [
        Due(D, "district", "002"), Due(D, "province", "001")
    ]  # fmt: skip
    # Yesterday's reports do not count for today; a level without a time gets none.
    assert len(due_reports(at(D, 23, 59), CONFIG, UNITS, [(D - dt.timedelta(days=1), "district",
                                                          "001")])) == 3  # fmt: skip


def test_times_are_viet_nam_local() -> None:
    utc = dt.datetime(2025, 3, 3, 6, 30, tzinfo=dt.UTC)  # 13:30 in Viet Nam
    assert len(due_reports(utc, CONFIG, UNITS, [])) == 2
    assert due_reports(utc - dt.timedelta(seconds=1), CONFIG, UNITS, []) == []


def test_unknown_level_refused() -> None:
    with pytest.raises(ValueError, match="no such level"):
        ReportSettings(times={"city": dt.time(9)})


class _Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.content  # type: ignore[attr-defined]
        self.messages.append(
            (
                list(envelope.rcpt_tos),
                email.message_from_bytes(content, policy=email.policy.default),
            )
        )  # type: ignore[attr-defined]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[_Sink, int]]:
    sink = _Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def test_smtp_adapter_delivers_attachments(smtp: tuple[_Sink, int]) -> None:
    sink, port = smtp
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, sender="bc@vaxlink.test"))
    mailer.send(["cdc@hanoi.test"], "Báo cáo", "Nội dung", [Attachment("a.pdf", b"%PDF-1.7",
                                                                       "application", "pdf")])  # fmt: skip
    ((to, msg),) = sink.messages
    assert to == ["cdc@hanoi.test"]
    assert msg["Subject"] == "Báo cáo"
    parts = [p for p in msg.walk() if p.get_filename()]
    assert [p.get_filename() for p in parts] == ["a.pdf"]
    assert parts[0].get_payload(decode=True) == b"%PDF-1.7"


def test_smtp_down_is_a_mail_error() -> None:
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=_free_port(), timeout=2))
    with pytest.raises(MailError, match="could not be e-mailed"):
        mailer.send(["x@y.test"], "s", "b", [])


def test_scheduler_makes_each_report_once_and_mails_it(
    built: Built, tmp_path: Path, smtp: tuple[_Sink, int]
) -> None:
    sink, port = smtp
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port))
    config = ReportSettings(times={"province": dt.time(9, 0)},
                            recipients={"province:*": ["cdc@vaxlink.test"]})  # fmt: skip
    early = run_due(built.engine, tmp_path, config, now=at(TODAY, 8, 59), mailer=mailer)
    assert early == []
    made = run_due(built.engine, tmp_path, config, now=NOW, mailer=mailer)
    assert made
    assert {r.level for r in made} == {"province"}
    assert len(sink.messages) == len(made)
    again = run_due(built.engine, tmp_path, config, now=NOW + dt.timedelta(minutes=10),
                    mailer=mailer)  # fmt: skip
    assert again == []
    with transaction(built.engine) as s:
        rows = s.scalars(select(DailyReport).order_by(DailyReport.id)).all()
        assert len(rows) == len(made)
        assert all(r.emailed_at is not None and r.email_error is None for r in rows)
        for r in rows:
            assert (tmp_path / r.xlsx_path).is_file()
            assert (tmp_path / r.pdf_path).read_bytes().startswith(b"%PDF")
    names = sorted(p.get_filename() for _to, m in sink.messages for p in m.walk()
                   if p.get_filename())  # fmt: skip
    assert len(names) == 2 * len(made)


def test_the_scheduler_runs_at_a_lower_cpu_priority() -> None:
    """Its refresh computes for seconds: the web app's requests must get the cores first."""
    code = "import os; from vaxlink.reports.cli import SCHEDULER_NICE, lower_priority; " \
           "before = os.nice(0); print(lower_priority(SCHEDULER_NICE) - before, SCHEDULER_NICE)"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lowered, wanted = out.stdout.split()
    assert int(wanted) > 0
    assert int(lowered) == min(int(wanted), 19 - os.nice(0))
    result = CliRunner().invoke(reports_cli.app, ["scheduler", "--once", "--nice", "25"])
    assert result.exit_code != 0
    assert result.exit_code == 2  # a usage error, before anything runs
    assert "--nice" in result.output
