"""Subsidy policies as versioned data documents, and the pure subsidy decision for one order."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar

from core.errors import Validation


class Group(StrEnum):
    """Protected groups a policy can subsidise; the order breaks ties between equal rules."""

    TEKUN = "tekun"  # 特困
    DIBAO = "dibao"  # 低保
    YOUFU = "youfu"  # 优抚
    AGE80 = "age80"  # 80 or more on the service date
    DISABILITY_MODERATE = "disability_moderate"
    DISABILITY_SEVERE = "disability_severe"
    DISABILITY_TOTAL = "disability_total"


GROUP_LABEL: Mapping[Group, str] = MappingProxyType(
    {
        Group.TEKUN: "特困",
        Group.DIBAO: "低保",
        Group.YOUFU: "优抚",
        Group.AGE80: "80岁以上",
        Group.DISABILITY_MODERATE: "中度失能",
        Group.DISABILITY_SEVERE: "重度失能",
        Group.DISABILITY_TOTAL: "完全失能",
    }
)


class ServiceClass(StrEnum):
    """What a policy rule is written for; several catalog categories share one class."""

    DOMESTIC = "domestic"
    CARE = "care"
    MEAL = "meal"
    REPAIR = "repair"


CATEGORY_CLASS: Mapping[str, ServiceClass] = MappingProxyType(
    {
        "domestic": ServiceClass.DOMESTIC,
        "elderly_care": ServiceClass.CARE,
        "disability_care": ServiceClass.CARE,
        "escort": ServiceClass.CARE,
        "meal": ServiceClass.MEAL,
        "repair": ServiceClass.REPAIR,
    }
)


def service_class(category_code: str) -> ServiceClass:
    """The service class of a catalog category code."""
    try:
        return CATEGORY_CLASS[category_code]
    except KeyError:
        raise Validation(f"unknown service category {category_code!r}") from None


class RuleKind(StrEnum):
    """How a rule computes the subsidy."""

    NONE = "none"
    SHARE = "share"
    PER_UNIT = "per_unit"
    FREE = "free"


UNITS = ("hour", "meal", "visit")


def _yuan(fen: int) -> str:
    whole, part = divmod(fen, 100)
    return f"{whole}.{part:02d}"


def _rule_problem(
    kind: RuleKind, percent: int, amount_fen: int, unit: str | None
) -> tuple[str, str] | None:
    """The first (field, message) that makes a rule inconsistent, or None."""
    if kind is RuleKind.SHARE:
        if not 1 <= percent <= 100:
            return "percent", "must be between 1 and 100"
    elif percent != 0:
        return "percent", f"not allowed for kind {kind.value}"
    if kind is RuleKind.PER_UNIT:
        if amount_fen <= 0:
            return "amount_fen", "must be greater than 0"
        if unit not in UNITS:
            return "unit", f"must be one of {', '.join(UNITS)}"
    else:
        if amount_fen != 0:
            return "amount_fen", f"not allowed for kind {kind.value}"
        if unit is not None:
            return "unit", f"not allowed for kind {kind.value}"
    return None


@dataclass(frozen=True, slots=True)
class Rule:
    """How much of an order's price one group gets paid for one service class."""

    kind: RuleKind
    percent: int = 0
    amount_fen: int = 0
    unit: str | None = None

    def __post_init__(self) -> None:
        problem = _rule_problem(self.kind, self.percent, self.amount_fen, self.unit)
        if problem is not None:
            raise Validation(f"rule {problem[0]}: {problem[1]}")

    def describe(self) -> str:
        """The rule in words, e.g. "80 % of the price" or "30.00 yuan per hour"."""
        if self.kind is RuleKind.SHARE:
            return f"{self.percent} % of the price"
        if self.kind is RuleKind.PER_UNIT:
            return f"{_yuan(self.amount_fen)} yuan per {self.unit}"
        if self.kind is RuleKind.FREE:
            return "free"
        return "no subsidy"


NO_RULE = Rule(RuleKind.NONE)

LTC = "ltc_insurance"
SUBSIDY = "subsidy"
HOUSEHOLD = "household"
PAYERS = frozenset({LTC, SUBSIDY, HOUSEHOLD})
COMBINE_LARGEST = "largest"
BUDGET_SPENT_NO_SUBSIDY = "no_subsidy"

