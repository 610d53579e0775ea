"""The deterministic pass: `verified` records and the rescue rules, as a handful of hash joins.

A record's ID number (as written, without spaces, with lost leading zeros restored, or as an old
9-digit CMND) is looked up in the registry; the citizen found is accepted when the name and date
of birth agree up to one of the explained slips and no other citizen is found the same way.
"""

from __future__ import annotations

from vaxlink.linkage.engine import Step

#: How a name written on a dose may differ from the registry's and still be that citizen's.
NAME_KINDS = (
    ("exact", "d.nm = r.nm"),
    ("folded", "d.nf = r.nf"),  # no diacritics, a wrong tone, NFD: the same letters
    ("family_variant", "d.fam = r.fam AND d.mid = r.mid AND d.giv = r.giv"),  # Hoàng/Huỳnh, Vũ/Võ
    ("reordered", "d.ssort = r.ssort"),  # the same syllables in another order
    ("dropped_middle", "d.fam = r.fam AND d.giv = r.giv AND lk_words_in(d.mid, r.mid)"),
)
#: How a date of birth may differ and still be that citizen's.
DOB_KINDS = (
    ("exact", "d.dy = r.dy AND d.dm IS NOT DISTINCT FROM r.dm AND d.dd IS NOT DISTINCT FROM r.dd"),
    ("swapped", "d.dy = r.dy AND d.dm = r.dd AND d.dd = r.dm"),
    ("year_only", "d.dy = r.dy AND d.dm IS NULL"),
    ("month_only", "d.dy = r.dy AND d.dm = r.dm AND d.dd IS NULL"),
    ("jan_first", "d.dy = r.dy AND d.dm = 1 AND d.dd = 1"),
    ("year_off_by_one", "abs(d.dy - r.dy) = 1 AND d.dm = r.dm AND d.dd = r.dd"),
    ("registry_partial", "d.dy = r.dy AND r.dd IS NULL AND (r.dm IS NULL OR d.dm = r.dm)"),
)
#: How the ID number matched.
ID_KINDS = (
    ("cmnd", "{via} = 'id9'"),
    ("lost_zeros", "d.id_padded"),
    ("exact", "d.id_raw = r.cid"),
    ("format", "TRUE"),  # spaces, dots or dashes in the number
)


# Most records are simply right: settle them before the slower rules are tried.
_PLAIN = (
    "coalesce(d.id_raw = r.cid AND d.nm = r.nm AND d.dy = r.dy AND d.dm IS NOT DISTINCT FROM r.dm "
    "AND d.dd IS NOT DISTINCT FROM r.dd AND d.sex = r.sex, false)"
)


def _first(kinds: tuple[tuple[str, str], ...]) -> str:
    whens = " ".join(f"WHEN coalesce({cond}, false) THEN '{name}'" for name, cond in kinds)
    return f"CASE {whens} END"


def corrected_sql(d: str = "d", r: str = "r") -> str:
    """SQL for the ';'-list of fields whose values on the dose differ from the citizen's."""
    items = [
        f"CASE WHEN {d}.id_raw IS DISTINCT FROM {r}.cid THEN 'id_number' END",
        f"CASE WHEN {d}.nm IS DISTINCT FROM {r}.nm THEN 'full_name' END",
        f"CASE WHEN NOT ({d}.dy IS NOT DISTINCT FROM {r}.dy AND {d}.dm IS NOT DISTINCT FROM {r}.dm "
        f"AND {d}.dd IS NOT DISTINCT FROM {r}.dd) THEN 'date_of_birth' END",
        f"CASE WHEN {d}.sex IS DISTINCT FROM {r}.sex THEN 'sex' END",
    ]
    return f"nullif(concat_ws(';', {', '.join(items)}), '')"


def _matches(join: str, via: str) -> str:
    """The registry rows a record's ID finds through `join`, with how each rule kind matched."""
    id_kinds = tuple((name, cond.format(via=f"'{via}'")) for name, cond in ID_KINDS)
    return f"""
        SELECT d._row, r.cid, '{via}' AS via,
               CASE WHEN {_PLAIN} THEN 'exact' ELSE {_first(id_kinds)} END AS id_kind,
               CASE WHEN {_PLAIN} THEN 'exact' ELSE {_first(NAME_KINDS)} END AS name_kind,
               CASE WHEN {_PLAIN} THEN 'exact' ELSE {_first(DOB_KINDS)} END AS dob_kind,
               CASE WHEN d.sex = r.sex THEN 'exact' WHEN d.sex IS NULL THEN 'missing'
                    ELSE 'different' END AS sex_kind,
               CASE WHEN NOT {_PLAIN} THEN {corrected_sql()} END AS corrected,
               coalesce(d.ph = r.ph, true) AS phone_ok
        FROM lk_dose d JOIN lk_reg r ON {join} WHERE d.invalid IS NULL"""


def steps() -> list[Step]:
    """SQL creating lk_idowner (who holds the ID a record gives, and how each rule kind matched
    them) and lk_det (the deterministic links): one pass over the two ID joins."""
    candidates = Step(
        "CREATE OR REPLACE TABLE lk_idowner AS "
        f"{_matches('r.id12 = d.id12', 'id12')} UNION ALL {_matches('r.id9 = d.id9', 'id9')}"
    )
    links = Step(
        """
        CREATE OR REPLACE TABLE lk_det AS
        SELECT _row, cid,
               CASE WHEN id_kind = 'exact' AND corrected IS NULL THEN 'verified'
                    ELSE 'auto_linked' END AS status,
               'id_' || id_kind || '+name_' || name_kind || '+dob_' || dob_kind || '+sex_'
                   || sex_kind AS rule,
               corrected
        FROM lk_idowner
        WHERE name_kind IS NOT NULL AND dob_kind IS NOT NULL
          AND (sex_kind <> 'different'
               OR (name_kind IN ('exact', 'folded') AND dob_kind = 'exact' AND phone_ok))
          -- a record whose ID several registry rows share (a duplicate in the registry) is no
          -- rule's: the model and a person decide
          AND _row NOT IN (SELECT _row FROM lk_idowner GROUP BY _row HAVING count(*) > 1)
        """
    )
    return [candidates, links]
