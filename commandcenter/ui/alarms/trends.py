"""The trends page: the last hour of chosen gauges, overlaid, with their alarm limits.

Sampling rate is not drawing rate: drivers append readings to the ring buffers of the
:class:`~commandcenter.core.trends.TrendStore`; this page copies a snapshot on ONE timer (about
10 Hz) and only for a gauge whose buffer changed since the last draw (``buffer.version``), then
calls ``setData``. Curves use peak downsampling and clip-to-view, so an hour at 1 Hz of several
gauges stays cheap to draw. Gauges of one kind usually share their limits (every gas detector
alarms at 20 and 40 %LEL), so a limit is ONE dashed line labelled with the gauges it belongs to,
not one line per gauge stacked on the same pixel row: twenty detectors draw two lines, not forty,
and their labels stay readable. With many curves the pens go thin: a wide pen is stroked, which
costs several times a thin one's fill, and twenty wide curves only hide each other. The x axis
shows the site's local clock time; mouse wheel zooms, dragging pans, and any manual zoom or pan
turns "follow live" off until it is ticked again.

Limit lines and their labels are drawn over the curves, the labels on a light background, so a
label stays readable where a curve crosses it. A time when a gauge sent nothing (its link or the
gauge itself was silent, see :func:`~commandcenter.core.trends.gaps`) is shaded grey and marked
"通讯中断 / comm lost"; the curve is broken there rather than drawn straight across, and a gauge
that is silent now is shaded up to the present and marked so in the legend.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.clock import Clock
from commandcenter.core.site import AlarmLevel, Site
from commandcenter.core.trends import TrendStore, broken_with_gaps
from commandcenter.services.protocols import GaugeStatus
from commandcenter.ui import i18n
from commandcenter.ui.alarms import strings as _strings  # noqa: F401 - registers the strings
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.models import site_timezone
from commandcenter.ui.theme import DESK, Theme

WINDOW_S: Final = 3600.0
"""How much history the page shows and copies (the ring buffers hold one hour at 1 Hz)."""

REDRAW_MS: Final = 100
"""The one redraw timer's interval."""

CURVE_COLOURS: Final = ("#1F77B4", "#2CA02C", "#9467BD", "#17BECF", "#8C564B", "#E377C2",
                        "#7F7F7F", "#393B79", "#637939", "#3182BD")
"""Curve colours: distinct from each other and from the red/orange/yellow of the limits."""

LIMIT_COLOURS: Final = {AlarmLevel.PREALARM: "#D4A900", AlarmLevel.ALARM1: "#F57C00",
                        AlarmLevel.ALARM2: "#C62828"}
"""Dashed limit lines, in the level's warning colour (yellow darkened to show on white)."""

Y_MARGIN: Final = 0.08
"""Head room above the highest value (and below a negative lowest), as a share of the span."""

WIDE_PEN_CURVES: Final = 6
"""Up to this many curves are drawn 2 px wide; more are drawn 1 px wide."""

LABEL_GAUGES: Final = 3
"""A shared limit's label names this many gauges, then "+N"."""

GAP_POLLS: Final = 5.0
"""A silence longer than this many poll periods of the gauge's link is shown as comm lost."""
MIN_GAP_S: Final = 15.0
"""… and never a silence shorter than this (an RS-485 line may stretch its poll cycle)."""
MAX_GAPS: Final = 12
"""Most comm-lost spans shaded per curve (the newest)."""
GAP_BRUSH: Final = (120, 130, 140, 60)
"""Shade of a comm-lost span (grey, see-through)."""
GAP_REFRESH_S: Final = 1.0
"""How often a silence that lasts until now is extended, in seconds of the clock."""

GAUGE_ROLE = Qt.ItemDataRole.UserRole + 40

_LimitKey = tuple[float, AlarmLevel, str, str]
"""(value, level, direction, unit): gauges with the same key share one limit line."""


@dataclass
class _Trace:
    gauge_id: str
    curve: pg.PlotDataItem
    limits: list[_LimitKey]
    gap_s: float
    """A silence longer than this is a gap (from the gauge's link's poll period)."""
    version: int = -1
    low: float = math.nan
    """Lowest finite value of the data given to the curve (NaN: none)."""
    high: float = math.nan
    last_t: float = math.nan
    """Time of the newest reading given to the curve (NaN: none)."""
    inner: list[tuple[float, float]] = field(default_factory=list)
    """Silences between readings (comm lost), oldest first."""
    regions: list[pg.LinearRegionItem] = field(default_factory=list)
    """Shaded comm-lost spans (re-used; extra ones hidden)."""
    blind: bool = False
    """The gauge is silent now."""


