from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from commandcenter.core.events import Event
from commandcenter.ui import i18n
from commandcenter.ui.extensions import VIEWS, UiContext
from commandcenter.ui.screenshot import render_view


def ctx_for(site, event_log, clock, lang):
    return UiContext(site=site, event_log=event_log, clock=clock, lang=lang,
                     db_label="sqlite:///test.db")


@pytest.mark.parametrize(("view", "size", "lang"), [
    ("plans", (1366, 768), "zh"),
    ("plans", (1920, 1080), "en"),
    ("wall", (1920, 1080), "zh"),
    ("wall", (1280, 720), "en"),
])
def test_render_writes_a_png_of_the_requested_size(qtbot, tmp_path, site, event_log, clock,
                                                   view, size, lang):
    event_log.append(Event("system.started", "console:test", {"plans": 2}))
    out = render_view(view, tmp_path / "shots" / f"{view}.png", size,
                      ctx_for(site, event_log, clock, lang))
    assert out == tmp_path / "shots" / f"{view}.png"
    assert out.stat().st_size > 10_000
    image = QImage(str(out))
    assert (image.width(), image.height()) == size
    # not a blank image: many distinct colours
    colours = {image.pixel(x, y) for x in range(0, size[0], 37) for y in range(0, size[1], 23)}
    assert len(colours) > 5


def test_render_keeps_the_current_language(tmp_path, site, event_log, clock):
    i18n.set_language("en")
    render_view("wall", tmp_path / "w.png", (800, 450), ctx_for(site, event_log, clock, "zh"))
    assert i18n.current() == "en"


def test_unknown_view_is_rejected_by_name(tmp_path, site, event_log, clock):
    ctx = ctx_for(site, event_log, clock, "en")
    with pytest.raises(ValueError, match=r"unknown view 'nosuch'; known views: plans, wall"):
        render_view("nosuch", tmp_path / "x.png", (800, 600), ctx)
    assert not (tmp_path / "x.png").exists()
    assert {"plans", "wall"} <= set(VIEWS)
    with pytest.raises(ValueError, match="size"):
        render_view("wall", tmp_path / "x.png", (0, 600), ctx)
