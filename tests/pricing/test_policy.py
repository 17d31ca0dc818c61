"""Subsidy policies as data: loading, versions, and the pure subsidy decision."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import Validation
from pricing.policy import (
    CATEGORY_CLASS,
    UNITS,
    Group,
    PolicyDocument,
    Rule,
    RuleKind,
    ServiceClass,
    SubsidyDecision,
    SubsidyRequest,
    check_versions,
    decide,
    load_policy,
    policy_for,
    policy_to_dict,
    reference_policy,
    service_class,
)

G = Group
C = ServiceClass
REF = reference_policy()
SUBSIDY_FIRST = replace(REF, payer_order=("subsidy", "ltc_insurance", "household"))


def request(
    groups: set[Group] | frozenset[Group],
    cls: ServiceClass,
    price: int,
    *,
    subsidisable: int | None = None,
    minutes: int | None = None,
    quantity: int = 1,
    unit: str | None = None,
    used: int = 0,
    budget: int | None = None,
    ltc: int = 0,
    district: str | None = None,
) -> SubsidyRequest:
    """A request with the unit each class is usually priced in."""
    default_unit = {C.DOMESTIC: "hour", C.CARE: "hour", C.MEAL: "meal", C.REPAIR: "visit"}[cls]
    unit = unit or default_unit
    if unit == "hour" and minutes is None:
        minutes = 120
    return SubsidyRequest(
        groups=frozenset(groups),
        service_class=cls,
        price_fen=price,
        subsidisable_fen=price if subsidisable is None else subsidisable,
        billed_minutes=minutes,
        quantity=quantity,
        unit=unit,
        cap_used_fen=used,
        district_remaining_fen=budget,
        ltc_fen=ltc,
        district=district,
    )


# The reference table, one standard item per class:
#   domestic 100.00 yuan for 120 min; care 100.00 yuan for 75 min billed;
#   meal 2 × 12.00 yuan; repair 100.00 yuan of which 40.00 yuan parts.
def standard_item(group: Group, cls: ServiceClass) -> SubsidyRequest:
    if cls is C.CARE:
        return request({group}, cls, 10000, minutes=75)
    if cls is C.MEAL:
        return request({group}, cls, 2400, quantity=2)
    if cls is C.REPAIR:
        return request({group}, cls, 10000, subsidisable=6000)
    return request({group}, cls, 10000)


REFERENCE_TABLE = {
    #                         domestic care  meal  repair
    G.TEKUN: (10000, 10000, 2400, 6000),
    G.DIBAO: (8000, 9000, 1680, 3000),
    G.YOUFU: (7000, 8000, 1440, 3000),
    G.AGE80: (0, 5000, 1000, 0),
    G.DISABILITY_MODERATE: (0, 3750, 1000, 0),  # 30 × 1.25 h
    G.DISABILITY_SEVERE: (0, 5625, 1000, 0),  # 45 × 1.25 h = 56.25
    G.DISABILITY_TOTAL: (0, 7500, 1000, 0),  # 60 × 1.25 h
}
CLASSES = (C.DOMESTIC, C.CARE, C.MEAL, C.REPAIR)
CELLS = [
    (group, cls, amounts[i])
    for group, amounts in REFERENCE_TABLE.items()
    for i, cls in enumerate(CLASSES)
]


@pytest.mark.parametrize(("group", "cls", "subsidy"), CELLS)
def test_reference_table_cell(group: Group, cls: ServiceClass, subsidy: int) -> None:
    req = standard_item(group, cls)
    d = decide(REF, req)
    assert d.subsidy_fen == subsidy
    assert d.rule_amount_fen == subsidy
    assert d.copay_fen == req.price_fen - subsidy
    assert d.group is group
    assert d.limited_by is None
    assert d.policy_version == "fz-2026.1"


@pytest.mark.parametrize(
    ("group", "cap"),
    [
        (G.TEKUN, 200000),
        (G.DIBAO, 60000),
        (G.YOUFU, 50000),
        (G.AGE80, 20000),
        (G.DISABILITY_MODERATE, 40000),
        (G.DISABILITY_SEVERE, 60000),
        (G.DISABILITY_TOTAL, 80000),
    ],
)
def test_reference_monthly_caps(group: Group, cap: int) -> None:
    d = decide(REF, request({group}, C.DOMESTIC, 10000, used=1234))
    assert d.cap_fen == cap
    assert d.cap_remaining_fen == cap - 1234


def test_reference_district_budgets() -> None:
    assert dict(REF.district_budgets_fen) == {
        "350102": 30_000_000,
        "350103": 20_000_000,
        "350104": 25_000_000,
        "350105": 10_000_000,
        "350111": 25_000_000,
        "350112": 15_000_000,
    }
    assert REF.district_budget_fen("350104") == 25_000_000
    assert REF.district_budget_fen("350181") is None  # not listed, default unlimited
    assert REF.effective_from == date(2026, 1, 1)


def test_reasons_name_the_group_class_and_rule() -> None:
    assert decide(REF, standard_item(G.DIBAO, C.DOMESTIC)).reason == (
        "低保 domestic: 80 % of the price"
    )
    assert decide(REF, standard_item(G.DISABILITY_SEVERE, C.CARE)).reason == (
        "重度失能 care: 45.00 yuan per hour × 75 min"
    )
    age80 = decide(REF, standard_item(G.AGE80, C.DOMESTIC))
    assert age80.reason == "80岁以上 domestic: no subsidy"
    assert age80.rule == Rule(RuleKind.NONE)


def test_share_rounds_down_to_the_fen() -> None:
    # 70 % of 19.99 yuan = 13.993 yuan
    assert decide(REF, request({G.DIBAO}, C.MEAL, 1999)).subsidy_fen == 1399


def test_hourly_rule_uses_billed_minutes_exactly_and_rounds_down() -> None:
    odd = replace(
        REF, rules={G.AGE80: {C.CARE: Rule(RuleKind.PER_UNIT, amount_fen=3333, unit="hour")}}
    )
    # 33.33 yuan × 1.25 h = 41.6625 yuan
    assert decide(odd, request({G.AGE80}, C.CARE, 10000, minutes=75)).subsidy_fen == 4166
    # 33.33 yuan × 0.25 h = 8.3325 yuan; nothing rounds the minutes up to an hour here
    assert decide(odd, request({G.AGE80}, C.CARE, 10000, minutes=15)).subsidy_fen == 833


def test_repair_parts_are_not_subsidised() -> None:
    d = decide(REF, request({G.TEKUN}, C.REPAIR, 15000, subsidisable=9000))
    assert d.subsidy_fen == 9000
    assert d.copay_fen == 6000  # the household pays for the parts even when labour is free
    assert decide(REF, request({G.DIBAO}, C.REPAIR, 15000, subsidisable=0)).subsidy_fen == 0


def test_per_unit_amount_never_exceeds_the_price() -> None:
    d = decide(REF, request({G.AGE80}, C.MEAL, 300))
    assert d.subsidy_fen == 300
    assert d.copay_fen == 0
    assert d.rule_amount_fen == 300
    assert d.limited_by == "price"
    assert "limited to the price (3.00 yuan)" in d.reason


def test_per_unit_rule_for_another_unit_gives_nothing() -> None:
    # A per-hour care rule does not apply to a care item priced per visit.
    d = decide(REF, request({G.DISABILITY_TOTAL}, C.CARE, 10000, unit="visit"))
    assert d.subsidy_fen == 0
    assert d.limited_by is None
    assert "not for an item priced per visit" in d.reason


def test_missing_rule_means_no_subsidy() -> None:
    sparse = replace(REF, rules={G.DIBAO: {C.CARE: Rule(RuleKind.SHARE, percent=90)}})
    assert decide(sparse, request({G.DIBAO}, C.CARE, 10000)).subsidy_fen == 9000
    d = decide(sparse, request({G.DIBAO}, C.MEAL, 1500))
    assert (d.subsidy_fen, d.group, d.rule) == (0, G.DIBAO, Rule(RuleKind.NONE))


def test_no_protected_group() -> None:
    d = decide(REF, request(set(), C.CARE, 10000, ltc=3000))
    assert d == SubsidyDecision(
        policy_version="fz-2026.1",
        price_fen=10000,
        ltc_fen=3000,
        subsidy_fen=0,
        copay_fen=7000,
        group=None,
        rule=None,
        rule_amount_fen=0,
        cap_fen=0,
        cap_remaining_fen=0,
        reason="no protected group",
        limited_by=None,
    )


# --- several groups ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "cls", "winner", "subsidy", "cap"),
    [
        ({G.DIBAO, G.AGE80}, C.CARE, G.DIBAO, 9000, 60000),
        ({G.AGE80, G.DISABILITY_TOTAL}, C.CARE, G.DISABILITY_TOTAL, 7500, 80000),
        ({G.YOUFU, G.AGE80}, C.DOMESTIC, G.YOUFU, 7000, 50000),
        # The cap is the largest among all groups, not the winning rule's group.
        ({G.DIBAO, G.DISABILITY_TOTAL}, C.CARE, G.DIBAO, 9000, 80000),
        ({G.TEKUN, G.DIBAO, G.YOUFU}, C.REPAIR, G.TEKUN, 6000, 200000),
        # Equal amounts (5.00 per meal each): the group earlier in Group order.
        ({G.DISABILITY_SEVERE, G.AGE80, G.DISABILITY_MODERATE}, C.MEAL, G.AGE80, 1000, 60000),
    ],
)
def test_several_groups_largest_rule_wins_cap_is_largest(
    groups: set[Group], cls: ServiceClass, winner: Group, subsidy: int, cap: int
) -> None:
    req = replace(standard_item(G.TEKUN, cls), groups=frozenset(groups))
    d = decide(REF, req)
    assert (d.group, d.subsidy_fen, d.cap_fen) == (winner, subsidy, cap)
    assert d.rule == REF.rules[winner][cls]


def test_winner_is_chosen_by_amount_not_by_kind() -> None:
    # Meal at 6.00 yuan: 低保 70 % = 4.20, 5.00 per meal for 80+ is more.
    d = decide(REF, request({G.DIBAO, G.AGE80}, C.MEAL, 600))
    assert (d.group, d.subsidy_fen) == (G.AGE80, 500)
    # Meal at 12.00 yuan: 70 % = 8.40 beats 5.00.
    d = decide(REF, request({G.DIBAO, G.AGE80}, C.MEAL, 1200))
    assert (d.group, d.subsidy_fen) == (G.DIBAO, 840)


# --- monthly cap ---------------------------------------------------------------------------


def test_cap_nearly_used_limits_the_subsidy() -> None:
    d = decide(REF, request({G.DIBAO}, C.DOMESTIC, 10000, used=59000))
    assert d.subsidy_fen == 1000
    assert d.rule_amount_fen == 8000
    assert d.cap_remaining_fen == 1000
    assert d.limited_by == "cap"
    assert "600.00 yuan" in d.reason
    assert d.copay_fen == 9000


@pytest.mark.parametrize("used", [60000, 60001, 99999])
def test_cap_reached_gives_nothing(used: int) -> None:
    d = decide(REF, request({G.DIBAO}, C.DOMESTIC, 10000, used=used))
    assert d.subsidy_fen == 0
    assert d.cap_remaining_fen == 0
    assert d.limited_by == "cap"
    assert d.reason == "低保 domestic: 80 % of the price; monthly cap reached (600.00 yuan)"
    assert d.copay_fen == 10000


# --- district budget -----------------------------------------------------------------------


def test_spent_budget_gives_no_subsidy_and_says_why() -> None:
    d = decide(REF, request({G.TEKUN}, C.CARE, 10000, budget=0, district="350102"))
    assert d.subsidy_fen == 0
    assert d.limited_by == "budget"
    assert "district 350102 budget for the month is spent" in d.reason
    assert d.copay_fen == 10000


def test_partial_budget_limits_the_subsidy() -> None:
    d = decide(REF, request({G.TEKUN}, C.CARE, 10000, budget=2500, district="350105"))
    assert d.subsidy_fen == 2500
    assert d.limited_by == "budget"
    assert "350105" in d.reason


def test_budget_above_the_rule_amount_does_not_limit() -> None:
    d = decide(REF, request({G.DIBAO}, C.DOMESTIC, 10000, budget=8000))
    assert (d.subsidy_fen, d.limited_by) == (8000, None)


# --- long-term-care insurance and payer order ----------------------------------------------


def test_ltc_pays_first_in_the_reference_order() -> None:
    d = decide(REF, request({G.DIBAO}, C.CARE, 10000, ltc=7000))
    assert (d.ltc_fen, d.subsidy_fen, d.copay_fen) == (7000, 3000, 0)
    assert d.limited_by == "price"
    assert "after insurance (30.00 yuan)" in d.reason

    d = decide(REF, request({G.DIBAO}, C.CARE, 10000, ltc=500))
    assert (d.ltc_fen, d.subsidy_fen, d.copay_fen) == (500, 9000, 500)
    assert d.limited_by is None


def test_subsidy_first_limits_ltc_to_the_rest() -> None:
    d = decide(SUBSIDY_FIRST, request({G.DIBAO}, C.CARE, 10000, ltc=7000))
    assert (d.ltc_fen, d.subsidy_fen, d.copay_fen) == (1000, 9000, 0)
    assert d.limited_by is None

    d = decide(SUBSIDY_FIRST, request({G.DIBAO}, C.CARE, 10000, ltc=600))
    assert (d.ltc_fen, d.subsidy_fen, d.copay_fen) == (600, 9000, 400)


def test_ltc_above_the_price_is_limited_to_the_price() -> None:
    d = decide(REF, request({G.DIBAO}, C.CARE, 10000, ltc=25000))
    assert (d.ltc_fen, d.subsidy_fen, d.copay_fen) == (10000, 0, 0)
    assert d.limited_by == "price"


# --- loading documents ---------------------------------------------------------------------


def reference_json() -> dict[str, Any]:
    text = resources.files("pricing").joinpath("data/reference_policy.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def test_reference_round_trips_and_file_is_canonical() -> None:
    as_dict = policy_to_dict(REF)
    assert load_policy(as_dict) == REF
    assert as_dict == reference_json()
    assert load_policy(json.loads(json.dumps(as_dict))) == REF


def test_round_trip_of_a_changed_policy() -> None:
    doc = replace(
        REF,
        version="fz-2026.2",
        effective_from=date(2026, 3, 15),
        rules={G.YOUFU: {C.MEAL: Rule(RuleKind.PER_UNIT, amount_fen=700, unit="meal")}},
        monthly_cap_fen={G.YOUFU: 1},
        payer_order=("subsidy", "ltc_insurance", "household"),
        default_district_budget_fen=5_000_000,
    )
    again = load_policy(policy_to_dict(doc))
    assert again == doc
    assert again != REF


def test_loaded_policy_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        REF.rules[G.DIBAO][C.DOMESTIC] = Rule(RuleKind.FREE)  # type: ignore[index]
    with pytest.raises(TypeError):
        REF.monthly_cap_fen[G.DIBAO] = 1  # type: ignore[index]


DELETE = object()

# (path in the document, new value or DELETE, what the error says after "$.<path>: ")
BAD_DOCUMENTS: list[tuple[str, object, str]] = [
    ("rules.dibao.domestic.percent", 0, "must be between 1 and 100"),
    ("rules.dibao.domestic.percent", 101, "must be between 1 and 100"),
    ("rules.dibao.domestic.percent", 80.0, "must be an integer"),
    ("rules.dibao.domestic.percent", -5, "must not be negative"),
    ("rules.dibao.domestic.percent", DELETE, "required for kind share"),
    ("rules.dibao.care.ratio", 2, "unknown key"),
    ("rules.dibao.care.kind", "half", "unknown rule kind 'half'"),
    ("rules.tekun.care.percent", 100, "not allowed for kind free"),
    ("rules.age80.meal.amount_fen", 0, "must be greater than 0"),
    ("rules.age80.meal.amount_fen", -500, "must not be negative"),
    ("rules.age80.meal.unit", "day", "must be one of hour, meal, visit"),
    ("rules.students", {}, "unknown group 'students'"),
    ("rules.dibao.gardening", {"kind": "free"}, "unknown service class"),
    ("extra", 1, "unknown key"),
    ("combine", DELETE, "required"),
    ("version", "", "must not be empty"),
    ("effective_from", "2026/01/01", "must be a date as YYYY-MM-DD"),
    ("effective_from", "2026-02-30", "not a valid date"),
    ("monthly_cap_fen.dibao", -1, "must not be negative"),
    ("monthly_cap_fen.dibao", True, "must be an integer"),
    ("monthly_cap_fen.veterans", 100, "unknown group"),
    ("monthly_cap_fen.dibao", DELETE, "missing; the group has subsidy rules"),
    ("district_budgets_fen.350102", -100, "must not be negative"),
    ("district_budgets_fen.gulou", 100, "district code must be 6 digits"),
    ("default_district_budget_fen", -1, "must not be negative"),
    ("payer_order", ["household", "subsidy", "ltc_insurance"], "must list"),
    ("payer_order", ["subsidy", "subsidy", "household"], "must list"),
    ("payer_order", ["subsidy", "household"], "must list"),
    ("payer_order", "subsidy", "must be a list"),
    ("combine", "sum", 'only "largest" is supported'),
    ("when_budget_spent", "borrow", 'only "no_subsidy" is supported'),
    ("rules", [], "must be an object"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_DOCUMENTS)
def test_load_policy_refuses_bad_documents_with_the_path(
    path: str, value: object, message: str
) -> None:
    doc = reference_json()
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    with pytest.raises(Validation) as info:
        load_policy(doc)
    assert info.value.detail.startswith(f"$.{path}: {message}")
    assert info.value.extra["location"] == f"$.{path}"


def test_load_policy_refuses_what_is_not_an_object() -> None:
    with pytest.raises(Validation, match=r"^\$: must be an object"):
        load_policy([reference_json()])


def test_explicit_none_rule_and_missing_rule_are_both_accepted() -> None:
    doc = reference_json()
    del doc["rules"]["age80"]["domestic"]
    loaded = load_policy(doc)
    assert loaded.rule(G.AGE80, C.DOMESTIC) == Rule(RuleKind.NONE)
    assert decide(loaded, request({G.AGE80}, C.DOMESTIC, 10000)).subsidy_fen == 0


# --- versions ------------------------------------------------------------------------------

V2 = replace(
    REF,
    version="fz-2026.2",
    effective_from=date(2026, 3, 15),
    rules={
        **REF.rules,
        G.DIBAO: {**REF.rules[G.DIBAO], C.DOMESTIC: Rule(RuleKind.SHARE, percent=90)},
    },
)


@pytest.mark.parametrize(
    ("quoted_on", "version"),
    [
        (date(2026, 1, 1), "fz-2026.1"),
        (date(2026, 3, 14), "fz-2026.1"),
        (date(2026, 3, 15), "fz-2026.2"),
        (date(2027, 1, 1), "fz-2026.2"),
    ],
)
def test_policy_for_picks_the_latest_version_in_effect(quoted_on: date, version: str) -> None:
    assert policy_for([V2, REF], quoted_on).version == version
    assert policy_for([REF, V2], quoted_on).version == version


def test_mid_month_version_changes_the_subsidy_from_its_date() -> None:
    item = request({G.DIBAO}, C.DOMESTIC, 10000)
    before = decide(policy_for([REF, V2], date(2026, 3, 14)), item)
    after = decide(policy_for([REF, V2], date(2026, 3, 15)), item)
    assert (before.subsidy_fen, before.policy_version) == (8000, "fz-2026.1")
    assert (after.subsidy_fen, after.policy_version) == (9000, "fz-2026.2")


def test_no_version_in_effect_is_refused() -> None:
    with pytest.raises(Validation, match="no subsidy policy is in effect on 2025-12-31"):
        policy_for([REF, V2], date(2025, 12, 31))
    with pytest.raises(Validation):
        policy_for([], date(2026, 6, 1))


def test_versions_with_the_same_date_or_name_are_refused() -> None:
    check_versions([REF, V2])
    same_day = replace(V2, effective_from=REF.effective_from)
    with pytest.raises(Validation, match="both take effect on 2026-01-01"):
        check_versions([REF, same_day])
    with pytest.raises(Validation, match="both take effect"):
        policy_for([REF, same_day], date(2026, 6, 1))
    with pytest.raises(Validation, match="listed twice"):
        check_versions([REF, replace(V2, version=REF.version)])


# --- small pieces --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("domestic", C.DOMESTIC),
        ("elderly_care", C.CARE),
        ("disability_care", C.CARE),
        ("escort", C.CARE),
        ("meal", C.MEAL),
        ("repair", C.REPAIR),
    ],
)
def test_service_class_of_catalog_categories(code: str, cls: ServiceClass) -> None:
    assert service_class(code) is cls


def test_unknown_category_is_refused() -> None:
    assert "gardening" not in CATEGORY_CLASS
    with pytest.raises(Validation, match="gardening"):
        service_class("gardening")


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (Rule(RuleKind.SHARE, percent=80), "80 % of the price"),
        (Rule(RuleKind.PER_UNIT, amount_fen=3000, unit="hour"), "30.00 yuan per hour"),
        (Rule(RuleKind.PER_UNIT, amount_fen=505, unit="meal"), "5.05 yuan per meal"),
        (Rule(RuleKind.FREE), "free"),
        (Rule(RuleKind.NONE), "no subsidy"),
    ],
)
def test_rule_describe(rule: Rule, text: str) -> None:
    assert rule.describe() == text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": RuleKind.SHARE, "percent": 0},
        {"kind": RuleKind.SHARE, "percent": 80, "amount_fen": 5},
        {"kind": RuleKind.PER_UNIT, "amount_fen": 0, "unit": "hour"},
        {"kind": RuleKind.PER_UNIT, "amount_fen": 100, "unit": None},
        {"kind": RuleKind.FREE, "unit": "meal"},
    ],
)
def test_inconsistent_rules_cannot_be_built(kwargs: dict[str, Any]) -> None:
    with pytest.raises(Validation):
        Rule(**kwargs)


@pytest.mark.parametrize(
    "change",
    [
        {"price_fen": -1},
        {"subsidisable_fen": -1},
        {"subsidisable_fen": 10001},
        {"cap_used_fen": -1},
        {"district_remaining_fen": -1},
        {"ltc_fen": -1},
        {"billed_minutes": None},
        {"billed_minutes": -15},
        {"quantity": 0},
        {"unit": "day"},
    ],
)
def test_bad_requests_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(Validation):
        replace(request({G.DIBAO}, C.CARE, 10000), **change)


# --- properties ----------------------------------------------------------------------------


@st.composite
def requests(draw: st.DrawFn) -> SubsidyRequest:
    unit = draw(st.sampled_from(UNITS))
    price = draw(st.integers(0, 300_000))
    return SubsidyRequest(
        groups=draw(st.frozensets(st.sampled_from(Group))),
        service_class=draw(st.sampled_from(ServiceClass)),
        price_fen=price,
        subsidisable_fen=draw(st.integers(0, price)),
        billed_minutes=draw(st.integers(0, 720)) if unit == "hour" else None,
        quantity=draw(st.integers(1, 10)),
        unit=unit,
        cap_used_fen=draw(st.integers(0, 250_000)),
        district_remaining_fen=draw(st.none() | st.integers(0, 300_000)),
        ltc_fen=draw(st.integers(0, 300_000)),
    )


policies = st.sampled_from([REF, SUBSIDY_FIRST])


@given(policies, requests())
def test_decision_respects_every_limit(policy: PolicyDocument, req: SubsidyRequest) -> None:
    d = decide(policy, req)
    cap = max((policy.monthly_cap_fen[g] for g in req.groups), default=0)
    cap_remaining = max(cap - req.cap_used_fen, 0)
    assert (d.cap_fen, d.cap_remaining_fen) == (cap, cap_remaining)
    assert 0 <= d.subsidy_fen <= req.subsidisable_fen
    assert d.subsidy_fen <= cap_remaining
    if req.district_remaining_fen is not None:
        assert d.subsidy_fen <= req.district_remaining_fen
    assert min(d.ltc_fen, d.subsidy_fen, d.copay_fen) >= 0
    assert d.ltc_fen + d.subsidy_fen + d.copay_fen == req.price_fen
    assert d.ltc_fen <= req.ltc_fen

    limits = [d.rule_amount_fen, cap_remaining]
    if req.district_remaining_fen is not None:
        limits.append(req.district_remaining_fen)
    if policy is REF:  # insurance first: the subsidy covers at most what insurance leaves
        assert d.ltc_fen == min(req.ltc_fen, req.price_fen)
        limits.append(req.price_fen - d.ltc_fen)
    else:
        assert d.ltc_fen == min(req.ltc_fen, req.price_fen - d.subsidy_fen)
    assert d.subsidy_fen == min(limits)

    if d.limited_by is None:
        assert d.subsidy_fen == d.rule_amount_fen
    elif d.limited_by == "cap":
        assert d.subsidy_fen == cap_remaining
    elif d.limited_by == "budget":
        assert d.subsidy_fen == req.district_remaining_fen
    else:
        assert d.limited_by == "price"


@given(policies, requests())
def test_best_rule_is_the_largest_single_group_rule(
    policy: PolicyDocument, req: SubsidyRequest
) -> None:
    d = decide(policy, req)
    singles = {g: decide(policy, replace(req, groups=frozenset({g}))) for g in req.groups}
    if not singles:
        assert (d.group, d.subsidy_fen) == (None, 0)
        return
    best = max(s.rule_amount_fen for s in singles.values())
    assert d.rule_amount_fen == best
    first = next(g for g in Group if g in singles and singles[g].rule_amount_fen == best)
    assert d.group is first
    assert d.rule == policy.rule(first, req.service_class)


@given(policies, requests())
def test_decide_is_deterministic(policy: PolicyDocument, req: SubsidyRequest) -> None:
    assert decide(policy, req) == decide(policy, req) == decide(policy, replace(req))


def test_documents_built_in_code_are_checked_too() -> None:
    with pytest.raises(Validation, match=r"^\$\.monthly_cap_fen\.dibao: must not be negative"):
        replace(REF, monthly_cap_fen={**REF.monthly_cap_fen, G.DIBAO: -1})
    with pytest.raises(Validation, match=r"^\$\.payer_order"):
        replace(REF, payer_order=("ltc_insurance", "household", "subsidy"))
