"""Decisions: which links are automatic, which go to review, and the result rows (docs/formats.md §3).

A rule-based link the model finds unlikely goes to review. A residual record is linked
automatically when its best candidate's posterior reaches the threshold, beats the second by a
margin, and no guard (`guard`) holds: an ID number nobody in the registry holds (the mark of a
person missing from it); another date of birth; the candidate's own ID under another given name
the runner-up bears or no slip explains (a twin's or housemate's ID, as often written as one's
own); another name
and an ID that is not the candidate's; where the ID cannot decide, another citizen of the whole
registry with the candidate's folded name, date of birth and sex. Where the ID cannot decide
and the posterior is short of the threshold, the registry's uniqueness may decide instead
(`unique_in_registry`), or its namesakes weighed one by one with an absent namesake's chance
(`registry_namesakes`, which also lifts the whole-registry namesake guard). The model weighs a shared address, family
phone and family name as independent evidence, which within a household they are not: the
guards, not the threshold, stop those links. A record whose person's other doses are linked to
the same citizen needs less evidence of its own. A person whose doses point to different
citizens goes to review as a whole.
"""

from __future__ import annotations

from typing import Any

from vaxlink.linkage.comparisons import (
    COMPARISONS,
    DOB,
    FAMILY,
    GIVEN,
    ID,
    MIDDLE,
    RESIDENCE,
    SEX,
    Comparison,
)
from vaxlink.linkage.deterministic import corrected_sql
from vaxlink.linkage.engine import Step
from vaxlink.linkage.model import LinkModel


def _levels(c: Comparison, *names: str) -> tuple[int, ...]:
    index = {lv.name: i for i, lv in enumerate(c.levels)}
    return tuple(index[n] for n in names)


#: Level sets the guards look at (indices into each comparison's levels).
GUARD_LEVELS: dict[str, tuple[int, ...]] = {
    # the record's number is the candidate's own, up to a slip
    "id_explained": _levels(ID, "exact", "lost_zeros", "cmnd", "one_digit", "transposed", "indel"),
    # the record's number is the candidate's, as written or nearly
    "id_held": _levels(ID, "exact", "lost_zeros", "cmnd"),
    # a name part that is another name altogether
    "family_other": _levels(FAMILY, "else"),
    "given_other": _levels(GIVEN, "else"),
    # another date of birth (not one of the explained slips)
    "dob_other": _levels(DOB, "same_year", "else"),
    # a given name that is the record's, up to tones and a slip
    "given_agrees": _levels(GIVEN, "exact", "folded", "jw90"),
    # the uniqueness rule: the same date of birth, a sex that does not disagree, the same
    # province at least
    "dob_same": _levels(DOB, "exact"),
    "middle_other": _levels(MIDDLE, "else"),
    "sex_ok": _levels(SEX, "null", "exact"),
    "residence_near": _levels(RESIDENCE, "ward", "district", "province"),
    # the namesake rule: a date of birth the record's up to a slip or a near miss
    "dob_explained": _levels(
        DOB,
        "exact",
        "swap",
        "month",
        "year",
        "jan1",
        "year_off",
        "day1",
        "one_digit",
        "days10",
        "days31",
    ),
}

#: The namesake rule (`registry_namesakes`) links when the other explanations of the record
#: together are at most this likely against the candidate: every other citizen of the registry
#: with its family and given name, and a person absent from the registry bearing them. Tuned on
#: synth seed 24 (200k citizens, every phone removed), the rule's links by this bound: 1e-3 90
#: right / 0 wrong, 3e-3 194 / 0, 1e-2 353 / 0, 3e-2 583 / 1 (an absent person), 0.1 750 / 1.
NAMESAKE_RISK = 0.01
#: ... and only when the model itself finds the candidate more likely than not. Without this
#: floor, synth seed 22 (500k citizens, no phones) had 1 wrong link among the rule's (an absent
#: Trương Tuyển born 2 May linked to a registered Trương Văn Tuyên born 5 May in another
#: province, posterior 0.063); with it 0 in 3,924 (189 right links fewer; held-out seed 25:
#: 180 fewer, 0 wrong either way).
NAMESAKE_MIN_PROBABILITY = 0.5
#: A given name at least this many edits (Levenshtein, folded) from the candidate's, and neither
#: given name a word of the other's full name, is another name, not a slip of it nor the same
#: words in another order: a typo is one edit, two swapped letters two. With the candidate's
#: own ID it marks a housemate or twin carrying that ID (`id_of_another_person`) even when the
#: registry holds nobody with the record's given name (that person is absent from it). Without
#: the word test, synth seed 22 at 1M lost 2 right links (reversed order with a typo: "Tuảo Tạ
#: Bích" for Tạ Bích Thảo). Nor is a given name the other side's last words run together
#: ("Nguyễn ThịHạnh"): without that test the blind evaluation set (benchmarks/blind, error type
#: name_words_merged) lost 40 % of its automatic links (95.8 -> 56.1 %), all right ones.
GIVEN_FAR_EDITS = 3
ID_EXPLAINED = GUARD_LEVELS["id_explained"]


