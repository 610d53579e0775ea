"""Quarantine reasons in the reader's language (#17): every reason code of the dose and registry
checks has a Vietnamese and an English text in the catalogue, and the per-row problems CSV and
the console report show them (Vietnamese by default, English with `lang="en"`), filled with the
row's values, next to the unchanged code and English columns."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy.engine import Engine
from tests.records.test_import import BAD, GOOD, HEADER, TODAY, _write_csv
from tests.registry.test_load import BAD as REGISTRY_BAD
from tests.registry.test_load import ROWS as REGISTRY_ROWS
from tests.registry.test_load import _write as _write_registry

from vaxlink import catalogue
from vaxlink.clock import SystemClock
from vaxlink.ingest import reason_strings
from vaxlink.ingest.console import print_report
from vaxlink.ingest.pipeline import placeholders, reason_table
from vaxlink.records.importer import import_doses
from vaxlink.records.parse import CHECKS, FIRST_VACCINATION_DAY, REASON_VALUES
from vaxlink.registry import importer as registry_importer
from vaxlink.registry.importer import load_registry
from vaxlink.settings import Settings

#: Codes the pipeline itself gives (not a check of a kind): a changed re-send, an unreadable line.
PIPELINE_CODES = {"record_id_changed": REASON_VALUES, "unreadable_row": {}}
DOSE_CODES = {code: REASON_VALUES for code, _cond, _msg in CHECKS}
REGISTRY_CODES = {
    code: registry_importer._REASON_VALUES for code, _c, _m in registry_importer._CHECKS
}


@pytest.fixture(autouse=True)
def _no_installed_texts() -> Iterator[None]:
    yield
    catalogue.install({})


@pytest.mark.parametrize(
    ("code", "values"),
    [*DOSE_CODES.items(), *REGISTRY_CODES.items(), *PIPELINE_CODES.items()],
    ids=[*DOSE_CODES, *(f"registry:{c}" for c in REGISTRY_CODES), *PIPELINE_CODES],
)
def test_every_reason_code_has_vietnamese_and_english_texts(
    code: str, values: dict[str, str]
) -> None:
    """Fails when a check is added without its texts, or a text names a value its kind's rows
    do not carry (it would be shown empty)."""
    names = {}
    for lang in catalogue.LANGUAGES:
        text = reason_strings.STRINGS[lang].get(reason_strings.TEXT + code)
        label = reason_strings.STRINGS[lang].get(reason_strings.LABEL + code)
        assert text, (lang, code)
        assert label, (lang, code)
        assert not placeholders(label), (lang, code)
        names[lang] = placeholders(text)
        assert names[lang] <= set(values), (lang, code, names[lang] - set(values))
    assert names["vi"] == names["en"], code


def test_the_texts_are_registered_with_the_app_catalogue() -> None:
    from vaxlink.web import po

    strings = po.catalogue()
    for lang in catalogue.LANGUAGES:
        for key, text in reason_strings.STRINGS[lang].items():
            assert strings[lang][key] == text


def _problems(path: Path | None) -> list[dict[str, str]]:
    assert path is not None
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _t(lang: str, code: str, **values: object) -> str:
    return catalogue.text_in(reason_strings.STRINGS, lang, reason_strings.TEXT + code, **values)


def _dose_file(tmp_path: Path) -> Path:
    rows = GOOD + [r for r, _c in BAD]
    # several reasons; a value that looks like a placeholder (filled after its own) stays as written
    rows.append(["B11", "123", "1990", "M", "", "", "", "Pfizer", "", "", "{vaccine}", ""])
    return _write_csv(tmp_path / "doses.csv", [*rows, ["R-extra", "x"]])


def _expected_doses(lang: str) -> dict[str, str]:
    """record key (or the unreadable line's row) -> the reasons the CSV must show in `lang`."""
    known = "AstraZeneca, Pfizer, Moderna, Vero Cell, Sputnik V, Abdala, Hayat-Vax, Janssen"
    dup = _t(lang, "record_id_duplicate", record_id="DUP", count=2)
    return {
        "": _t(lang, "record_id_missing"),
        "B2": _t(lang, "dob_invalid", date_of_birth="31/02/1990"),
        "B3": _t(lang, "id_too_long", id_number="00108501234567", digits=14),
        "B4": _t(lang, "vaccine_unknown", vaccine="Sinopharmx", known=known),
        "B5": _t(lang, "vaccination_date_out_of_range", vaccination_date="2023-01-01",
                 first_day=FIRST_VACCINATION_DAY.strftime("%d/%m/%Y"), today="01/06/2022"),
        "B6": _t(lang, "name_missing"),
        "B7": _t(lang, "dob_invalid", date_of_birth="ngày 5"),
        "B8": _t(lang, "dose_number_invalid", dose_number="hai"),
        "B9": _t(lang, "dob_after_vaccination", date_of_birth="2021-10-01",
                 vaccination_date="2021-09-01"),
        "DUP": dup,
        "B10": _t(lang, "vaccination_date_invalid", vaccination_date="31/13/2021"),
        "B11": "; ".join([_t(lang, "name_no_letters", full_name="123"),
                          _t(lang, "vaccination_date_missing"),
                          _t(lang, "dose_number_invalid", dose_number="{vaccine}")]),
        "row 20": _t(lang, "unreadable_row"),
    }  # fmt: skip


@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
def test_the_problems_csv_has_the_reasons_in_the_readers_language(
    store: Engine, tmp_path: Path, lang: str
) -> None:
    report = import_doses(store, _dose_file(tmp_path), settings=Settings(data_dir=tmp_path / "v"),
                          today=TODAY, clock=SystemClock(), lang=lang)  # fmt: skip
    rows = _problems(report.report_path)
    # the contract's columns first, unchanged; the reasons in the reader's language added last
    assert list(rows[0]) == ["row", "record_key", "reason_codes", "reasons", "raw", "reason_texts"]
    got = {r["record_key"] if r["reason_codes"] != "unreadable_row" else f"row {r['row']}":
           r["reason_texts"] for r in rows}  # fmt: skip
    assert got == _expected_doses(lang)
    dob = next(r for r in rows if r["record_key"] == "B2")
    assert dob["reason_codes"] == "dob_invalid"
    assert dob["reasons"] == "date of birth 31/02/1990 does not exist"  # English, as before
    by_key = {p.record_key: p for p in report.problems}
    assert by_key["B2"].texts == _expected_doses(lang)["B2"]
    label = reason_strings.STRINGS[lang][reason_strings.LABEL + "dob_invalid"]
    assert report.reason_labels["dob_invalid"] == label


def test_vietnamese_is_the_default_and_the_console_shows_it(store: Engine, tmp_path: Path) -> None:
    report = import_doses(store, _dose_file(tmp_path), settings=Settings(data_dir=tmp_path),
                          today=TODAY, clock=SystemClock())  # fmt: skip
    assert report.lang == "vi"
    console = Console(file=io.StringIO(), width=400, record=True)
    print_report(console, report, "Dose records", show=20)
    out = console.export_text()
    assert "ngày sinh '31/02/1990' không phải là ngày hợp lệ" in out
    assert "date of birth 31/02/1990 does not exist" not in out
    assert "ngày sinh không hợp lệ (dob_invalid)" in out  # the counts: label and code
    assert "mã mũi tiêm bị trùng (record_id_duplicate)" in out


def test_an_installed_translation_is_used_and_every_cell_stays_inert(
    store: Engine, tmp_path: Path
) -> None:
    catalogue.install({"vi": {reason_strings.TEXT + "name_missing": "{record_id} thiếu tên"}})
    row = ["=1+2", "", "1990", "M", "", "", "", "Pfizer", "", "2021-09-01", "1", ""]
    path = _write_csv(tmp_path / "d.csv", [row], header=HEADER)
    report = import_doses(store, path, settings=Settings(data_dir=tmp_path), today=TODAY,
                          clock=SystemClock())  # fmt: skip
    (got,) = _problems(report.report_path)
    assert got["record_key"] == "'=1+2"
    assert got["reason_texts"] == "'=1+2 thiếu tên"


def test_a_changed_resend_is_told_in_the_readers_language(store: Engine, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = _write_csv(tmp_path / "a.csv", GOOD[:1])
    import_doses(store, first, settings=settings, today=TODAY, clock=SystemClock())
    changed = _write_csv(tmp_path / "b.csv", [[*GOOD[0][:10], "2", GOOD[0][11]]])
    report = import_doses(store, changed, settings=settings, today=TODAY, clock=SystemClock())
    (got,) = _problems(report.report_path)
    assert got["reason_codes"] == "record_id_changed"
    assert got["reason_texts"] == _t("vi", "record_id_changed", record_id="G1", batch=1)


@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
def test_the_registry_problems_csv_has_the_reasons_too(
    store: Engine, tmp_path: Path, lang: str
) -> None:
    path = _write_registry(tmp_path / "reg.csv", REGISTRY_ROWS + [r for r, _c in REGISTRY_BAD])
    report = load_registry(store, path, settings=Settings(data_dir=tmp_path), today=TODAY,
                           clock=SystemClock(), lang=lang)  # fmt: skip
    got = {r["reason_codes"]: r["reason_texts"] for r in _problems(report.report_path)}
    assert got == {
        "citizen_id_invalid": _t(lang, "citizen_id_invalid", citizen_id="12345"),
        "name_missing": _t(lang, "name_missing"),
        "dob_invalid": _t(lang, "dob_invalid", date_of_birth="1980-02-30"),
        "sex_invalid": _t(lang, "sex_invalid", sex="X"),
        "province_invalid": _t(lang, "province_invalid", province_code=""),
    }


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        reason_table("fr")
