"""The reference catalog every installation starts with (prices in fen)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from marketplace.catalog.models import Unit


@dataclass(frozen=True)
class CategorySpec:
    """A category of the reference catalog."""

    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class ItemSpec:
    """An item of the reference catalog."""

    code: str
    category: str
    name_zh: str
    name_en: str
    unit: Unit
    minutes: int
    price_fen: int
    guide_fen: int | None = None
    skills: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    pickup: bool = False
    extra: dict[str, str] = field(default_factory=dict)


CATEGORIES: Final[list[CategorySpec]] = [
    CategorySpec("domestic", "家政服务", "Domestic services"),
    CategorySpec("repair", "维修服务", "Home repair"),
    CategorySpec("meal", "助餐服务", "Meal delivery"),
    CategorySpec("elderly_care", "居家养老", "Home elderly care"),
    CategorySpec("escort", "病患陪护", "Patient escort"),
    CategorySpec("disability_care", "残疾人居家服务", "Disability home care"),
]

H = Unit.HOUR
V = Unit.VISIT
M = Unit.MEAL

ITEMS: Final[list[ItemSpec]] = [
    ItemSpec(
        "domestic.cleaning",
        "domestic",
        "日常保洁",
        "Routine cleaning",
        H,
        120,
        4500,
        4000,
        ("housekeeping",),
        ("domestic_worker",),
    ),
    ItemSpec(
        "domestic.deep_cleaning",
        "domestic",
        "深度保洁",
        "Deep cleaning",
        H,
        180,
        6000,
        None,
        ("deep_cleaning",),
        ("domestic_worker",),
    ),
    ItemSpec(
        "domestic.cooking",
        "domestic",
        "上门做饭",
        "Home cooking",
        H,
        90,
        5000,
        4500,
        ("cooking",),
        ("health_certificate",),
    ),
    ItemSpec(
        "repair.plumbing",
        "repair",
        "水管疏通维修",
        "Plumbing repair",
        V,
        60,
        8000,
        6000,
        ("plumbing",),
    ),
    ItemSpec(
        "repair.electrical",
        "repair",
        "电路维修",
        "Electrical repair",
        V,
        60,
        9000,
        7000,
        ("electrical",),
        ("electrician",),
    ),
    ItemSpec(
        "repair.appliance",
        "repair",
        "家电维修",
        "Appliance repair",
        V,
        90,
        10000,
        None,
        ("appliance_repair",),
    ),
    ItemSpec(
        "repair.lock", "repair", "开锁换锁", "Lock service", V, 45, 7000, None, ("locksmith",)
    ),
    ItemSpec(
        "meal.lunch",
        "meal",
        "助餐午餐配送",
        "Lunch delivery",
        M,
        5,
        1500,
        1500,
        ("meal_delivery",),
        ("health_certificate",),
        pickup=True,
    ),
    ItemSpec(
        "meal.dinner",
        "meal",
        "助餐晚餐配送",
        "Dinner delivery",
        M,
        5,
        1500,
        1500,
        ("meal_delivery",),
        ("health_certificate",),
        pickup=True,
    ),
    ItemSpec(
        "elderly_care.daily_living",
        "elderly_care",
        "生活照料",
        "Daily living care",
        H,
        60,
        5000,
        4500,
        ("personal_care",),
        ("elderly_carer",),
    ),
    ItemSpec(
        "elderly_care.bathing",
        "elderly_care",
        "助浴服务",
        "Bathing assistance",
        V,
        60,
        8000,
        7000,
        ("personal_care",),
        ("elderly_carer",),
    ),
    ItemSpec(
        "elderly_care.nursing",
        "elderly_care",
        "上门护理",
        "Home nursing",
        V,
        45,
        12000,
        10000,
        ("nursing",),
        ("nurse_licence",),
    ),
    ItemSpec(
        "elderly_care.rehab",
        "elderly_care",
        "康复训练",
        "Rehabilitation exercise",
        H,
        60,
        9000,
        8000,
        ("rehabilitation",),
        ("rehab_therapist",),
    ),
    ItemSpec(
        "elderly_care.dementia",
        "elderly_care",
        "认知症照护",
        "Dementia care",
        H,
        120,
        6000,
        5500,
        ("dementia_care",),
        ("elderly_carer",),
    ),
    ItemSpec(
        "escort.hospital", "escort", "就医陪诊", "Hospital escort", H, 180, 5000, 4500, ("escort",)
    ),
    ItemSpec(
        "escort.overnight",
        "escort",
        "病患陪护",
        "Patient sitting",
        H,
        240,
        4000,
        3500,
        ("escort", "personal_care"),
    ),
    ItemSpec(
        "disability_care.home",
        "disability_care",
        "残疾人居家照护",
        "Disability home care",
        H,
        90,
        5500,
        5000,
        ("disability_care",),
        ("disability_carer",),
    ),
]
