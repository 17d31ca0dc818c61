"""The route map's projection: inside the box, north up, east right, proportions kept."""

from __future__ import annotations

from api.web.svg import HEIGHT, MARGIN, WIDTH, project


def test_stops_fill_the_box_with_north_up_and_east_right() -> None:
    drawn = project([(1, 26.08, 119.29), (2, 26.10, 119.30), (3, 26.07, 119.33)])
    xs = [p.x for p in drawn.points]
    ys = [p.y for p in drawn.points]
    assert all(MARGIN - 1e-6 <= x <= WIDTH - MARGIN + 1e-6 for x in xs)
    assert all(MARGIN - 1e-6 <= y <= HEIGHT - MARGIN + 1e-6 for y in ys)
    assert xs[2] > xs[1] > xs[0]  # east is right
    assert ys[1] < ys[0] < ys[2]  # north is up
    assert [p.sequence for p in drawn.points] == [1, 2, 3]
    assert len(drawn.polyline.split()) == 3


def test_one_scale_for_both_axes() -> None:
    # Equal distances north and east (at this latitude) are drawn equally long.
    lat = 26.0
    east = 0.01 / 0.8987940462991670  # cos(26°)
    drawn = project([(1, lat, 119.0), (2, lat + 0.01, 119.0), (3, lat, 119.0 + east)])
    a, b, c = drawn.points
    assert abs(abs(a.y - b.y) - abs(c.x - a.x)) < 0.5


def test_a_single_stop_or_none() -> None:
    (only,) = project([(1, 26.0, 119.0)]).points
    assert (only.x, only.y) == (WIDTH / 2, HEIGHT / 2)
    assert project([]).points == []
