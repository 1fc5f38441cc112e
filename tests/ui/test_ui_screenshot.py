from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from commandcenter.core.events import Event
from commandcenter.ui import i18n
from commandcenter.ui.screenshot import VIEWS, render_view


@pytest.mark.parametrize(("view", "size", "lang"), [
    ("plans", (1366, 768), "zh"),
    ("plans", (1920, 1080), "en"),
    ("wall", (1920, 1080), "zh"),
    ("wall", (1280, 720), "en"),
])
def test_render_writes_a_png_of_the_requested_size(qtbot, tmp_path, site, event_log, clock,
                                                   view, size, lang):
    event_log.append(Event("alarm.raised", "gauge:GD-101", {"value": 31}))
    out = render_view(view, tmp_path / "shots" / f"{view}.png", size, site=site,
                      event_log=event_log, clock=clock, lang=lang)
    assert out == tmp_path / "shots" / f"{view}.png"
    assert out.stat().st_size > 10_000
    image = QImage(str(out))
    assert (image.width(), image.height()) == size
    # not a blank image: many distinct colours
    colours = {image.pixel(x, y) for x in range(0, size[0], 37) for y in range(0, size[1], 23)}
    assert len(colours) > 5


def test_render_keeps_the_current_language(tmp_path, site, event_log, clock):
    i18n.set_language("en")
    render_view("wall", tmp_path / "w.png", (800, 450), site=site, event_log=event_log,
                clock=clock, lang="zh")
    assert i18n.current() == "en"


def test_unknown_view_is_rejected_by_name(tmp_path, site, event_log, clock):
    with pytest.raises(ValueError, match=r"unknown view 'map'.*plans, wall"):
        render_view("map", tmp_path / "x.png", (800, 600), site=site, event_log=event_log,
                    clock=clock, lang="en")
    assert not (tmp_path / "x.png").exists()
    assert VIEWS == ("plans", "wall")
    with pytest.raises(ValueError, match="size"):
        render_view("wall", tmp_path / "x.png", (0, 600), site=site, event_log=event_log,
                    clock=clock, lang="en")