def guard(
    g: dict[str, int],
    second_given: int | None,
    has_id: bool,
    registered: bool,
    namesakes: int = 0,
    given_far: bool = False,
) -> str | None:
    """Why the best candidate may not be linked automatically whatever its probability (None when
    nothing stands in the way); `g` holds its level per comparison, `namesakes` the other
    citizens of the whole registry with the candidate's folded name, date of birth and sex,
    `given_far` whether the folded given names are `GIVEN_FAR_EDITS` edits apart or more and
    neither is a word of the other side's full name. The SQL twin is in `decision_steps`.

    Each guard was measured on synth seed 22 (1,097,516 doses x 500k citizens), same model,
    wrong automatic links / absent people linked without -> with it: id_not_in_registry 4/2 ->
    0/0 (6/2 -> 0/0 without phones); dob_differs 1/1 -> 0/0; id_of_another_person 1/1 -> 0/0
    (its whole-name part: an absent person carrying a housemate's ID); name_differs 4/2 -> 2/0
    on 200k citizens without phones; not_unique_in_registry 0 -> 0 at these sizes, kept for
    national density (docs/linkage.md, "Each guard, measured"). At 10,966,511 doses x 5M
    citizens id_of_another_person without its `given_far` part linked an absent twin carrying
    her sister's ID (same family name, date of birth and ward; Thảo written, Phương registered)
    with probability 1: nobody in the registry bore the record's given name."""

    def has(kind: str, comparison: str) -> bool:
        return g[comparison] in GUARD_LEVELS[kind]

    explained = has("id_explained", "id")
    second = second_given is not None and second_given in GUARD_LEVELS["given_agrees"]
    if has_id and not registered and not explained:
        return "id_not_in_registry"
    if has("dob_other", "dob"):
        return "dob_differs"
    if (
        has("id_held", "id")
        and has("given_other", "given")
        and (second or has("family_other", "family") or given_far)
    ):
        return "id_of_another_person"
    if not explained and (has("family_other", "family") or has("given_other", "given")):
        return "name_differs"
    if not explained and namesakes > 0:
        return "not_unique_in_registry"
    return None


def unique_in_registry(g: dict[str, int], same_name: bool, namesakes_near: int) -> bool:
    """Whether the registry's uniqueness decides where the ID cannot (no ID number, or one that
    is not the candidate's): the record's folded family and given names (`same_name`) and date of
    birth are the candidate's, its middle name does not disagree (it may be left out), its sex
    does not disagree, it lives in the candidate's province at least, and no other citizen of
    the whole registry is a plausible other: none with that family and given name (whatever the
    middle name) whose date of birth is near the candidate's by the DOB comparison (any level
    above `same_year`: a swap, a partial date, 1 January, a year one off, days apart, one digit)
    (`namesakes_near` = 0; found set-based over the whole registry by `lk_near`, so at national
    density a common name is nobody's by this rule, and a namesake whose own date the record's
    slip happens to hit is not taken for the only one). Such a link needs no threshold on the
    posterior; the guards and the margin still apply. The SQL twin is `unique_ok` in
    `decision_steps`."""

    def has(kind: str, comparison: str) -> bool:
        return g[comparison] in GUARD_LEVELS[kind]

    return (
        not has("id_explained", "id")
        and same_name
        and not has("middle_other", "middle")
        and has("dob_same", "dob")
        and has("sex_ok", "sex")
        and has("residence_near", "residence")
        and namesakes_near == 0
    )