_DISTRICT_CODE = re.compile(r"\d{6}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _refuse(where: str, what: str) -> NoReturn:
    raise Validation(f"{where}: {what}", location=where)


@dataclass(frozen=True)
class PolicyDocument:
    """One version of a subsidy policy; applies to orders quoted on or after effective_from."""

    version: str
    effective_from: date
    title: str
    rules: Mapping[Group, Mapping[ServiceClass, Rule]]
    monthly_cap_fen: Mapping[Group, int]
    payer_order: tuple[str, ...]
    combine: str
    district_budgets_fen: Mapping[str, int]
    default_district_budget_fen: int | None
    when_budget_spent: str

    def __post_init__(self) -> None:
        # Frozen all the way down: a policy version is a published document.
        rules = {Group(g): MappingProxyType(dict(m)) for g, m in self.rules.items()}
        object.__setattr__(self, "rules", MappingProxyType(rules))
        object.__setattr__(self, "monthly_cap_fen", MappingProxyType(dict(self.monthly_cap_fen)))
        object.__setattr__(
            self, "district_budgets_fen", MappingProxyType(dict(self.district_budgets_fen))
        )
        object.__setattr__(self, "payer_order", tuple(self.payer_order))
        self._check()

    def _check(self) -> None:
        if not self.version:
            _refuse("$.version", "must not be empty")
        if not self.title:
            _refuse("$.title", "must not be empty")
        order = self.payer_order
        if len(order) != len(PAYERS) or set(order) != PAYERS or order[-1] != HOUSEHOLD:
            _refuse(
                "$.payer_order",
                "must list ltc_insurance, subsidy and household once each, household last",
            )
        if self.combine != COMBINE_LARGEST:
            _refuse("$.combine", f'only "{COMBINE_LARGEST}" is supported')
        if self.when_budget_spent != BUDGET_SPENT_NO_SUBSIDY:
            _refuse("$.when_budget_spent", f'only "{BUDGET_SPENT_NO_SUBSIDY}" is supported')
        for group, cap in self.monthly_cap_fen.items():
            if cap < 0:
                _refuse(f"$.monthly_cap_fen.{group}", "must not be negative")
        for group, by_class in self.rules.items():
            subsidised = any(rule.kind is not RuleKind.NONE for rule in by_class.values())
            if subsidised and group not in self.monthly_cap_fen:
                _refuse(f"$.monthly_cap_fen.{group}", "missing; the group has subsidy rules")
        for code, budget in self.district_budgets_fen.items():
            if not _DISTRICT_CODE.fullmatch(code):
                _refuse(f"$.district_budgets_fen.{code}", "district code must be 6 digits")
            if budget < 0:
                _refuse(f"$.district_budgets_fen.{code}", "must not be negative")
        if self.default_district_budget_fen is not None and self.default_district_budget_fen < 0:
            _refuse("$.default_district_budget_fen", "must not be negative")

    @property
    def ltc_first(self) -> bool:
        """Whether long-term-care insurance pays before the subsidy."""
        return self.payer_order.index(LTC) < self.payer_order.index(SUBSIDY)

    def rule(self, group: Group, cls: ServiceClass) -> Rule:
        """The group's rule for the class; a missing entry means no subsidy."""
        return self.rules.get(group, {}).get(cls, NO_RULE)

    def district_budget_fen(self, district: str) -> int | None:
        """The district's monthly budget; None means unlimited."""
        return self.district_budgets_fen.get(district, self.default_district_budget_fen)


# --- loading -------------------------------------------------------------------------------

_DOC_KEYS = (
    "version",
    "effective_from",
    "title",
    "rules",
    "monthly_cap_fen",
    "payer_order",
    "combine",
    "district_budgets_fen",
    "default_district_budget_fen",
    "when_budget_spent",
)
_RULE_KEYS = ("kind", "percent", "amount_fen", "unit")


def _object(value: object, where: str, keys: Sequence[str] | None = None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _refuse(where, "must be an object")
    for key in value:
        if not isinstance(key, str):
            _refuse(where, f"keys must be strings, got {key!r}")
        if keys is not None and key not in keys:
            _refuse(f"{where}.{key}", "unknown key")
    if keys is not None:
        for key in keys:
            if key not in value:
                _refuse(f"{where}.{key}", "required")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        _refuse(where, "must be a string")
    if not value.strip():
        _refuse(where, "must not be empty")
    return value


def _integer(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        _refuse(where, "must be an integer")
    if value < 0:
        _refuse(where, "must not be negative")
    return value


_E = TypeVar("_E", bound=StrEnum)


def _enum(enum: type[_E], value: str, where: str, what: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        _refuse(where, f"unknown {what} {value!r} (known: {known})")


def _load_rule(value: object, where: str) -> Rule:
    raw = _object(value, where)
    for key in raw:
        if key not in _RULE_KEYS:
            _refuse(f"{where}.{key}", "unknown key")
    if "kind" not in raw:
        _refuse(f"{where}.kind", "required")
    kind = _enum(RuleKind, _string(raw["kind"], f"{where}.kind"), f"{where}.kind", "rule kind")
    needed = {RuleKind.SHARE: ("percent",), RuleKind.PER_UNIT: ("amount_fen", "unit")}
    for key in needed.get(kind, ()):
        if key not in raw:
            _refuse(f"{where}.{key}", f"required for kind {kind.value}")
    for key in ("percent", "amount_fen", "unit"):
        if key in raw and key not in needed.get(kind, ()):
            _refuse(f"{where}.{key}", f"not allowed for kind {kind.value}")
    percent = _integer(raw.get("percent", 0), f"{where}.percent")
    amount_fen = _integer(raw.get("amount_fen", 0), f"{where}.amount_fen")
    unit = _string(raw["unit"], f"{where}.unit") if "unit" in raw else None
    problem = _rule_problem(kind, percent, amount_fen, unit)
    if problem is not None:
        _refuse(f"{where}.{problem[0]}", problem[1])
    return Rule(kind, percent, amount_fen, unit)


def load_policy(data: object) -> PolicyDocument:
    """A policy document from parsed JSON, strictly validated; errors name the JSON path."""
    raw = _object(data, "$", _DOC_KEYS)
    version = _string(raw["version"], "$.version")
    effective_raw = _string(raw["effective_from"], "$.effective_from")
    if not _ISO_DATE.fullmatch(effective_raw):
        _refuse("$.effective_from", "must be a date as YYYY-MM-DD")
    try:
        effective_from = date.fromisoformat(effective_raw)
    except ValueError:
        _refuse("$.effective_from", f"not a valid date: {effective_raw!r}")
    title = _string(raw["title"], "$.title")

    rules: dict[Group, dict[ServiceClass, Rule]] = {}
    for group_key, by_class in _object(raw["rules"], "$.rules").items():
        where = f"$.rules.{group_key}"
        group = _enum(Group, group_key, where, "group")
        rules[group] = {}
        for class_key, rule in _object(by_class, where).items():
            cls = _enum(ServiceClass, class_key, f"{where}.{class_key}", "service class")
            rules[group][cls] = _load_rule(rule, f"{where}.{class_key}")

    caps: dict[Group, int] = {}
    for group_key, cap in _object(raw["monthly_cap_fen"], "$.monthly_cap_fen").items():
        where = f"$.monthly_cap_fen.{group_key}"
        caps[_enum(Group, group_key, where, "group")] = _integer(cap, where)

    payer_raw = raw["payer_order"]
    if not isinstance(payer_raw, list):
        _refuse("$.payer_order", "must be a list")
    payers = tuple(_string(p, f"$.payer_order[{i}]") for i, p in enumerate(payer_raw))

    budgets: dict[str, int] = {}
    for code, budget in _object(raw["district_budgets_fen"], "$.district_budgets_fen").items():
        budgets[code] = _integer(budget, f"$.district_budgets_fen.{code}")
    default_raw = raw["default_district_budget_fen"]
    default_budget = (
        None if default_raw is None else _integer(default_raw, "$.default_district_budget_fen")
    )

    return PolicyDocument(
        version=version,
        effective_from=effective_from,
        title=title,
        rules=rules,
        monthly_cap_fen=caps,
        payer_order=payers,
        combine=_string(raw["combine"], "$.combine"),
        district_budgets_fen=budgets,
        default_district_budget_fen=default_budget,
        when_budget_spent=_string(raw["when_budget_spent"], "$.when_budget_spent"),
    )


def _rule_to_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": rule.kind.value}
    if rule.kind is RuleKind.SHARE:
        out["percent"] = rule.percent
    elif rule.kind is RuleKind.PER_UNIT:
        out["amount_fen"] = rule.amount_fen
        out["unit"] = rule.unit
    return out


def policy_to_dict(doc: PolicyDocument) -> dict[str, Any]:
    """The JSON form of a policy; load_policy(policy_to_dict(doc)) == doc."""
    return {
        "version": doc.version,
        "effective_from": doc.effective_from.isoformat(),
        "title": doc.title,
        "rules": {
            str(group): {str(cls): _rule_to_dict(rule) for cls, rule in by_class.items()}
            for group, by_class in doc.rules.items()
        },
        "monthly_cap_fen": {str(group): cap for group, cap in doc.monthly_cap_fen.items()},
        "payer_order": list(doc.payer_order),
        "combine": doc.combine,
        "district_budgets_fen": dict(doc.district_budgets_fen),
        "default_district_budget_fen": doc.default_district_budget_fen,
        "when_budget_spent": doc.when_budget_spent,
    }


@cache
def reference_policy() -> PolicyDocument:
    """The demo city's reference policy, shipped as pricing/data/reference_policy.json."""
    text = resources.files("pricing").joinpath("data/reference_policy.json").read_text("utf-8")
    return load_policy(json.loads(text))


# --- versions ------------------------------------------------------------------------------


def check_versions(versions: Sequence[PolicyDocument]) -> None:
    """Refuse version sets where a date or a version name would be ambiguous."""
    by_date: dict[date, str] = {}
    names: set[str] = set()
    for doc in versions:
        if doc.version in names:
            raise Validation(f"policy version {doc.version!r} is listed twice")
        names.add(doc.version)
        if doc.effective_from in by_date:
            raise Validation(
                f"policy versions {by_date[doc.effective_from]!r} and {doc.version!r} "
                f"both take effect on {doc.effective_from.isoformat()}"
            )
        by_date[doc.effective_from] = doc.version


def policy_for(versions: Sequence[PolicyDocument], quoted_on: date) -> PolicyDocument:
    """The version in effect on the quote date: the latest effective_from on or before it."""
    check_versions(versions)
    in_effect = [doc for doc in versions if doc.effective_from <= quoted_on]
    if not in_effect:
        raise Validation(f"no subsidy policy is in effect on {quoted_on.isoformat()}")
    return max(in_effect, key=lambda doc: doc.effective_from)


# --- the decision --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubsidyRequest:
    """Everything decide() needs about one priced order item and its limits."""

    groups: frozenset[Group]
    service_class: ServiceClass
    price_fen: int
    subsidisable_fen: int
    billed_minutes: int | None
    quantity: int
    unit: str
    cap_used_fen: int
    district_remaining_fen: int | None
    ltc_fen: int = 0
    district: str | None = None  # only named in reasons

    def __post_init__(self) -> None:
        for name in ("price_fen", "subsidisable_fen", "cap_used_fen", "ltc_fen"):
            if getattr(self, name) < 0:
                raise Validation(f"{name} must not be negative")
        if self.district_remaining_fen is not None and self.district_remaining_fen < 0:
            raise Validation("district_remaining_fen must not be negative")
        if self.subsidisable_fen > self.price_fen:
            raise Validation("subsidisable_fen cannot exceed price_fen")
        if self.unit not in UNITS:
            raise Validation(f"unit must be one of {', '.join(UNITS)}")
        if self.unit == "hour" and self.billed_minutes is None:
            raise Validation("an hourly item needs billed_minutes")
        if self.billed_minutes is not None and self.billed_minutes < 0:
            raise Validation("billed_minutes must not be negative")
        if self.quantity < 1:
            raise Validation("quantity must be at least 1")
        object.__setattr__(self, "groups", frozenset(Group(g) for g in self.groups))
        object.__setattr__(self, "service_class", ServiceClass(self.service_class))


@dataclass(frozen=True, slots=True)
class SubsidyDecision:
    """Who pays what for one order item under one policy version, and why."""

    policy_version: str
    price_fen: int
    ltc_fen: int
    subsidy_fen: int
    copay_fen: int
    group: Group | None
    rule: Rule | None
    rule_amount_fen: int
    cap_fen: int
    cap_remaining_fen: int
    reason: str
    limited_by: str | None


def _rule_raw(rule: Rule, request: SubsidyRequest) -> tuple[int, str]:
    """What the rule gives before any limit (even above the price), and how it got there."""
    if rule.kind is RuleKind.FREE:
        return request.subsidisable_fen, "free"
    if rule.kind is RuleKind.SHARE:
        return request.subsidisable_fen * rule.percent // 100, rule.describe()
    if rule.kind is RuleKind.PER_UNIT:
        if rule.unit != request.unit:
            return 0, f"{rule.describe()}, not for an item priced per {request.unit}"
        if rule.unit == "hour":
            # Billing charges billed minutes × quantity for hourly items; the rule follows it.
            minutes = (request.billed_minutes or 0) * request.quantity
            return rule.amount_fen * minutes // 60, f"{rule.describe()} × {minutes} min"
        return rule.amount_fen * request.quantity, f"{rule.describe()} × {request.quantity}"
    return 0, rule.describe()


def decide(policy: PolicyDocument, request: SubsidyRequest) -> SubsidyDecision:
    """Apply the policy to one order item: best rule, then cap, district budget and price."""
    price = request.price_fen
    groups = [g for g in Group if g in request.groups]
    cap = max((policy.monthly_cap_fen.get(g, 0) for g in groups), default=0)
    cap_remaining = max(cap - request.cap_used_fen, 0)

    if not groups:
        ltc = min(request.ltc_fen, price)
        return SubsidyDecision(
            policy_version=policy.version,
            price_fen=price,
            ltc_fen=ltc,
            subsidy_fen=0,
            copay_fen=price - ltc,
            group=None,
            rule=None,
            rule_amount_fen=0,
            cap_fen=0,
            cap_remaining_fen=0,
            reason="no protected group",
            limited_by=None,
        )

    # Largest amount wins; on equal amounts the group earlier in Group order (strict >).
    best: tuple[Group, Rule, int, int, str] | None = None
    for group in groups:
        rule = policy.rule(group, request.service_class)
        raw, how = _rule_raw(rule, request)
        amount = min(raw, request.subsidisable_fen)
        if best is None or amount > best[2]:
            best = (group, rule, amount, raw, how)
    assert best is not None
    group, rule, rule_amount, best_raw, how = best
    reason = f"{GROUP_LABEL[group]} {request.service_class}: {how}"

    ltc_first = policy.ltc_first
    ltc = min(request.ltc_fen, price) if ltc_first else 0
    price_limit = min(request.subsidisable_fen, price - ltc)
    budget = request.district_remaining_fen
    subsidy = min(rule_amount, cap_remaining, price - ltc)
    if budget is not None:
        subsidy = min(subsidy, budget)
    if not ltc_first:
        ltc = min(request.ltc_fen, price - subsidy)

    limited_by: str | None = None
    if subsidy < best_raw:
        district = f"district {request.district}" if request.district else "district"
        if subsidy == cap_remaining:
            limited_by = "cap"
            if cap_remaining == 0:
                reason += f"; monthly cap reached ({_yuan(cap)} yuan)"
            else:
                reason += (
                    f"; limited by the monthly cap ({_yuan(cap)} yuan, "
                    f"{_yuan(cap_remaining)} yuan left)"
                )
        elif budget is not None and subsidy == budget:
            limited_by = "budget"
            if budget == 0:
                reason += f"; {district} budget for the month is spent"
            else:
                reason += (
                    f"; limited by what is left of the {district} budget for the month "
                    f"({_yuan(budget)} yuan)"
                )
        else:
            assert subsidy == price_limit
            limited_by = "price"
            if ltc_first and price - ltc < request.subsidisable_fen:
                reason += f"; limited to the price after insurance ({_yuan(price - ltc)} yuan)"
            else:
                reason += f"; limited to the price ({_yuan(request.subsidisable_fen)} yuan)"

    return SubsidyDecision(
        policy_version=policy.version,
        price_fen=price,
        ltc_fen=ltc,
        subsidy_fen=subsidy,
        copay_fen=price - ltc - subsidy,
        group=group,
        rule=rule,
        rule_amount_fen=rule_amount,
        cap_fen=cap,
        cap_remaining_fen=cap_remaining,
        reason=reason,
        limited_by=limited_by,
    )
