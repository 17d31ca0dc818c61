"""Fuzhou's six urban districts for the demo city: streets (街道/镇), communities, grids.

District codes are the real administrative division codes. Street, town and centre
coordinates are real places (WGS84, rounded to about 100 m); street codes follow the national
pattern (街道 ``001``…, 镇 ``1xx``) in the order listed here. Community names are local place
names in each street's neighbourhood; their exact boundaries and the grids are invented. Community
and grid coordinates are scattered a few hundred metres around their parent by a fixed
per-code generator, so the map is the same for every seed: only the people change.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache
from typing import Final

CITY_CENTRE: Final = (26.08, 119.30)
CITY_NAME: Final = "福州市"

# How far (metres) communities lie from their street's centre, and grids from their community's.
COMMUNITY_SPREAD_M: Final = (250.0, 800.0)
GRID_SPREAD_M: Final = (80.0, 220.0)
GRIDS_PER_COMMUNITY: Final = (2, 4)

_M_PER_DEG_LAT: Final = 111_320.0


@dataclass(frozen=True, slots=True)
class StreetSpec:
    """A street (街道) or town (镇) with the communities (社区) in it."""

    name: str
    lat: float
    lon: float
    communities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DistrictSpec:
    """A district (区): code, centre, share of the demo's households, roads and streets."""

    code: str
    name: str
    lat: float
    lon: float
    weight: float
    roads: tuple[str, ...]
    lanes: tuple[str, ...]
    streets: tuple[StreetSpec, ...]
    # The division code ID numbers issued before a re-designation carry (长乐市 → 长乐区, 2017).
    former_code: str | None = None
    former_until_year: int | None = None

    @property
    def short(self) -> str:
        """``鼓楼`` for ``鼓楼区``."""
        return self.name.removesuffix("区")


def _s(name: str, lat: float, lon: float, *communities: str) -> StreetSpec:
    return StreetSpec(name, lat, lon, communities)