def registry_namesakes(
    g: dict[str, int], same_name: bool, risk: float | None, probability: float
) -> bool:
    """Whether the registry's namesakes decide where the ID cannot and the posterior is short:
    the record's folded family and given names are the candidate's, its middle name does not
    disagree, its date of birth is the candidate's up to a slip or a near miss (any level above
    `same_year`), its sex does not disagree, and `risk` -- how likely every other explanation of
    the record is against the candidate, by the model's own bits: each other citizen of the
    whole registry with that family and given name born near the record's date (its date of
    birth, residence and sex weighed against the record's), plus a person absent from the
    registry with that name, sex and birthday living where the record says (the absent share x
    the registry's people expected with that name on that day) -- is at most `NAMESAKE_RISK`,
    and the model's posterior `probability` at least `NAMESAKE_MIN_PROBABILITY`.

    Where the uniqueness rule needs the candidate's province and no namesake born near, this
    one weighs them: a person who moved to another province (the registry has not followed)
    whose name and date are rare enough, or a namesake born a month away in another province
    while the candidate lives in the record's ward. The bulk run computes `risk` set-based
    (`lk_namesakes`, four hash joins over the registry's rows of those names for the few records
    the rule could decide); the online scorer applies the rule only when the registry service gives it
    (`score_person(..., namesake_risks=...)`), else such a record goes to review."""

    def has(kind: str, comparison: str) -> bool:
        return g[comparison] in GUARD_LEVELS[kind]

    return (
        risk is not None
        and not has("id_explained", "id")
        and same_name
        and not has("middle_other", "middle")
        and has("dob_explained", "dob")
        and has("sex_ok", "sex")
        and risk <= NAMESAKE_RISK
        and probability >= NAMESAKE_MIN_PROBABILITY
    )


def _place(ward_m: float, level: Any) -> float:
    """m(same ward) x u / m of a residence level (1 for the null level: no place to weigh)."""
    return float(ward_m * level.u / level.m) if level.m and level.u else 1.0


def params(model: LinkModel) -> dict[str, Any]:
    """Thresholds and level names, bound into the decision SQL."""
    t = model.thresholds
    ward_m = model.params["residence"][GUARD_LEVELS["residence_near"][0]].m or 1.0
    out: dict[str, Any] = {
        "auto": t.auto_probability,
        "margin": t.margin_bits,
        "cluster_bits": t.cluster_bits,
        "review": t.review_probability,
        "namesake_risk": NAMESAKE_RISK,
        "namesake_p": NAMESAKE_MIN_PROBABILITY,
        "given_far": GIVEN_FAR_EDITS,
        "det_min": t.det_min_probability,
        **{k: list(v) for k, v in GUARD_LEVELS.items()},
        # the namesake rule weighs the record against each namesake with the model's bits
        "nk_dob_bits": [model.level_bits("dob", i) for i in range(len(DOB.levels))],
        "nk_res_bits": [model.level_bits("residence", i) for i in range(len(RESIDENCE.levels))],
        "nk_sex_bits": [model.level_bits("sex", i) for i in range(len(SEX.levels))],
        "nk_mid_bits": [model.level_bits("middle", i) for i in range(len(MIDDLE.levels))],
        # m(same ward) x u / m of each residence level (1 where the record gives no place)
        "nk_res_mu": [_place(ward_m, p) for p in model.params["residence"]],
        "nk_absent": model.absent_share,
    }
    return out


def det_score_steps() -> list[Step]:
    """SQL pairing each rule-based auto link with its citizen, for the model to score."""
    return [
        Step(
            "CREATE OR REPLACE TABLE lk_det_pairs AS SELECT _row, cid, 0 AS keys "
            "FROM lk_det WHERE status = 'auto_linked'"
        )
    ]


