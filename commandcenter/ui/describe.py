"""One readable line per event for the feeds: names instead of ids, values rounded.

The event log stores ids (``DH1050``, ``GD-110-01:high:alarm2``, ``PLAN-TOXIC-L2``); an operator
reads names. :class:`EventDescriber` turns an event into the line a feed shows, in the UI
language, using the site for names. An event type it has no wording for falls back to a short
``key: value`` summary of its payload, so a new feature's events are never blank.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from commandcenter.core.events import RecordedEvent
from commandcenter.core.site import Site
from commandcenter.ui.i18n import name_of, register, tr
from commandcenter.ui.incidents.people import location_text, person_name

register({
    "describe.high": ("高限", "high"),
    "describe.low": ("低限", "low"),
    "describe.comm": ("通讯中断", "comm lost"),
    "describe.bad_value": ("数据异常", "bad value"),
    "describe.stage": ("第 {n} 批", "stage {n}"),
    "describe.code": ("代码 {code}", "code {code}"),
    "describe.by": ("操作", "by"),
    "describe.notified": ("加呼 {names}", "calls {names}"),
    "describe.reminded": ("提醒 {names}", "reminds {names}"),
    "describe.informed": ("告知 {names}", "informs {names}"),
    "describe.minutes": ("{n} 分钟", "{n} min"),
    "describe.skipped": ("{n} 项站点数据被跳过", "{n} site items skipped"),
    "describe.plans": ("{n} 项预案", "{n} plans"),
    "describe.channel.sms": ("短信", "SMS"),
    "describe.channel.phone": ("电话", "phone"),
    "describe.channel.wecom": ("企业微信", "WeCom"),
    "describe.channel.dingtalk": ("钉钉", "DingTalk"),
    "describe.channel.feishu": ("飞书", "Feishu"),
    "describe.channel.webhook": ("Webhook", "webhook"),
    "describe.channel.email": ("邮件", "e-mail"),
    "describe.channel.pa": ("广播", "PA"),
})

SEP = " · "


def format_number(value: Any) -> str:
    """Return a reading as an operator reads it: three significant digits, no exponent."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:.0f}"
    text = f"{value:.3g}"
    return text if "e" not in text else f"{value:.6f}".rstrip("0").rstrip(".")


