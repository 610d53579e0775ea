"""Every text a person reads outside a page comes from the catalogue (#17): the SMS (one-time
code, report status), the daily report's e-mail, XLSX and PDF, the certificate PDF, and the
dose import's quarantine reasons (problems CSV and console).

How: every key of the catalogue is installed (as a deployment installs its translations) with a
marker as its text, `@@key@@` followed by its `{placeholders}`; each output is then made, and
what remains once the markers and the output's own data (names, places, codes, numbers) are
taken out must hold no word. A word left over is a text written into the code, which neither a
translator nor the language checks (tests/web/test_language_checker.py checks every catalogue
text is in its language) can reach. The outputs are also made once with the real texts: both
languages are there, each from its own language's table.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook
from rich.console import Console
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from tests.records.test_import import BAD, GOOD, _write_csv
from tests.records.test_import import TODAY as IMPORT_DAY
from tests.reports.world import NOW, TODAY, Built, build, make_synth
from vaxlink import catalogue
from vaxlink.certificates.pdf import CertificateDisplay, RecoveryDisplay, render_certificate_html
from vaxlink.clock import SystemClock
from vaxlink.db import make_engine, transaction, upgrade
from vaxlink.feedback.lookup import code_sms
from vaxlink.feedback.tickets import TicketStatus, status_sms
from vaxlink.geo.codes import unit_key
from vaxlink.ingest.console import print_report
from vaxlink.records.importer import import_doses
from vaxlink.records.parse import FIRST_VACCINATION_DAY, REASON_VALUES
from vaxlink.reports import daily
from vaxlink.reports.config import ReportSettings
from vaxlink.reports.models import DailyReport
from vaxlink.reports.service import run_due
from vaxlink.reports.smtp import Attachment
from vaxlink.settings import Settings
from vaxlink.web import po

MARK = re.compile(r"@@[\w.]+@@")
WORD = re.compile(r"[^\W\d_]+")
#: Words an output may print that are no text to translate: the product's and formats' names.
NOT_TEXT = frozenset({"HC1", "QR"})


@pytest.fixture
def marked() -> Iterator[dict[str, dict[str, str]]]:
    """Every key's text, in both languages, replaced by its marker (placeholders kept)."""
    strings = po.catalogue()
    texts = {
        lang: {key: f"@@{key}@@" + "".join(f" {{{n}}}" for n in sorted(po.placeholders(text)))
               for key, text in strings[lang].items()}
        for lang in catalogue.LANGUAGES
    }  # fmt: skip
    catalogue.install(texts)
    yield strings
    catalogue.install({})


def leftover(text: str, data: Iterable[str] = ()) -> list[str]:
    """The words of `text` that are neither a marker nor data."""
    for value in sorted((d for d in data if d), key=len, reverse=True):
        text = text.replace(value, " ")
    return [w for w in WORD.findall(MARK.sub(" ", text)) if w not in NOT_TEXT]