def decision_steps() -> list[Step]:
    """SQL from lk_det, lk_det_scored, lk_ranked and lk_cluster to lk_decision(_row, status,
    cid, p, reason, rule)."""
    best = Step(
        """
        CREATE OR REPLACE TABLE lk_best AS
        SELECT b._row, b.cid, b.p, b.w, b.w - coalesce(b.w_next, -1e9) AS margin,
               b.g_dob, b.g_residence, b.g_sex, b.g_middle,
               list_contains($id_explained, b.g_id) AS id_explained,
               list_contains($id_held, b.g_id) AS id_held,
               list_contains($family_other, b.g_family) AS family_other,
               list_contains($given_other, b.g_given) AS given_other,
               list_contains($dob_other, b.g_dob) AS dob_other,
               coalesce(list_contains($given_agrees, s.g_given), false) AS second_given_agrees,
               coalesce(levenshtein(x.giv, r.giv) >= $given_far AND NOT lk_words_in(x.giv, r.nf)
                        AND NOT lk_words_in(r.giv, x.nf)
                        -- words run together ("thihanh" for Thị Hạnh): the same letters
                        AND right(replace(r.nf, ' ', ''), length(x.giv)) <> x.giv
                        AND right(replace(x.nf, ' ', ''), length(r.giv)) <> r.giv, false)
                   AS given_far,
               (x.id12 IS NOT NULL OR x.id9 IS NOT NULL OR x.idd IS NOT NULL) AS has_id,
               EXISTS (SELECT 1 FROM lk_idowner o WHERE o._row = b._row) AS id_registered,
               r.n_nds - 1 AS namesakes,
               NOT list_contains($id_explained, b.g_id)
                   AND coalesce(x.fam = r.fam AND x.giv = r.giv, false)
                   AND NOT list_contains($middle_other, b.g_middle)
                   AND list_contains($dob_same, b.g_dob) AND list_contains($sex_ok, b.g_sex)
                   AND list_contains($residence_near, b.g_residence) AS unique_base,
               NOT list_contains($id_explained, b.g_id)
                   AND coalesce(x.fam = r.fam AND x.giv = r.giv, false)
                   AND NOT list_contains($middle_other, b.g_middle)
                   AND list_contains($dob_explained, b.g_dob)
                   AND list_contains($sex_ok, b.g_sex) AS namesake_base
        FROM lk_ranked b JOIN lk_res x ON x._row = b._row JOIN lk_reg r ON r.cid = b.cid
        LEFT JOIN lk_ranked s ON s._row = b._row AND s.rk = 2
        WHERE b.rk = 1
        """
    )
    # The plausible others of a candidate the uniqueness rule would link: registry citizens of
    # its family and given name (any middle name) whose date of birth is near its own by the
    # DOB comparison (a level above `same_year`), found by two hash joins (same birth year; same
    # day and month of another year). Only for the few records the rule could decide, over
    # the registry rows of their name and birth year or birthday (not the whole registry).
    dob = DOB.gamma_sql()
    near = Step(
        f"""
        CREATE OR REPLACE TABLE lk_near AS
        WITH c AS (
            SELECT b._row, r.cid, r.fam, r.giv, r.dy AS dy_r, r.dm AS dm_r, r.dd AS dd_r,
                   r.dday AS dday_r, r.dob8 AS dob8_r
            FROM lk_best b JOIN lk_reg r ON r.cid = b.cid WHERE b.unique_base AND b.p < $auto),
        o AS (
            SELECT cid AS ocid, fam, giv, dy AS dy_l, dm AS dm_l, dd AS dd_l, dday AS dday_l,
                   dob8 AS dob8_l
            FROM lk_reg SEMI JOIN (SELECT DISTINCT fam, giv, dy_r AS dy FROM c) k
                USING (fam, giv, dy)
            UNION
            SELECT cid AS ocid, fam, giv, dy AS dy_l, dm AS dm_l, dd AS dd_l, dday AS dday_l,
                   dob8 AS dob8_l
            FROM lk_reg SEMI JOIN (SELECT DISTINCT fam, giv, dm_r AS dm, dd_r AS dd FROM c) k
                USING (fam, giv, dm, dd)),
        pairs AS (
            SELECT c.*, o.* EXCLUDE (fam, giv) FROM c JOIN o
                ON o.fam = c.fam AND o.giv = c.giv AND o.dy_l = c.dy_r
            UNION
            SELECT c.*, o.* EXCLUDE (fam, giv) FROM c JOIN o
                ON o.fam = c.fam AND o.giv = c.giv AND o.dm_l = c.dm_r AND o.dd_l = c.dd_r)
        SELECT _row, count(*) AS others FROM pairs
        WHERE ocid <> cid AND NOT list_contains($dob_other, {dob})
        GROUP BY _row
        """
    )
    res = RESIDENCE.gamma_sql()
    sex = SEX.gamma_sql()
    mid = MIDDLE.gamma_sql()
    dob_exact = GUARD_LEVELS["dob_same"][0]
    mid_exact = _levels(MIDDLE, "exact")[0]

    def bits(comparison: str, level: str) -> str:
        return f"list_element($nk_{comparison}_bits, {level} + 1)"

    def weight(dob_level: str, res_level: str, sex_level: str, mid_level: str) -> str:
        return (
            f"{bits('dob', dob_level)} + {bits('res', res_level)} + {bits('sex', sex_level)}"
            f" + {bits('mid', mid_level)}"
        )

    # The namesake rule's risk (`registry_namesakes`): the record weighed against every other
    # citizen with the candidate's family and given name born within a year of the record's
    # date or on its day and month (four hash joins, only for the records the rule could
    # decide), by the model's bits of date of birth, residence, sex and middle name, relative
    # to the candidate's; plus a person absent from the registry with that name: the absent
    # share x the people of the registry expected with that name, sex and birthday (name count
    # x people born that day / registry size), as likely to have the record's date and middle
    # name as an exact match, living where the record says: m(same ward) x u(the candidate's
    # residence level) / m(the candidate's residence level) -- an absent namesake in the
    # record's ward against a candidate who moved away (u ~ 1) weighs ~ m(ward)/m(else); against
    # a candidate in that ward (u ~ one ward's share of the country) next to nothing.
    # lk_namesake_rows holds the records the rule could decide with the absent namesake's
    # share (`absent`); lk_namesakes adds the registry's namesakes. Every term is >= 0, so where
    # the absent share alone is over NAMESAKE_RISK the registry's namesakes are not weighed
    # (`risk` is then that share: a lower bound, and the rule says no either way). The joins
    # read only the registry rows of the records' name and birth years or birthdays, and the
    # records are their own small table: a common name's namesakes grow with the registry, and
    # hashing the whole registry (or half of it: the common names) four times, under a memory
    # cap, was what made this step grow with the square of the registry (docs/linkage.md, "10M").
    namesake_rows = Step(
        f"""
        CREATE OR REPLACE TABLE lk_namesake_rows AS
        WITH c AS (
            SELECT b._row, b.cid, x.fam, x.giv, x.dy AS dy_l, x.dm AS dm_l, x.dd AS dd_l,
                   x.dday AS dday_l, x.dob8 AS dob8_l, x.sex AS sex_l, x.prov AS prov_l,
                   x.dist AS dist_l, x.ward AS ward_l, x.nf AS nf_l, x.ssort AS ssort_l,
                   x.mid AS mid_l, x.mida AS mida_l,
                   b.g_dob, b.g_residence, b.g_sex, b.g_middle,
                   r.sex AS sex_c, r.dy AS dy_c, r.dm AS dm_c, r.dd AS dd_c
            FROM lk_best b JOIN lk_res x ON x._row = b._row JOIN lk_reg r ON r.cid = b.cid
            WHERE b.namesake_base AND (b.p < $auto OR b.namesakes > 0) AND b.p >= $namesake_p),
        names AS (
            SELECT fam, giv, sex, count(*) AS n FROM lk_reg
            SEMI JOIN (SELECT DISTINCT fam, giv FROM c) k USING (fam, giv) GROUP BY ALL),
        days AS (
            SELECT dy, dm, dd, count(*) AS n FROM lk_reg
            SEMI JOIN (SELECT DISTINCT dy_c AS dy, dm_c AS dm, dd_c AS dd FROM c) k
                USING (dy, dm, dd) GROUP BY ALL),
        total AS (SELECT count(*) AS n FROM lk_reg)
        SELECT c.*,
               $nk_absent * coalesce(nm.n, 0) * coalesce(dd.n, 0) / t.n
                   * pow(2, {bits("dob", str(dob_exact))} - {bits("dob", "c.g_dob")}
                            + {bits("mid", str(mid_exact))} - {bits("mid", "c.g_middle")})
                   * list_element($nk_res_mu, c.g_residence + 1) AS absent
        FROM c CROSS JOIN total t
        LEFT JOIN names nm ON nm.fam = c.fam AND nm.giv = c.giv AND nm.sex = c.sex_c
        LEFT JOIN days dd ON dd.dy = c.dy_c AND dd.dm = c.dm_c AND dd.dd = c.dd_c
        """
    )
    namesakes = Step(
        f"""
        CREATE OR REPLACE TABLE lk_namesakes AS
        WITH w AS (SELECT * FROM lk_namesake_rows WHERE absent <= $namesake_risk),
        o AS (
            SELECT cid AS ocid, fam, giv, dy AS dy_r, dm AS dm_r, dd AS dd_r, dday AS dday_r,
                   dob8 AS dob8_r, sex AS sex_r, prov AS prov_r, dist AS dist_r, ward AS ward_r,
                   nf AS nf_r, ssort AS ssort_r, mid AS mid_r, mida AS mida_r
            FROM lk_reg SEMI JOIN (SELECT fam, giv, dy_l - 1 AS dy FROM w
                                   UNION SELECT fam, giv, dy_l AS dy FROM w
                                   UNION SELECT fam, giv, dy_l + 1 AS dy FROM w) k
                USING (fam, giv, dy)
            UNION
            SELECT cid AS ocid, fam, giv, dy AS dy_r, dm AS dm_r, dd AS dd_r, dday AS dday_r,
                   dob8 AS dob8_r, sex AS sex_r, prov AS prov_r, dist AS dist_r, ward AS ward_r,
                   nf AS nf_r, ssort AS ssort_r, mid AS mid_r, mida AS mida_r
            FROM lk_reg SEMI JOIN (SELECT DISTINCT fam, giv, dm_l AS dm, dd_l AS dd FROM w) k
                USING (fam, giv, dm, dd)),
        pairs AS (
            SELECT w._row, {dob} AS gd, {res} AS gr, {sex} AS gs, {mid} AS gm FROM w JOIN o
                ON o.fam = w.fam AND o.giv = w.giv AND o.dy_r = w.dy_l WHERE o.ocid <> w.cid
            UNION ALL
            SELECT w._row, {dob}, {res}, {sex}, {mid} FROM w JOIN o
                ON o.fam = w.fam AND o.giv = w.giv AND o.dy_r = w.dy_l - 1 WHERE o.ocid <> w.cid
            UNION ALL
            SELECT w._row, {dob}, {res}, {sex}, {mid} FROM w JOIN o
                ON o.fam = w.fam AND o.giv = w.giv AND o.dy_r = w.dy_l + 1 WHERE o.ocid <> w.cid
            UNION ALL
            SELECT w._row, {dob}, {res}, {sex}, {mid} FROM w JOIN o
                ON o.fam = w.fam AND o.giv = w.giv AND o.dm_r = w.dm_l AND o.dd_r = w.dd_l
                   AND abs(o.dy_r - w.dy_l) > 1 WHERE o.ocid <> w.cid),
        others AS (
            SELECT _row, sum(pow(2, {weight("gd", "gr", "gs", "gm")})) AS odds
            FROM pairs GROUP BY _row)
        SELECT a._row,
               coalesce(s.odds, 0)
                   / pow(2, {weight("a.g_dob", "a.g_residence", "a.g_sex", "a.g_middle")})
               + a.absent AS risk
        FROM lk_namesake_rows a LEFT JOIN others s ON s._row = a._row
        """
    )
    model_links = Step(
        """
        CREATE OR REPLACE TABLE lk_model_links AS
        WITH u AS (SELECT b.*, unique_base AND NOT EXISTS (SELECT 1 FROM lk_near n
                                                             WHERE n._row = b._row) AS unique_ok,
                          coalesce(k.risk <= $namesake_risk, false) AS namesake_ok
                   FROM lk_best b LEFT JOIN lk_namesakes k ON k._row = b._row)
        SELECT _row, cid, p,
               CASE WHEN has_id AND NOT id_registered AND NOT id_explained THEN 'id_not_in_registry'
                    WHEN dob_other THEN 'dob_differs'
                    WHEN id_held AND given_other
                         AND (second_given_agrees OR family_other OR given_far)
                        THEN 'id_of_another_person'
                    WHEN NOT id_explained AND (family_other OR given_other) THEN 'name_differs'
                    WHEN NOT id_explained AND namesakes > 0 AND NOT namesake_ok
                        THEN 'not_unique_in_registry'
                    WHEN p < $auto AND NOT unique_ok AND NOT namesake_ok THEN 'below_threshold'
                    WHEN margin < $margin THEN 'ambiguous' END AS block,
               CASE WHEN p < $auto AND unique_ok THEN 'unique_in_registry'
                    WHEN (p < $auto OR (NOT id_explained AND namesakes > 0)) AND namesake_ok
                        THEN 'registry_namesakes'
                    ELSE 'model' END AS rule
        FROM u
        """
    )
    det_links = Step(
        """
        CREATE OR REPLACE TABLE lk_det_final AS
        SELECT t._row, t.cid, t.status, t.rule, t.corrected, coalesce(s.p, 1.0) AS p,
               CASE WHEN t.status = 'auto_linked' AND coalesce(s.p, 0) < $det_min
                    THEN 'rule_unlikely' END AS block
        FROM lk_det t LEFT JOIN (SELECT _row, p FROM lk_det_ranked WHERE rk = 1) s ON s._row = t._row
        """
    )
    first_links = Step(
        """
        CREATE OR REPLACE TABLE lk_links AS
        SELECT _row, cid FROM lk_det_final WHERE block IS NULL
        UNION ALL SELECT _row, cid FROM lk_model_links WHERE block IS NULL
        """
    )
    person = _person_step("lk_person")
    cluster_links = Step(
        """
        CREATE OR REPLACE TABLE lk_cluster_links AS
        SELECT b._row, b.cid, b.p FROM lk_best b
        JOIN lk_model_links m ON m._row = b._row
            AND m.block IN ('below_threshold', 'ambiguous', 'not_unique_in_registry')
        JOIN lk_cluster c ON c._row = b._row JOIN lk_person k ON k.pk = c.pk
        WHERE k.n = 1 AND k.cid = b.cid AND b.w >= $cluster_bits AND b.margin >= $margin
        """
    )
    all_links = Step(
        """
        INSERT INTO lk_links SELECT _row, cid FROM lk_cluster_links
        """
    )
    # What a residual record's best candidate would correct, and its candidates as JSON.
    residual_outputs = Step(
        f"""
        CREATE OR REPLACE TABLE lk_res_out AS
        SELECT b._row, {corrected_sql("x", "r")} AS corrected, c.cands
        FROM lk_best b JOIN lk_res x ON x._row = b._row JOIN lk_reg r ON r.cid = b.cid
        JOIN (SELECT _row, '[' || string_agg({_candidate_json("cid", "p")}, ',' ORDER BY rk)
                               || ']' AS cands
              FROM lk_ranked GROUP BY _row) c ON c._row = b._row
        """
    )
    return [best, near, namesake_rows, namesakes, model_links, det_links, first_links, person, cluster_links, all_links,
            _person_step("lk_person"), residual_outputs, _final_step()]  # fmt: skip