DISTRICTS: Final[tuple[DistrictSpec, ...]] = (
    DistrictSpec(
        code="350102",
        name="鼓楼区",
        lat=26.082,
        lon=119.296,
        weight=0.22,
        roads=(
            "五四路",
            "杨桥中路",
            "湖东路",
            "东街",
            "八一七北路",
            "乌山路",
            "北大路",
            "华林路",
            "温泉支路",
            "铜盘路",
            "西洪路",
            "湖滨路",
            "井大路",
            "古田路",
            "琴亭路",
            "白马北路",
        ),
        lanes=("塔巷", "黄巷", "宫巷", "安民巷", "吉庇巷", "文儒坊", "光禄坊"),
        streets=(
            _s("鼓东街道", 26.090, 119.305, "钱塘", "华林", "冶山", "省府", "湖东"),
            _s("鼓西街道", 26.088, 119.285, "西湖", "湖前", "凤湖", "杨桥", "西门"),
            _s("温泉街道", 26.083, 119.313, "温泉", "河东", "东大", "汤边", "树兜"),
            _s("东街街道", 26.087, 119.299, "虎节", "庆城", "双抛", "文藻"),
            _s("南街街道", 26.083, 119.293, "南营", "吉庇", "衣锦", "光禄"),
            _s("安泰街道", 26.078, 119.301, "朱紫坊", "乌山", "安泰", "道山"),
            _s("华大街道", 26.100, 119.296, "北门", "屏东", "屏西", "华屏", "左海"),
            _s("水部街道", 26.081, 119.318, "水部", "琼东", "井大", "古田"),
            _s("五凤街道", 26.103, 119.283, "五凤", "梅峰", "铜盘", "湖头"),
            _s("洪山镇", 26.088, 119.262, "洪山", "西洪", "洪甘", "梅亭", "祥坂"),
        ),
    ),
    DistrictSpec(
        code="350103",
        name="台江区",
        lat=26.060,
        lon=119.310,
        weight=0.16,
        roads=(
            "八一七中路",
            "五一中路",
            "工业路",
            "广达路",
            "群众路",
            "达道路",
            "国货西路",
            "鳌峰路",
            "宁化路",
            "学军路",
            "江滨中大道",
            "六一中路",
            "白马中路",
            "上杭路",
            "下杭路",
        ),
        lanes=("大庙巷", "星安巷", "横锦巷", "帮洲巷", "后洲巷"),
        streets=(
            _s("瀛洲街道", 26.060, 119.318, "瀛洲", "振武", "中选", "亚峰"),
            _s("后洲街道", 26.056, 119.305, "后洲", "双杭", "三捷", "安乐"),
            _s("义洲街道", 26.063, 119.292, "义洲", "帮洲", "白马", "三保"),
            _s("新港街道", 26.065, 119.328, "新港", "福光", "六一", "光明"),
            _s("上海街道", 26.058, 119.326, "上海", "群众", "江滨", "鳌里"),
            _s("苍霞街道", 26.052, 119.300, "苍霞", "星光", "郊后", "安平"),
            _s("茶亭街道", 26.070, 119.303, "茶亭", "达道", "十锦", "国货"),
            _s("洋中街道", 26.068, 119.295, "洋中", "学军", "琯后", "宝岭"),
            _s("鳌峰街道", 26.055, 119.335, "鳌峰", "排下", "鳌江", "双环"),
            _s("宁化街道", 26.066, 119.286, "宁化", "长汀", "荷泽", "建中"),
        ),
    ),
    DistrictSpec(
        code="350104",
        name="仓山区",
        lat=26.040,
        lon=119.315,
        weight=0.22,
        roads=(
            "仓前路",
            "麦园路",
            "对湖路",
            "上渡路",
            "南江滨西大道",
            "金山大道",
            "首山路",
            "盖山路",
            "建新南路",
            "梅坞路",
            "六一南路",
            "则徐大道",
            "林浦路",
            "福峡路",
            "工农路",
            "程埔路",
        ),
        lanes=("乐群路", "马厂街", "观井路", "下渡巷", "梅园巷"),
        streets=(
            _s("仓前街道", 26.047, 119.315, "仓前", "梅坞", "麦园", "观井"),
            _s("东升街道", 26.041, 119.333, "东升", "福峡", "先锋", "葛屿"),
            _s("对湖街道", 26.043, 119.304, "对湖", "马厂街", "朝阳", "积翠"),
            _s("临江街道", 26.050, 119.300, "临江", "塔亭", "中洲", "泛船浦"),
            _s("三叉街街道", 26.038, 119.312, "三叉街", "湖际", "楞严", "龙津"),
            _s("上渡街道", 26.045, 119.291, "上渡", "浦下", "上藤", "宏江"),
            _s("下渡街道", 26.034, 119.324, "下渡", "工农", "凤冈", "梅园"),
            _s("金山街道", 26.044, 119.270, "金山", "金榕", "金洲", "浦上", "金港"),
            _s("盖山镇", 26.016, 119.313, "盖山", "义序", "阳岐", "齐安"),
            _s("建新镇", 26.056, 119.252, "建新", "洪塘", "淮安", "董屿"),
            _s("城门镇", 25.996, 119.358, "城门", "龙江", "清富", "林浦"),
        ),
    ),
    DistrictSpec(
        code="350105",
        name="马尾区",
        lat=25.995,
        lon=119.455,
        weight=0.08,
        roads=(
            "罗星路",
            "江滨东大道",
            "儒江西路",
            "君竹路",
            "沿山路",
            "快安大道",
            "马江路",
            "亭江路",
            "琅岐环岛路",
        ),
        lanes=("马限巷", "铁水巷", "船政巷"),
        streets=(
            _s("罗星街道", 25.993, 119.450, "罗星", "君竹", "儒江", "马江"),
            _s("马尾镇", 26.005, 119.430, "快安", "沿山", "魁岐", "山兜"),
            _s("亭江镇", 26.066, 119.507, "亭江", "长柄", "东岐", "闽安"),
            _s("琅岐镇", 26.086, 119.598, "琅岐", "海屿", "凤窝", "龙台"),
        ),
    ),
    DistrictSpec(
        code="350111",
        name="晋安区",
        lat=26.090,
        lon=119.335,
        weight=0.20,
        roads=(
            "福新中路",
            "福马路",
            "连江北路",
            "长乐北路",
            "岳峰路",
            "化工路",
            "远洋路",
            "秀峰路",
            "塔头路",
            "王庄路",
            "前横路",
            "鹤林路",
            "新店路",
            "晋连路",
            "福飞北路",
        ),
        lanes=("茶会巷", "象园巷", "竹屿巷"),
        streets=(
            _s("茶园街道", 26.093, 119.322, "茶园", "茶会", "五里亭", "凤坂"),
            _s("王庄街道", 26.080, 119.330, "王庄", "福新", "竹屿", "东浦"),
            _s("象园街道", 26.073, 119.343, "象园", "前横", "连潘", "紫阳"),
            _s("岳峰镇", 26.098, 119.336, "岳峰", "鹤林", "柳桥", "化工", "横屿"),
            _s("鼓山镇", 26.068, 119.375, "鼓山", "远洋", "樟林", "前屿"),
            _s("新店镇", 26.132, 119.303, "新店", "斗顶", "赤桥", "坂中"),
        ),
    ),
    DistrictSpec(
        code="350112",
        name="长乐区",
        lat=25.962,
        lon=119.523,
        weight=0.12,
        roads=(
            "郑和中路",
            "胜利路",
            "解放路",
            "广场路",
            "西洋路",
            "吴航路",
            "首占路",
            "航城大道",
            "和平路",
            "东关路",
            "漳港大道",
        ),
        lanes=("下洋巷", "南关巷", "坊巷"),
        streets=(
            _s("吴航街道", 25.963, 119.525, "郑和", "东关", "南关", "西关"),
            _s("航城街道", 25.950, 119.507, "航城", "洋屿", "琴江", "大宏"),
            _s("营前街道", 26.020, 119.470, "营前", "长安", "模范", "黎明"),
            _s("漳港街道", 25.958, 119.612, "漳港", "仙岐", "湖里", "下洋"),
            _s("首占镇", 25.983, 119.555, "首占", "新占", "鹏程", "西洋"),
        ),
        former_code="350182",
        former_until_year=2017,
    ),
)