class _Text(HTMLParser):
    """The text a person reads in an HTML document: text nodes (not style or script) and the
    `alt`, `title`, `aria-label` and `content` attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        for name, value in attrs:
            if name in ("alt", "title", "aria-label") or (name == "content" and tag == "meta"):
                self.parts.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " \n ".join(parser.parts)


# -- SMS ----------------------------------------------------------------------------------------


def _all_sms() -> list[str]:
    out = [code_sms("123456", 5)]
    for status in TicketStatus:
        out.append(status_sms(42, status))
    out.append(status_sms(42, TicketStatus.NEW, escalated=True))
    out.append(status_sms(42, TicketStatus.RESOLVED, new_certificate=True))
    return out


def test_every_sms_is_catalogue_text(marked: dict[str, dict[str, str]]) -> None:
    for sms in _all_sms():
        assert "@@feedback.sms." in sms, sms
        assert leftover(sms) == [], sms


def test_an_sms_says_both_languages_from_the_catalogue() -> None:
    code = code_sms("123456", 5)
    assert code.isascii()  # one segment
    assert code.startswith("VAXLINK: Ma xac thuc 123456, hieu luc 5 phut.")
    assert code.endswith("Your code: 123456")
    resolved = status_sms(42, TicketStatus.RESOLVED, new_certificate=True)
    assert "Phan anh #42 da giai quyet, da cap chung nhan moi." in resolved
    assert resolved.endswith("Report #42: resolved, new certificate issued.")


# -- certificate PDF ----------------------------------------------------------------------------

VACCINATION = CertificateDisplay(
    name="Nguyễn Thị Thuỷ Đức", transliterated_name="NGUYEN<THI<THUY<DUC",
    date_of_birth=date(1985, 3, 14), disease="COVID-19",
    vaccine_prophylaxis="SARS-CoV-2 mRNA vaccine", product="Comirnaty",
    manufacturer="BioNTech Manufacturing GmbH", dose_number=2, total_doses=3,
    date_of_vaccination=date(2021, 9, 1), country="Việt Nam (VN)",
    issuer="Bộ Y tế · Ministry of Health of Viet Nam",
    certificate_id="URN:UVCI:01:VN:ABCDEFGH12345678#K",
)  # fmt: skip
RECOVERY = RecoveryDisplay(
    name="Trần Văn Bình", transliterated_name="TRAN<VAN<BINH", date_of_birth=date(1990, 1, 2),
    disease="COVID-19", first_positive=date(2021, 8, 1), country="Việt Nam (VN)",
    issuer="Bộ Y tế · Ministry of Health of Viet Nam", valid_from=date(2021, 8, 12),
    valid_until=date(2022, 1, 28), certificate_id="URN:UVCI:01:VN:RECOVERY0000001#Q",
)  # fmt: skip
HC1 = "HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N"


def _display_data(display: CertificateDisplay | RecoveryDisplay) -> list[str]:
    return [str(v) for v in vars(display).values()] + [
        v.isoformat() for v in vars(display).values() if isinstance(v, date)
    ]


@pytest.mark.parametrize("display", [VACCINATION, RECOVERY], ids=["vaccination", "recovery"])
def test_the_certificate_pdf_is_catalogue_text(
    marked: dict[str, dict[str, str]], display: CertificateDisplay | RecoveryDisplay
) -> None:
    text = html_text(render_certificate_html(display, HC1))
    assert "@@certificates.pdf.notice@@" in text
    data = _display_data(display)
    if isinstance(display, CertificateDisplay):
        data.append(f"{display.dose_number}/{display.total_doses}")
    assert leftover(text, data) == []


def test_the_certificate_pdf_prints_both_languages() -> None:
    text = html_text(render_certificate_html(VACCINATION, HC1))
    for key in ("title.v", "section.v", "notice", "date_of_vaccination"):
        for lang in catalogue.LANGUAGES:
            wanted = " ".join(po.catalogue()[lang][f"certificates.pdf.{key}"].split())
            assert wanted in " ".join(text.split()), (lang, key)


# -- daily report: e-mail, XLSX, PDF ------------------------------------------------------------


@dataclass
class Outbox:
    """A mailer that keeps what it was given (the SMTP adapter is tested on its own)."""

    sent: list[tuple[str, str, list[Attachment]]] = field(default_factory=list)

    def send(self, to: list[str], subject: str, body: str, attachments: list[Attachment]) -> None:
        self.sent.append((subject, body, attachments))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The reports' small processed data set (tests.reports.world) on SQLite."""
    root = tmp_path_factory.mktemp("outputs")
    url = f"sqlite:///{root / 'store.db'}"
    from vaxlink.db import upgrade

    engine: Engine = make_engine(url)
    upgrade(engine)
    try:
        yield build(url, engine, root / "data", make_synth(root / "synth", citizens=200))
    finally:
        engine.dispose()


def _report(world: Built, tmp_path: Path) -> tuple[str, str, bytes, str, list[str]]:
    """One province's daily report as the scheduler makes and mails it: subject, body, XLSX,
    the PDF's HTML, and the data it shows (unit names and codes)."""
    with transaction(world.engine) as s:  # made again, as if for the first time
        s.execute(delete(DailyReport))
    outbox = Outbox()
    config = ReportSettings(times={"province": dt.time(9, 0)},
                            recipients={"province:*": ["cdc@vaxlink.test"]})  # fmt: skip
    made = run_due(world.engine, tmp_path, config, now=NOW, mailer=outbox)
    assert made
    assert outbox.sent
    subject, body, files = outbox.sent[0]
    xlsx = next(f.content for f in files if f.filename.endswith(".xlsx"))
    key = unit_key(f"{made[0].level}:{made[0].unit_code}")
    with transaction(world.engine) as s:
        data = daily.collect(s, key, TODAY)
    html = daily.render_html(data)
    shown = [data.unit.name, data.unit.key.code, *(r.label for r in [*data.below, *data.sites]),
             *(r.key.split(":", 1)[-1] for r in [*data.below, *data.sites])]  # fmt: skip
    return subject, body, xlsx, html, shown