def json_number(expr: str, digits: int) -> str:
    """SQL writing a number as JSON text with at most `digits` decimals and no exponent (0.93,
    1.0, 0.00001). JSON is built as text, not with to_json, so that every engine writes the same
    characters (engines print doubles differently: 1e-05, 1.0E-5)."""
    fixed = f"printf('%.{digits}f', {expr})"
    return f"regexp_replace(regexp_replace({fixed}, '0+$', '', 'g'), '[.]$', '.0', 'g')"


def _candidate_json(cid: str, p: str) -> str:
    # citizen ids are 12 digits (lk_reg keeps no other): nothing to escape
    return f"""'{{"citizen_id":"' || {cid} || '","probability":' || {json_number(p, 6)} || '}}'"""


def _person_step(out: str) -> Step:
    return Step(
        f"""
        CREATE OR REPLACE TABLE {out} AS
        SELECT c.pk, count(DISTINCT l.cid) AS n, min(l.cid) AS cid
        FROM lk_cluster c JOIN lk_links l ON l._row = c._row GROUP BY c.pk
        """
    )


def _final_step() -> Step:
    return Step(
        """
        CREATE OR REPLACE TABLE lk_decision AS
        WITH d AS (
            SELECT x._row, x.invalid, t.cid AS det_cid, t.status AS det_status, t.rule AS det_rule,
                   t.p AS det_p, t.block AS det_block, coalesce(t.corrected, o.corrected) AS corr,
                   o.cands, m.cid AS m_cid, m.p AS m_p, m.block AS m_block, m.rule AS m_rule,
                   cl.cid AS cl_cid,
                   coalesce(k.n, 0) > 1 AS conflict
            FROM lk_dose x
            LEFT JOIN lk_det_final t ON t._row = x._row
            LEFT JOIN lk_res_out o ON o._row = x._row
            LEFT JOIN lk_model_links m ON m._row = x._row
            LEFT JOIN lk_cluster_links cl ON cl._row = x._row
            LEFT JOIN lk_cluster c ON c._row = x._row
            LEFT JOIN lk_person k ON k.pk = c.pk),
        e AS (
            SELECT *, CASE WHEN det_status = 'auto_linked' AND det_block IS NULL THEN det_cid
                           WHEN det_status IS NULL AND m_block IS NULL THEN m_cid
                           WHEN det_status IS NULL THEN cl_cid END AS link_cid
            FROM d)
        SELECT _row,
            CASE WHEN invalid IS NOT NULL THEN 'invalid'
                 WHEN det_status = 'verified' THEN 'verified'
                 WHEN link_cid IS NOT NULL AND NOT conflict THEN 'auto_linked'
                 WHEN link_cid IS NOT NULL OR det_status IS NOT NULL OR m_p >= $review THEN 'review'
                 ELSE 'unmatched' END AS status,
            coalesce(link_cid, det_cid, m_cid) AS cid,
            CASE WHEN det_status IS NOT NULL THEN det_p ELSE m_p END AS p,
            CASE WHEN invalid IS NOT NULL THEN invalid
                 WHEN det_status = 'verified' THEN NULL
                 WHEN link_cid IS NOT NULL AND NOT conflict THEN NULL
                 WHEN link_cid IS NOT NULL THEN 'cluster_conflict'
                 WHEN det_status IS NOT NULL THEN det_block
                 WHEN m_p >= $review THEN m_block
                 WHEN m_cid IS NOT NULL THEN 'no_plausible_candidate'
                 ELSE 'no_candidate' END AS reason,
            CASE WHEN det_status IS NOT NULL THEN det_rule
                 WHEN m_block IS NOT NULL AND cl_cid IS NOT NULL THEN 'cluster'
                 WHEN m_cid IS NOT NULL AND m_block IS NULL THEN m_rule
                 WHEN m_cid IS NOT NULL THEN 'model' END AS rule,
            corr AS corrected, det_status IS NOT NULL AS by_rule, cands
        FROM e
        """
    )


