"""Geography: the district → street → community → grid tree."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from core.errors import Conflict, NotFound, Validation
from marketplace.geography import service as geography
from marketplace.geography.models import Area, AreaLevel


def ident(area: Area) -> int:
    assert area.id is not None
    return area.id


@dataclass
class Tree:
    district: Area
    street: Area
    community: Area
    grid: Area


def make_tree(session: Session, *, prefix: str = "gl") -> Tree:
    """One area per level, nested (鼓楼区 → 东街街道 → 三坊七巷社区 → 网格 1)."""
    district = geography.create_area(
        session, code=prefix, name="鼓楼区", level=AreaLevel.DISTRICT, lat=26.08, lon=119.30
    )
    street = geography.create_area(
        session,
        code=f"{prefix}.dj",
        name="东街街道",
        level=AreaLevel.STREET,
        lat=26.09,
        lon=119.30,
        parent_id=district.id,
    )
    community = geography.create_area(
        session,
        code=f"{prefix}.dj.sf",
        name="三坊七巷社区",
        level=AreaLevel.COMMUNITY,
        lat=26.085,
        lon=119.295,
        parent_id=street.id,
    )
    grid = geography.create_area(
        session,
        code=f"{prefix}.dj.sf.01",
        name="网格 1",
        level=AreaLevel.GRID,
        lat=26.086,
        lon=119.296,
        parent_id=community.id,
    )
    return Tree(district, street, community, grid)


class TestCreateArea:
    def test_builds_the_four_levels(self, session: Session) -> None:
        tree = make_tree(session)
        session.commit()
        assert tree.grid.parent_id == tree.community.id
        assert geography.get_by_code_or_raise(session, "gl.dj.sf.01").id == tree.grid.id

    def test_district_with_a_parent_is_refused(self, session: Session) -> None:
        tree = make_tree(session)
        with pytest.raises(Validation, match="no parent"):
            geography.create_area(
                session,
                code="x",
                name="X",
                level=AreaLevel.DISTRICT,
                lat=26,
                lon=119,
                parent_id=tree.district.id,
            )

    def test_parent_two_levels_up_is_refused(self, session: Session) -> None:
        tree = make_tree(session)
        with pytest.raises(Validation, match="must be a street"):
            geography.create_area(
                session,
                code="gl.sf2",
                name="Skipping",
                level=AreaLevel.COMMUNITY,
                lat=26,
                lon=119,
                parent_id=tree.district.id,
            )

    def test_missing_parent_is_refused(self, session: Session) -> None:
        with pytest.raises(Validation, match="needs a parent"):
            geography.create_area(
                session, code="s", name="S", level=AreaLevel.STREET, lat=26, lon=119
            )

    def test_unknown_parent_is_not_found(self, session: Session) -> None:
        with pytest.raises(NotFound):
            geography.create_area(
                session,
                code="s",
                name="S",
                level=AreaLevel.STREET,
                lat=26,
                lon=119,
                parent_id=999,
            )

    def test_duplicate_code_is_a_conflict(self, session: Session) -> None:
        make_tree(session)
        with pytest.raises(Conflict):
            geography.create_area(
                session, code="gl", name="again", level=AreaLevel.DISTRICT, lat=26, lon=119
            )

    def test_coordinates_out_of_range_are_refused(self, session: Session) -> None:
        with pytest.raises(Validation, match="out of range"):
            geography.create_area(
                session, code="d", name="D", level=AreaLevel.DISTRICT, lat=91, lon=119
            )


class TestGetByCode:
    def test_unknown_code(self, session: Session) -> None:
        assert geography.get_by_code(session, "nope") is None
        with pytest.raises(NotFound):
            geography.get_by_code_or_raise(session, "nope")


class TestListChildren:
    def test_children_only_one_level_down(self, session: Session) -> None:
        tree = make_tree(session)
        second = geography.create_area(
            session,
            code="gl.aa",
            name="安泰街道",
            level=AreaLevel.STREET,
            lat=26.08,
            lon=119.31,
            parent_id=tree.district.id,
        )
        session.commit()
        children = geography.list_children(session, ident(tree.district))
        assert [c.code for c in children] == ["gl.aa", "gl.dj"]
        assert second in children
        assert geography.list_children(session, ident(tree.grid)) == []

    def test_unknown_area(self, session: Session) -> None:
        with pytest.raises(NotFound):
            geography.list_children(session, 12345)


class TestAncestors:
    def test_of_a_grid_district_first(self, session: Session) -> None:
        tree = make_tree(session)
        session.commit()
        chain = geography.ancestors(session, ident(tree.grid))
        assert [a.id for a in chain] == [tree.district.id, tree.street.id, tree.community.id]
        assert geography.ancestors(session, ident(tree.district)) == []

    def test_path_of_a_community_stops_at_its_level(self, session: Session) -> None:
        tree = make_tree(session)
        session.commit()
        path = geography.path(session, ident(tree.community))
        assert path == geography.AreaPath(
            district_id=ident(tree.district),
            street_id=tree.street.id,
            community_id=tree.community.id,
            grid_id=None,
        )
        assert geography.path(session, ident(tree.grid)).grid_id == tree.grid.id

    def test_unknown_area(self, session: Session) -> None:
        with pytest.raises(NotFound):
            geography.ancestors(session, 4242)


def test_list_by_level(session: Session) -> None:
    make_tree(session)
    make_tree(session, prefix="ta")
    session.commit()
    assert [a.code for a in geography.list_by_level(session, AreaLevel.DISTRICT)] == ["gl", "ta"]