@dataclass
class _Limit:
    line: pg.InfiniteLine
    gauges: list[str]


class TrendsPage(QWidget):
    """Gauge picker on the left, overlaid trends on the right.

    Args:
        trends: The ring buffers to draw from.
        site: Gauge names, units and limits; the site's time zone for the x axis.
        clock: "Now" for the live window.
        lang: UI language.
        status: Latest status per gauge: a gauge that is not available is shown silent up to
            now even before its silence is long enough to count as a gap.

    Attributes:
        plot: The pyqtgraph plot widget.
        gauges: The gauge list (checkable items).
        search: Filters the gauge list.
        follow: "Follow live" toggle.
        redraws: How many times a curve was given new data (each ``setData``).
    """

    def __init__(self, trends: TrendStore, site: Site, clock: Clock, *,
                 lang: str | None = None, theme: Theme = DESK,
                 status: Callable[[str], GaugeStatus] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trendsPage")
        self._trends = trends
        self._site = site
        self._clock = clock
        self._status = status
        self._gaps_at = -math.inf
        self._lang = lang or i18n.current()
        self._traces: dict[str, _Trace] = {}
        self._limits: dict[_LimitKey, _Limit] = {}
        self._text_colour = theme.muted
        self.redraws = 0
        tz = site_timezone(site)
        offset = clock.now().astimezone(tz).utcoffset()
        utc_offset = -offset.total_seconds() if offset is not None else 0.0

        # --- picker
        self.search = QLineEdit(self)
        self.search.setObjectName("trendSearch")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.gauges = QListWidget(self)
        self.gauges.setObjectName("trendGauges")
        self.gauges.setUniformItemSizes(True)
        for gid in trends.gauge_ids():
            item = QListWidgetItem()
            item.setData(GAUGE_ROLE, gid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.gauges.addItem(item)
        self.gauges.itemChanged.connect(self._item_changed)
        self.clear_button = QPushButton(self)
        self.clear_button.clicked.connect(lambda: self.set_selected([]))
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(8, 8, 0, 8)
        ll.setSpacing(6)
        ll.addWidget(self.search)
        ll.addWidget(self.gauges, 1)
        ll.addWidget(self.clear_button)

        # --- plot
        self.axis = pg.DateAxisItem(orientation="bottom", utcOffset=utc_offset)
        self.plot = pg.PlotWidget(axisItems={"bottom": self.axis}, background=theme.panel)
        self.plot.setObjectName("trendPlot")
        item = self.plot.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.showGrid(x=True, y=True, alpha=1.0)  # opaque: blending a grid costs a full pass
        item.setMenuEnabled(False)
        self.legend = item.addLegend(offset=(10, 10), labelTextSize=f"{theme.body_px}px",
                                     labelTextColor=theme.text,
                                     brush=pg.mkBrush(255, 255, 255, 220))
        for name in ("left", "bottom"):
            ax = item.getAxis(name)
            ax.setTextPen(pg.mkPen(theme.text))
            ax.setPen(pg.mkPen(theme.border))
            # major and minor ticks only: each finer level adds a full set of grid lines to
            # every repaint for little gain in reading the value
            ax.setStyle(tickFont=theme.font(theme.small_px), maxTickLevel=1)
        self.plot.getViewBox().sigRangeChangedManually.connect(self._manual_range)
        self.follow = QCheckBox(self)
        self.follow.setObjectName("trendFollow")
        self.follow.setChecked(True)
        self.follow.toggled.connect(lambda on: self._follow_now() if on else None)
        self.window_label = QLabel(self)
        self.window_label.setStyleSheet(f"color: {theme.muted};")
        self.hint = QLabel(self)
        self.hint.setObjectName("trendHint")
        self.hint.setStyleSheet(f"color: {theme.muted};")
        bar = QHBoxLayout()
        bar.addWidget(self.follow)
        bar.addSpacing(16)
        bar.addWidget(self.window_label)
        bar.addStretch(1)
        bar.addWidget(self.hint)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 8, 8, 8)
        rl.setSpacing(6)
        rl.addLayout(bar)
        rl.addWidget(self.plot, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([360, 1400])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()
        self.set_language(self._lang)
        self._follow_now()

    # ------------------------------------------------------------------ language

    def set_language(self, lang: str) -> None:
        """Show labels, gauge names and the legend in ``lang``."""
        self._lang = lang
        self.search.setPlaceholderText(tr("trends.search", lang))
        self.follow.setText(tr("trends.follow", lang))
        self.window_label.setText(tr("trends.window", lang))
        self.clear_button.setText(tr("trends.clear", lang))
        self.plot.getPlotItem().setLabel("bottom", tr("trends.axis.time", lang),
                                         color=self._text_colour)
        for i in range(self.gauges.count()):
            item = self.gauges.item(i)
            gid = str(item.data(GAUGE_ROLE))
            item.setText(self._label(gid))
        for trace in self._traces.values():
            self._legend(trace)
            for region in trace.regions:
                self._label_region(region, trace.gauge_id)
        for key in self._limits:
            self._label_limit(key)
        self._update_hint()
        self._filter(self.search.text())

    def _label(self, gid: str) -> str:
        gauge = self._site.gauges.get(gid)
        if gauge is None:
            return gid
        return f"{gid}  {gauge.name.get(self._lang)} ({gauge.unit})"

    def _legend(self, trace: _Trace) -> None:
        text = self._label(trace.gauge_id)
        if trace.blind:
            text = tr("trends.comm_lost.legend", self._lang, label=text)
        trace.curve.opts["name"] = text
        label = self.legend.getLabel(trace.curve)
        if label is not None:
            label.setText(text)

    def legend_text(self, gid: str) -> str | None:
        """Return the legend entry of ``gid`` (``None`` if not drawn)."""
        trace = self._traces.get(gid)
        return str(trace.curve.opts["name"]) if trace else None

    def _update_hint(self) -> None:
        self.hint.setText(tr("trends.hint", self._lang) if self._traces
                          else tr("trends.none", self._lang) + " — " +
                          tr("trends.hint", self._lang))

    # ------------------------------------------------------------------ picking gauges

    def _filter(self, text: str) -> None:
        terms = text.lower().split()
        for i in range(self.gauges.count()):
            item = self.gauges.item(i)
            gid = str(item.data(GAUGE_ROLE))
            gauge = self._site.gauges.get(gid)
            hay = gid.lower()
            if gauge is not None:
                hay += f"\n{gauge.name.zh}\n{gauge.name.en or ''}\n{gauge.kind.value}".lower()
                hay += "\n" + "\n".join(name_of("gauge", gauge.kind.value, lang).lower()
                                        for lang in i18n.LANGUAGES)
            item.setHidden(not all(t in hay for t in terms))

    def _item_changed(self, item: QListWidgetItem) -> None:
        gid = str(item.data(GAUGE_ROLE))
        if item.checkState() == Qt.CheckState.Checked:
            self._add(gid)
        else:
            self._remove(gid)

    def selected(self) -> list[str]:
        """Return the gauges drawn, in the order they were picked."""
        return list(self._traces)

    def set_selected(self, gauge_ids: list[str]) -> None:
        """Draw exactly ``gauge_ids`` (unknown ids are ignored)."""
        wanted = set(gauge_ids)
        for i in range(self.gauges.count()):
            item = self.gauges.item(i)
            if str(item.data(GAUGE_ROLE)) not in wanted:
                item.setCheckState(Qt.CheckState.Unchecked)
        for gid in gauge_ids:
            for i in range(self.gauges.count()):
                item = self.gauges.item(i)
                if item.data(GAUGE_ROLE) == gid:
                    item.setCheckState(Qt.CheckState.Checked)

    def _colour(self) -> str:
        used = {t.curve.opts["pen"].color().name().upper() for t in self._traces.values()}
        return next((c for c in CURVE_COLOURS if c.upper() not in used),
                    CURVE_COLOURS[len(self._traces) % len(CURVE_COLOURS)])

    def _add(self, gid: str) -> None:
        if gid in self._traces or gid not in self._trends:
            return
        item = self.plot.getPlotItem()
        colour = self._colour()
        curve = item.plot([], [], pen=pg.mkPen(colour, width=1), name=self._label(gid))
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        keys: list[_LimitKey] = []
        gauge = self._site.gauges.get(gid)
        if gauge is not None:
            for t in gauge.thresholds:
                key = (float(t.value), t.level, t.direction, gauge.unit)
                if key in keys:
                    continue
                shared = self._limits.get(key)
                if shared is None:
                    # limits of other units at the same value: their labels go side by side
                    beside = sum(1 for k in self._limits if k[0] == key[0])
                    line = pg.InfiniteLine(
                        pos=t.value, angle=0, movable=False,
                        pen=pg.mkPen(LIMIT_COLOURS[t.level], width=1,
                                     style=Qt.PenStyle.DashLine),
                        label="",
                        labelOpts={"position": 0.02 + 0.24 * (beside % 4),
                                   "color": LIMIT_COLOURS[t.level],
                                   "fill": pg.mkBrush(255, 255, 255, 225),
                                   "border": pg.mkPen(LIMIT_COLOURS[t.level], width=1),
                                   "anchors": [(0, 1), (0, 1)]})
                    # over the curves: a label under a curve could not be read
                    line.setZValue(10)
                    item.addItem(line)
                    shared = self._limits[key] = _Limit(line, [])
                shared.gauges.append(gid)
                keys.append(key)
                self._label_limit(key)
        self._traces[gid] = _Trace(gid, curve, keys, self._gap_s(gid))
        self._restyle()
        self._update_hint()
        self.redraw()
        if self.follow.isChecked():
            self._follow_now()

    def _remove(self, gid: str) -> None:
        trace = self._traces.pop(gid, None)
        if trace is None:
            return
        item = self.plot.getPlotItem()
        item.removeItem(trace.curve)
        for region in trace.regions:
            item.removeItem(region)
        for key in trace.limits:
            shared = self._limits[key]
            shared.gauges.remove(gid)
            if shared.gauges:
                self._label_limit(key)
            else:
                item.removeItem(shared.line)
                del self._limits[key]
        self._restyle()
        self._update_hint()
        if self.follow.isChecked():
            self._follow_now()

    def _label_limit(self, key: _LimitKey) -> None:
        value, level, direction, unit = key
        shared = self._limits[key]
        names = ", ".join(shared.gauges[:LABEL_GAUGES])
        if len(shared.gauges) > LABEL_GAUGES:
            names += f" +{len(shared.gauges) - LABEL_GAUGES}"
        text = (f"{names} {name_of('alarm', level.value, self._lang)} "
                f"{'≥' if direction == 'high' else '≤'} {value:g} {unit}")
        assert shared.line.label is not None
        shared.line.label.setFormat(text)

    def _restyle(self) -> None:
        width = 2 if len(self._traces) <= WIDE_PEN_CURVES else 1
        for trace in self._traces.values():
            pen = trace.curve.opts["pen"]
            if pen.widthF() != width:
                trace.curve.setPen(pg.mkPen(pen.color(), width=width))

    def limit_lines(self, gid: str) -> list[tuple[float, str]]:
        """Return (value, pen colour) of the limit lines drawn for ``gid``."""
        trace = self._traces.get(gid)
        if trace is None:
            return []
        return [(float(line.value()), line.pen.color().name().upper())
                for line in (self._limits[key].line for key in trace.limits)]

    def limit_label(self, gid: str, value: float) -> str | None:
        """Return the label of ``gid``'s limit line at ``value`` (``None`` if none is drawn)."""
        trace = self._traces.get(gid)
        for key in trace.limits if trace else ():
            if key[0] == value:
                label = self._limits[key].line.label
                return None if label is None else str(label.format)
        return None

    def comm_lost(self, gid: str) -> list[tuple[float, float]]:
        """Return the comm-lost spans shaded for ``gid`` (POSIX seconds), oldest first."""
        trace = self._traces.get(gid)
        if trace is None:
            return []
        return [tuple(float(x) for x in r.getRegion())  # type: ignore[misc]
                for r in trace.regions if r.isVisible()]

    def _gap_s(self, gid: str) -> float:
        gauge = self._site.gauges.get(gid)
        link = self._site.links.get(gauge.link) if gauge is not None else None
        poll = link.poll_s if link is not None else 2.0
        return max(GAP_POLLS * poll, MIN_GAP_S)

    def _label_region(self, region: pg.LinearRegionItem, gid: str) -> None:
        label = getattr(region, "comm_label", None)
        if label is not None:
            label.setFormat(f"{gid} {tr('trends.comm_lost', self._lang)}")

    def _update_gaps(self, trace: _Trace, now: float) -> None:
        """Shade the trace's silences, the one until now included; mark a silent gauge."""
        spans = list(trace.inner)
        st = None
        if self._status is not None:
            try:
                st = self._status(trace.gauge_id)
            except KeyError:
                st = None
        silent_now = not math.isnan(trace.last_t) and (
            now - trace.last_t > trace.gap_s
            or (st is not None and not st.available and st.ts is not None))
        if silent_now:
            spans.append((trace.last_t, now))
        spans = spans[-MAX_GAPS:]
        item = self.plot.getPlotItem()
        while len(trace.regions) < len(spans):
            region = pg.LinearRegionItem(values=(0.0, 1.0), movable=False,
                                         brush=pg.mkBrush(*GAP_BRUSH),
                                         pen=pg.mkPen(GAP_BRUSH[:3], width=1,
                                                      style=Qt.PenStyle.DotLine))
            region.setZValue(-10)
            # written along the start of the span, inside it: fits however short the span is
            region.comm_label = pg.InfLineLabel(
                region.lines[0], text="", position=0.97, rotateAxis=(1, 0),
                anchors=[(1, 0), (1, 0)], color=self._text_colour,
                fill=pg.mkBrush(255, 255, 255, 200))
            self._label_region(region, trace.gauge_id)
            item.addItem(region)
            trace.regions.append(region)
        for region, span in zip(trace.regions, spans, strict=False):
            if tuple(region.getRegion()) != span:
                region.setRegion(span)
            region.setVisible(True)
        for region in trace.regions[len(spans):]:
            region.setVisible(False)
        if silent_now != trace.blind:
            trace.blind = silent_now
            self._legend(trace)

    def curve_colour(self, gid: str) -> str | None:
        """Return the colour of the curve of ``gid`` (``None`` if not drawn)."""
        trace = self._traces.get(gid)
        return trace.curve.opts["pen"].color().name().upper() if trace else None

    # ------------------------------------------------------------------ drawing

    def redraw(self) -> int:
        """Give new data to every curve whose buffer changed; return how many changed."""
        if not self._traces:
            return 0
        now = self._clock.now().timestamp()
        since = now - WINDOW_S
        changed = 0
        tick = now - self._gaps_at >= GAP_REFRESH_S
        if tick:
            self._gaps_at = now
        for trace in self._traces.values():
            buf = self._trends.get(trace.gauge_id)
            version = buf.version
            if version == trace.version:
                if tick:
                    self._update_gaps(trace, now)
                continue
            t, v = buf.snapshot(since)
            bt, bv, inner = broken_with_gaps(t, v, trace.gap_s)
            trace.curve.setData(bt, bv, connect="finite")
            trace.version = version
            finite = v[np.isfinite(v)]
            trace.low, trace.high = ((float(finite.min()), float(finite.max())) if finite.size
                                     else (math.nan, math.nan))
            trace.last_t = float(t[-1]) if t.size else math.nan
            trace.inner = inner
            self._update_gaps(trace, now)
            changed += 1
        self.redraws += changed
        if changed and self.follow.isChecked():
            self._follow_now()
        return changed

    def invalidate(self) -> None:
        """Make the next :meth:`redraw` give every curve its data again, changed or not."""
        for trace in self._traces.values():
            trace.version = -1

    def _follow_now(self) -> None:
        """Show the last hour, the right edge snapped up to a whole pixel's worth of time.

        An hour across ~1,500 px is ~2.4 s a pixel: moving the range on every 100 ms draw would
        shift nothing visible yet re-lay the axes, the grid and every label each time. Snapping
        keeps the newest reading inside the view and moves the range once a pixel. The value
        axis is set here too, from the extremes of the data each curve was given (and zero), and
        only moved when the data leave it or fill less than half of it: pyqtgraph's own
        auto-range would re-measure every curve on every paint and nudge the axis each time.
        """
        now = self._clock.now().timestamp()
        vb = self.plot.getViewBox()
        step = max(1.0, WINDOW_S / max(1.0, float(vb.width())))
        right = math.ceil(now / step) * step
        (x0, x1), (y0, y1) = vb.viewRange()
        if right != x1 or right - WINDOW_S != x0:
            vb.setXRange(right - WINDOW_S, right, padding=0.0)
        lows = [t.low for t in self._traces.values() if not math.isnan(t.low)]
        highs = [t.high for t in self._traces.values() if not math.isnan(t.high)]
        if not lows:
            vb.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)
            return
        vb.disableAutoRange(axis=pg.ViewBox.YAxis)
        lo, hi = min(0.0, *lows), max(0.0, *highs)
        margin = Y_MARGIN * ((hi - lo) or max(abs(hi), 1.0))
        lo, hi = lo - margin if lo < 0 else lo, hi + margin
        if lo < y0 or hi > y1 or (hi - lo) < 0.5 * (y1 - y0) or (lo >= 0 > y0):
            vb.setYRange(lo, hi, padding=0.0)

    def _manual_range(self, *_args: object) -> None:
        if self.follow.isChecked():
            self.follow.setChecked(False)

    def shutdown(self) -> None:
        """Stop the redraw timer."""
        self._timer.stop()


def local_axis_time(ts: float, site: Site) -> str:
    """Return ``ts`` (POSIX seconds) as the site's local ``HH:MM:SS`` (what the x axis shows)."""
    return datetime.fromtimestamp(ts, UTC).astimezone(site_timezone(site)).strftime("%H:%M:%S")