def result_sql(explain: bool = False) -> str:
    """SELECT of the result rows: `_row` (the input order), the docs/formats.md §3 columns, `rule`
    (how a link was made) and, with `explain`, the candidates' per-field evidence as JSON
    `explanation` (review and unmatched records)."""
    extra = ", e.explanation" if explain else ""
    join = "LEFT JOIN lk_explain e ON e._row = x._row" if explain else ""
    # A rule's link has one candidate; the JSON is built as text (citizen ids are digits).
    return f"""
        SELECT x._row, x.record_id, k.status,
               CASE WHEN k.status IN ('verified', 'auto_linked') THEN k.cid END AS citizen_id,
               CASE WHEN k.status <> 'invalid' THEN round(k.p, 6) END AS match_probability,
               CASE WHEN k.status = 'auto_linked' THEN k.corrected END AS corrected_fields,
               CASE WHEN k.status IN ('invalid', 'unmatched') THEN '[]'
                    WHEN k.by_rule THEN '[' || {_candidate_json("k.cid", "k.p")} || ']'
                    ELSE coalesce(k.cands, '[]') END AS candidates,
               k.reason, k.rule{extra}
        FROM lk_dose x JOIN lk_decision k ON k._row = x._row
        {join}
    """


def _level_name(c_index: int) -> str:
    c = COMPARISONS[c_index]
    whens = " ".join(f"WHEN {i} THEN '{lv.name}'" for i, lv in enumerate(c.levels))
    return f"CASE g_{c.name} {whens} END"


