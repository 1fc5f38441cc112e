"""A folium map that never touches the internet.

folium's pages load Leaflet, jQuery, Bootstrap and Font Awesome from CDNs. :class:`OfflineMap`
points Leaflet and jQuery at the copies the ``XStatic-Leaflet`` and ``XStatic-jQuery`` wheels
install (``file://`` URLs, usable by a QWebEngineView), has no tile layer, and drops Bootstrap and
Font Awesome (so never use ``folium.Icon``; use ``DivIcon`` / ``CircleMarker``).
:func:`standalone_html` renders it with every script and style sheet inlined — Leaflet's images
too, as data URIs — so the file works alone, copied anywhere, with no network.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import folium
import xstatic.pkg.jquery as xs_jquery
import xstatic.pkg.leaflet as xs_leaflet

from commandcenter.errors import CommandCenterError

LEAFLET_DIR = Path(xs_leaflet.BASE_DIR)
JQUERY_DIR = Path(xs_jquery.BASE_DIR)

_ASSETS: dict[str, Path] = {
    "leaflet": LEAFLET_DIR / "leaflet.js",
    "jquery": JQUERY_DIR / "jquery.min.js",
    "leaflet_css": LEAFLET_DIR / "leaflet.css",
}


class MapError(CommandCenterError):
    """The offline map cannot be built or written (missing asset, unwritable file)."""


def _uri(name: str) -> str:
    return _ASSETS[name].as_uri()


class OfflineMap(folium.Map):
    """A ``folium.Map`` with local Leaflet/jQuery, no tiles and no CDN assets.

    Args:
        location: Where to centre, ``(lat, lon)``.
        **kwargs: Passed to ``folium.Map`` (``tiles`` is always ``None``).
    """

    def __init__(self, location: tuple[float, float] | None = None, **kwargs: Any) -> None:
        kwargs["tiles"] = None
        # The attribution control's only content would be a link to leafletjs.com.
        kwargs.setdefault("attribution_control", False)
        super().__init__(location=location, **kwargs)
        # Per map (folium's add_js_link edits these lists in place).
        self.default_js = [("leaflet", _uri("leaflet")), ("jquery", _uri("jquery"))]
        self.default_css = [("leaflet_css", _uri("leaflet_css"))]


class _References(HTMLParser):
    """Collects what a page would fetch: src/href of its tags and url(...) in its styles."""

    _URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value is None:
                continue
            if key in ("src", "href", "data", "poster", "srcset") and tag != "a":
                self.found.append(value)
            elif key == "style":
                self.found.extend(self._URL.findall(value))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found.extend(self._URL.findall(data))


def asset_references(page: str) -> list[str]:
    """Return every URL ``page`` would load by itself (script/link/img sources, CSS urls).

    Links a person may click (``<a href>``) and text inside scripts are not loads.
    """
    parser = _References()
    parser.feed(page)
    parser.close()
    return parser.found


def _data_uri(path: Path) -> str:
    kind = {"png": "image/png", "svg": "image/svg+xml"}.get(path.suffix[1:], "application/"
                                                                              "octet-stream")
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(path: Path) -> str:
    css = path.read_text(encoding="utf-8")

    def to_data(match: re.Match[str]) -> str:
        target = path.parent / match.group(1)
        return f"url({_data_uri(target)})" if target.is_file() else match.group(0)

    return re.sub(r"url\(\s*['\"]?(?!data:)([^'\")]+)['\"]?\s*\)", to_data, css)


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement that inserts ``text`` as is (no backslash processing)."""
    def replace(_match: re.Match[str]) -> str:
        return text

    return replace


def standalone_html(m: folium.Map) -> str:
    """Render ``m`` as one HTML document with Leaflet, jQuery and their CSS inlined.

    Raises:
        MapError: An asset is missing, or the page still refers to anything over http(s).
    """
    html = m.get_root().render()
    for name, path in _ASSETS.items():
        if not path.is_file():
            raise MapError(f"offline map asset missing: {path} (is XStatic installed?)")
        uri = path.as_uri()
        if name.endswith("_css"):
            tag = re.compile(r'<link[^>]*href="' + re.escape(uri) + r'"[^>]*/?>')
            inline = "<style>\n" + _inline_css(path).replace("</style", "<\\/style") + \
                "\n</style>"
        else:
            tag = re.compile(r'<script[^>]*src="' + re.escape(uri) + r'"[^>]*>\s*</script>')
            inline = "<script>\n" + path.read_text(encoding="utf-8").replace(
                "</script", "<\\/script") + "\n</script>"
        html = tag.sub(_constant(inline), html)
    outside = [u for u in asset_references(html) if not u.startswith(("data:", "#"))]
    if outside:
        raise MapError(f"the map would load {outside[0]} (it must work with no network)")
    return html


def write_standalone(m: folium.Map, path: Path) -> Path:
    """Write :func:`standalone_html` of ``m`` to ``path`` (UTF-8); return the path.

    Raises:
        MapError: See :func:`standalone_html`; also when the file cannot be written.
    """
    html = standalone_html(m)
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as err:
        raise MapError(f"cannot write {path}: {err.strerror or err}") from err
    return path
