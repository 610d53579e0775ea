"""Person clusters: which dose records are taken to be one person's."""

from __future__ import annotations

from tests.linkage.conftest import load_tables
from vaxlink.linkage import clusters
from vaxlink.linkage.engine import DuckDBEngine

REG = [{"citizen_id": "001085012345", "full_name": "Nguyễn Văn An", "date_of_birth": "1985-03-04",
        "sex": "M", "province_code": "001"}]  # fmt: skip
AN = {"full_name": "Nguyễn Văn An", "date_of_birth": "04/03/1985", "sex": "Nam",
      "id_number": "001085012345", "phone": "0912345678", "ward_code": "00295"}  # fmt: skip
DOSES = [
    AN,                                                            # R1
    {**AN, "full_name": "Nguyen Van An", "dose_number": "2"},      # R2: same ID, folded name
    {**AN, "id_number": None, "dose_number": "3"},                 # R3: no ID; phone and birth date
    {**AN, "id_number": None, "phone": None, "dose_number": "4"},  # R4: no ID, no phone; name + ward
    # A twin holding her brother's ID and the family phone: another given name, never joined.
    {**AN, "full_name": "Nguyễn Thị Ân"},                          # R5
    # Someone else with the same phone and another birth date.
    {**AN, "full_name": "Trần Thị Bích", "date_of_birth": "1960-01-01", "id_number": None},  # R6
    # The same person's fifth dose chained only through R4 (same name, birth date and ward).
    {**AN, "id_number": "099999999", "phone": "0987654321"},     # R7
    # His namesake son, born in 2010, holding his father's ID: another birth year.
    {**AN, "date_of_birth": "07/07/2010", "phone": None},          # R8
]  # fmt: skip


def test_clusters(engine: DuckDBEngine) -> None:
    load_tables(engine, REG, DOSES)
    clusters.cluster(engine, "lk_dose")
    rows = engine.to_arrow(
        "SELECT d.record_id, c.pk FROM lk_dose d LEFT JOIN lk_cluster c USING (_row) ORDER BY d._row"
    ).to_pylist()
    pk = {r["record_id"]: r["pk"] for r in rows}
    person = {pk["R1"], pk["R2"], pk["R3"], pk["R4"], pk["R7"]}
    assert len(person) == 1
    assert None not in person
    assert pk["R5"] not in person
    assert pk["R6"] not in person
    assert pk["R8"] not in person


def test_placeholder_keys_join_nobody(engine: DuckDBEngine) -> None:
    # The same name everywhere, so only the cap keeps the shared placeholder ID from joining.
    many = [{**AN, "date_of_birth": f"{1950 + i}-01-02", "phone": None,
             "id_number": "000000000000"} for i in range(clusters.MAX_KEY_DOSES + 1)]  # fmt: skip
    load_tables(engine, REG, many)
    clusters.cluster(engine, "lk_dose")
    assert engine.to_arrow("SELECT count(*) AS n FROM lk_cluster").column(0)[0].as_py() == 0