# Surnames as common in Fuzhou (林、陈 first: "林陈半天下"), with rough weights.
SURNAMES: Final[tuple[tuple[str, int], ...]] = (
    ("林", 14),
    ("陈", 14),
    ("黄", 7),
    ("郑", 6),
    ("王", 5),
    ("张", 4),
    ("刘", 4),
    ("吴", 4),
    ("李", 3),
    ("杨", 2),
    ("何", 2),
    ("高", 2),
    ("游", 2),
    ("魏", 1),
    ("詹", 1),
    ("薛", 1),
    ("卓", 1),
    ("翁", 1),
    ("蔡", 1),
    ("许", 1),
    ("潘", 1),
    ("江", 1),
    ("叶", 1),
    ("朱", 1),
    ("谢", 1),
    ("周", 1),
    ("邱", 1),
    ("池", 1),
)

HOSPITALS: Final[tuple[str, ...]] = (
    "福建省立医院",
    "福建医科大学附属协和医院",
    "福建医科大学附属第一医院",
    "福州市第一医院",
    "福州市第二医院",
    "福建中医药大学附属人民医院",
    "福建省老年医院",
    "福州市长乐区医院",
    "福州市马尾区医院",
)


@dataclass(frozen=True, slots=True)
class Place:
    """An area to create: code, name, centre; ``parent_code`` is one level up."""

    code: str
    name: str
    lat: float
    lon: float
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class CommunityPlace:
    """A community with its street, district and grids."""

    place: Place
    street: Place
    district: DistrictSpec
    grids: tuple[Place, ...]


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m`` metres north and ``east_m`` east of (lat, lon), to 6 decimals."""
    dlat = north_m / _M_PER_DEG_LAT
    dlon = east_m / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def _scatter(code: str, lat: float, lon: float, spread: tuple[float, float]) -> tuple[float, float]:
    """A fixed point (per code) between ``spread`` metres from (lat, lon)."""
    rng = random.Random(f"fuzhou:{code}")
    distance = rng.uniform(*spread)
    bearing = rng.uniform(0, 2 * math.pi)
    return offset(lat, lon, distance * math.cos(bearing), distance * math.sin(bearing))


def street_code(district: DistrictSpec, index: int) -> str:
    """``350102001`` for the first 街道 of 鼓楼; towns (镇) are numbered from ``100``."""
    street = district.streets[index]
    if street.name.endswith("镇"):
        towns_before = sum(1 for s in district.streets[:index] if s.name.endswith("镇"))
        return f"{district.code}{100 + towns_before:03d}"
    streets_before = sum(1 for s in district.streets[:index] if not s.name.endswith("镇"))
    return f"{district.code}{1 + streets_before:03d}"


@cache
def city() -> tuple[tuple[Place, ...], tuple[CommunityPlace, ...]]:
    """Every area (districts first, then each street with its communities and grids) and the
    communities with their grids."""
    places: list[Place] = []
    communities: list[CommunityPlace] = []
    for district in DISTRICTS:
        places.append(Place(district.code, district.name, district.lat, district.lon, None))
    for district in DISTRICTS:
        for s_index, street in enumerate(district.streets):
            s_code = street_code(district, s_index)
            street_place = Place(s_code, street.name, street.lat, street.lon, district.code)
            places.append(street_place)
            for c_index, community in enumerate(street.communities, start=1):
                c_code = f"{s_code}{c_index:03d}"
                c_lat, c_lon = _scatter(c_code, street.lat, street.lon, COMMUNITY_SPREAD_M)
                c_place = Place(c_code, f"{community}社区", c_lat, c_lon, s_code)
                places.append(c_place)
                n_grids = random.Random(f"fuzhou-grids:{c_code}").randint(*GRIDS_PER_COMMUNITY)
                grids: list[Place] = []
                for g_index in range(1, n_grids + 1):
                    g_code = f"{c_code}{g_index:02d}"
                    g_lat, g_lon = _scatter(g_code, c_lat, c_lon, GRID_SPREAD_M)
                    grids.append(
                        Place(g_code, f"{community}社区第{g_index}网格", g_lat, g_lon, c_code)
                    )
                places.extend(grids)
                communities.append(CommunityPlace(c_place, street_place, district, tuple(grids)))
    return tuple(places), tuple(communities)


def district_by_code(code: str) -> DistrictSpec:
    """The district with this code."""
    for district in DISTRICTS:
        if district.code == code:
            return district
    raise KeyError(code)