class EventDescriber:
    """Describe events of a site in one line (``describer(event, lang)``).

    Args:
        site: Where names of people, gauges, plans, steps and buildings come from.
        fallback: Describes events this class has no wording for (default: a short payload
            summary).
    """

    def __init__(self, site: Site,
                 fallback: Callable[[Mapping[str, Any]], str] | None = None) -> None:
        self._site = site
        self._fallback = fallback or _payload_line

    def __call__(self, event: RecordedEvent, lang: str) -> str:
        """Return the line for ``event`` in ``lang``."""
        family, _, action = event.type.partition(".")
        handler = getattr(self, f"_{family}", None)
        try:
            text = handler(event, action, lang) if handler is not None else None
        except (KeyError, TypeError, ValueError, AttributeError):
            text = None  # a payload of another version: never fail a feed row over it
        return text if text else self._fallback(event.payload)

    # ------------------------------------------------------------------ names

    def person(self, ident: Any, lang: str, recorded: Any = None) -> str:
        """Return a person's name for ``DH1050`` or ``person:DH1050``.

        Someone the roster does not (or no longer) know is shown by ``recorded`` (the name the
        event carries), else by the id itself.
        """
        text = str(ident)
        pid = text.split(":", 1)[1] if text.startswith(("person:", "operator:")) else text
        if pid not in self._site.people and recorded:
            return str(recorded)
        return person_name(self._site, pid, lang)

    def _people(self, ids: Any, lang: str, limit: int = 4) -> str:
        names = [self.person(i, lang) for i in (ids or [])]
        sep = "、" if lang == "zh" else ", "
        more = f" +{len(names) - limit}" if len(names) > limit else ""
        return sep.join(names[:limit]) + more

    def _plan(self, pid: Any, lang: str) -> str:
        plan = self._site.plans.get(str(pid))
        return plan.title.get(lang) if plan is not None else str(pid)

    def _place(self, location: Any, lang: str) -> str:
        return location_text(self._site, location if isinstance(location, list | tuple)
                             else str(location), lang)

    def _step(self, plan_id: Any, step_id: Any, lang: str) -> str:
        plan = self._site.plans.get(str(plan_id))
        if plan is not None:
            for step in plan.steps:
                if step.id == step_id:
                    return step.title.get(lang)
        return str(step_id)

    # ------------------------------------------------------------------ families

    def _system(self, ev: RecordedEvent, action: str, lang: str) -> str:
        p = ev.payload
        parts = [ev.source]
        if action == "started":
            if "plans" in p:
                parts.append(tr("describe.plans", lang, n=p["plans"]))
            if p.get("skipped_site_items"):
                parts.append(tr("describe.skipped", lang, n=p["skipped_site_items"]))
        if p.get("version"):
            parts.append(f"v{p['version']}")
        return SEP.join(parts)

    def _alarm(self, ev: RecordedEvent, action: str, lang: str) -> str:
        p = ev.payload
        alarm = str(p.get("alarm") or "")
        gid = str(p.get("gauge") or alarm.split(":", 1)[0] or ev.source.partition(":")[2])
        parts = [gid] if gid else []  # the tag operators know; the tooltip has the name
        kind = p.get("kind")
        if kind == "comm" or alarm.endswith(":comm"):
            parts.append(tr("describe.comm", lang))
        elif kind == "bad_value" or alarm.endswith(":bad"):
            parts.append(tr("describe.bad_value", lang))
        elif p.get("level"):
            level = name_of("alarm", str(p["level"]), lang)
            direction = p.get("direction")
            parts.append(f"{level}·{tr(f'describe.{direction}', lang)}"
                         if direction in ("high", "low") else level)
        if p.get("value") is not None and action in ("raised", "returned", "realarmed"):
            unit = p.get("unit") or ""
            parts.append(f"{format_number(p['value'])} {unit}".strip())
        if p.get("detail"):
            parts.append(str(p["detail"]))
        actor = p.get("who") or p.get("by")
        said = p.get("text") or p.get("reason") or p.get("note")
        if actor and said:
            parts.append(f"{self.person(actor, lang)}: {said}")
        elif actor:
            parts.append(self.person(actor, lang))
        elif said:
            parts.append(str(said))
        if p.get("minutes"):
            parts.append(tr("describe.minutes", lang, n=format_number(p["minutes"])))
        return SEP.join(parts)

    def _incident(self, ev: RecordedEvent, action: str, lang: str) -> str:
        p = ev.payload
        if action == "log":
            who = p.get("author") or ev.source
            return f"{self.person(who, lang)}: {p.get('text', '')}"
        parts = []
        if p.get("level"):
            parts.append(str(p["level"]))
        title = p.get("plan_title")
        if isinstance(title, Mapping) and title.get(lang):
            parts.append(str(title[lang]))
        elif p.get("plan"):
            parts.append(self._plan(p["plan"], lang))
        if p.get("location"):
            parts.append(self._place(p["location"], lang))
        if p.get("code"):
            parts.append(tr("describe.code", lang, code=p["code"]))
        if p.get("reason") or p.get("text"):
            parts.append(str(p.get("reason") or p.get("text")))
        return SEP.join(parts) if parts else ""

    def _checklist(self, ev: RecordedEvent, action: str, lang: str) -> str:
        p = ev.payload
        parts = [self._step(p.get("plan"), p.get("step"), lang)]
        if p.get("by"):
            parts.append(self.person(p["by"], lang))
        if p.get("note"):
            parts.append(str(p["note"]))
        return SEP.join(parts)

    def _notification(self, ev: RecordedEvent, action: str, lang: str) -> str:
        p = ev.payload
        channel = p.get("channel") or (ev.source.split(":", 1)[1]
                                       if ev.source.startswith("notify:") else None)
        ch = tr(f"describe.channel.{channel}", lang) if channel else ""
        if action == "queued" and channel == "pa":  # an area announcement, not a person
            parts = [ch]
            if p.get("stage"):
                parts.append(tr("describe.stage", lang, n=p["stage"]))
            return SEP.join(parts)
        if action in ("queued", "reminder") and p.get("person"):
            who = self.person(p["person"], lang, p.get("name"))
            parts = [f"{ch} → {who}".strip()]
            if p.get("stage"):
                parts.append(tr("describe.stage", lang, n=p["stage"]))
            return SEP.join(parts)
        if action in ("acknowledged", "declined"):
            parts = [self.person(p.get("person", ev.source), lang)]
            if ch:
                parts.append(ch)
            if p.get("recorded_by"):
                parts.append(f"{tr('describe.by', lang)} {self.person(p['recorded_by'], lang)}")
            if p.get("text"):
                parts.append(f"“{p['text']}”")
            return SEP.join(parts)
        if action == "escalated":
            parts = [tr("describe.stage", lang, n=p.get("stage", "?"))]
            if p.get("reason"):
                parts.append(str(p["reason"]))
            for key in ("notified", "reminded", "informed"):
                if p.get(key):
                    parts.append(tr(f"describe.{key}", lang, names=self._people(p[key], lang)))
            return SEP.join(parts)
        parts = [ch] if ch else []
        if p.get("message_id"):
            parts.append(str(p["message_id"]).rsplit("-", 1)[-1])
        if p.get("reason"):
            parts.append(str(p["reason"]))
        return SEP.join(parts)


def _payload_line(payload: Mapping[str, Any]) -> str:
    from commandcenter.ui.models import payload_summary

    return payload_summary(payload)
