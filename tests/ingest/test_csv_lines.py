"""The line-by-line CSV reading used when a record spans lines: which lines a quote may join."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaxlink.ingest.reader import MAX_CELL_LINES, UNCLOSED_QUOTE, split_lines
from vaxlink.ingest.sniff import scan_text


def _split(tmp_path: Path, body: str) -> list[tuple[int, list[str] | None, str | None]]:
    path = tmp_path / "f.csv"
    path.write_text("a,b,c\n" + body, encoding="utf-8")
    return [(n, cells, why) for n, cells, _raw, why in split_lines(path, ",", 3)]


def test_a_quoted_line_break_joins_lines(tmp_path: Path) -> None:
    got = _split(tmp_path, '1,"x\ny",z\n2,p,q\n')
    assert got == [(2, ["1", "x\ny", "z"], None), (4, ["2", "p", "q"], None)]


def test_a_quote_never_closed_refuses_its_line_only(tmp_path: Path) -> None:
    got = _split(tmp_path, '1,"x,z\n2,p,q\n3,r,s\n')
    assert got == [
        (2, None, UNCLOSED_QUOTE),
        (3, ["2", "p", "q"], None),
        (4, ["3", "r", "s"], None),
    ]


def test_a_quote_may_not_swallow_whole_rows(tmp_path: Path) -> None:
    got = _split(tmp_path, '1,"x,z\n2,p,q\n3,r",s\n')
    assert got[0] == (2, None, UNCLOSED_QUOTE)
    assert [n for n, cells, _why in got if cells] == [3, 4]


def test_a_cell_may_span_at_most_max_cell_lines(tmp_path: Path) -> None:
    at_most = "\n".join(["x"] * MAX_CELL_LINES)
    assert _split(tmp_path, f'1,"{at_most}",z\n')[0][2] is None
    too_many = "\n".join(["x"] * (MAX_CELL_LINES + 1))
    assert _split(tmp_path, f'1,"{too_many}",z\n')[0] == (2, None, UNCLOSED_QUOTE)


@pytest.mark.parametrize(
    ("body", "reason"),
    [('1,"x"y,z\n', "misplaced"), ("1,x\n", "fewer cells"), ("1,x,y,z\n", "more cells"),
     ("1,\xff,z\n", "UTF-8"), ("1," + "A" * (1 << 20) + ",z\n", "longer than 1 MB")],
)  # fmt: skip
def test_unreadable_lines_say_why(tmp_path: Path, body: str, reason: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b,c\n" + body.encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    [(n, cells, _raw, why)] = list(split_lines(path, ",", 3))
    assert (n, cells) == (2, None)
    assert why is not None
    assert reason in why


def test_scan_counts_lines_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n\n3,4\r\n\r\n5,6")
    shape = scan_text(path)
    assert (shape.lines, shape.blank_lines) == (6, 2)