def explain_step() -> Step:
    """SQL creating lk_explain(_row, explanation): for each record left to a person (review) or
    unmatched with candidates, its candidates with every comparison's level and match weight,
    as JSON (the level names are the code's own constants)."""
    fields = " || ',' || ".join(
        f"""'"{c.name}":{{"level":"' || {_level_name(i)} || '","bits":' || """
        f"""{json_number(f"w_{c.name}", 2)} || '}}'"""
        for i, c in enumerate(COMPARISONS)
    )
    candidate = (
        f"""'{{"citizen_id":"' || r.cid || '","probability":' || {json_number("r.p", 6)} """
        f"""|| ',"match_weight":' || {json_number("r.w", 2)} || ',"keys":' """
        f"""|| CAST(r.keys AS VARCHAR) || ',"fields":{{' || {fields} || '}}}}'"""
    )
    return Step(
        f"""
        CREATE OR REPLACE TABLE lk_explain AS
        SELECT r._row, '[' || string_agg({candidate}, ',' ORDER BY r.rk) || ']' AS explanation
        FROM (SELECT * FROM lk_ranked UNION ALL SELECT * FROM lk_det_ranked) r
        SEMI JOIN (SELECT _row FROM lk_decision WHERE status IN ('review', 'unmatched')) k
            ON k._row = r._row
        GROUP BY r._row
        """
    )