def _cells(xlsx: bytes) -> str:
    wb = load_workbook(io.BytesIO(xlsx))
    out = list(wb.sheetnames)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            out.extend(str(v) for v in row if isinstance(v, str))
    return " \n ".join(out)


def _sheet_names(strings: dict[str, dict[str, str]]) -> list[str]:
    """Sheet names are the catalogue's Vietnamese `reports.sheet.*` in ASCII (marked: the
    marker itself, which keeps its letters)."""
    return [catalogue.ascii_text(catalogue.translate("vi", k)) for k in strings["vi"]
            if k.startswith("reports.sheet.")]  # fmt: skip


def test_the_daily_report_mail_xlsx_and_pdf_are_catalogue_text(
    world: Built, tmp_path: Path, marked: dict[str, dict[str, str]]
) -> None:
    subject, body, xlsx, html, shown = _report(world, tmp_path)
    assert "@@reports.mail.subject@@" in subject
    assert leftover(subject, shown) == []
    assert leftover(body, shown) == []
    cells = _cells(xlsx)
    assert "@@reports.title@@" in cells
    sheets = [re.sub(r"[\[\]:*?/\\]", " ", n).strip()[:31] for n in _sheet_names(marked)]
    assert leftover(cells, [*shown, *sheets]) == []
    text = html_text(html)
    assert "@@reports.m.doses_sent@@" in text
    assert leftover(text, shown) == []


def test_the_daily_report_says_both_languages(world: Built, tmp_path: Path) -> None:
    subject, body, xlsx, html, _shown = _report(world, tmp_path)
    strings = po.catalogue()
    assert subject.startswith("[vaxlink] Báo cáo ngày ")
    assert "Daily report " in subject
    for lang in catalogue.LANGUAGES:
        head = strings[lang]["reports.mail.body"].split("{")[0]
        assert head in body, lang
        assert strings[lang]["reports.m.doses_linked"] in _cells(xlsx)
        assert strings[lang]["reports.m.doses_linked"] in html_text(html)
    assert load_workbook(io.BytesIO(xlsx)).sheetnames[0] == "Tong quan"


# -- dose import: the problems CSV's reasons and the console report -----------------------------


def test_the_import_reasons_are_catalogue_text(
    marked: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    """The problems CSV's `reason_texts` and the console's per-row lines and reason counts:
    markers and the rows' values only (the English `reasons` column is the quarantine's own)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    rows = [*GOOD, *(r for r, _c in BAD), ["R-extra", "x"]]
    path = _write_csv(tmp_path / "doses.csv", rows)
    try:
        report = import_doses(engine, path, settings=Settings(data_dir=tmp_path), today=IMPORT_DAY,
                              clock=SystemClock())  # fmt: skip
    finally:
        engine.dispose()
    assert report.report_path is not None
    # the rows' values and the constants the texts name (the catalogue's example vaccines)
    data = [v for r in rows for v in r] + [str(n) for n in range(1, 20)] + [
        FIRST_VACCINATION_DAY.strftime("%d/%m/%Y"), IMPORT_DAY.strftime("%d/%m/%Y"),
        REASON_VALUES["known"].strip("'"),
    ]  # fmt: skip
    with report.report_path.open(encoding="utf-8", newline="") as fh:
        texts = [r["reason_texts"] for r in csv.DictReader(fh)]
    assert len(texts) == report.quarantined
    for text in texts:
        assert "@@import.reason." in text, text
        assert leftover(MARK.sub(" ", text), data) == [], text  # markers out before short data
    console = Console(file=io.StringIO(), width=400, record=True)
    print_report(console, report, "", show=len(report.problems))
    out = console.export_text()
    lines = [ln for ln in out.splitlines() if "@@import.reason" in ln]
    assert len(lines) == len(report.reason_counts) + len(report.problems)
    for line in lines:
        # the console's own frame ("row N (key):", the code after a count) is not a reason text
        bare = re.sub(r"^\s*row \d+( \([^)]*\))?:", "", line)
        bare = re.sub(r"\((\w+)\)\s+[\d,]+\s*$", "", bare)
        assert leftover(MARK.sub(" ", bare), data) == [], line
