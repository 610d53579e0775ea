"""The byte scan that spares clean workbooks a full XML parse never misses a formula or merge."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from vaxlink.ingest import xlsx


def _zip(tmp_path: Path, xml: bytes) -> zipfile.ZipFile:
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sheet.xml", xml)
    return zipfile.ZipFile(path)


@pytest.mark.parametrize("tag", [b"<f>SUM(A1)</f>", b"<x:f>1</x:f>", b'<mergeCell ref="A1:B1"/>'])
@pytest.mark.parametrize("shift", [-40, -3, -1, 0, 1, 5])
def test_tag_cut_by_a_chunk_boundary_is_found(tmp_path: Path, tag: bytes, shift: int) -> None:
    pad = b"<c r='A1'><v>1</v></c>" * (xlsx._CHUNK // 20)
    xml = pad[: xlsx._CHUNK + shift] + tag + b"</row>"
    with _zip(tmp_path, xml) as zf:
        assert xlsx._may_have_formulas_or_merges(zf, "sheet.xml")


def test_clean_sheet_passes_without_a_parse(tmp_path: Path) -> None:
    xml = (
        b"<mergeCells count='0'></mergeCells><filterColumn/><font/>" + b"<c><v>1</v></c>" * 200_000
    )
    with _zip(tmp_path, xml) as zf:
        assert not xlsx._may_have_formulas_or_merges(zf, "sheet.xml")
