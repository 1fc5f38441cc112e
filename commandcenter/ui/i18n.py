"""The UI's own strings in Chinese and English, and the current UI language.

Site content (plan titles, role names …) already carries both languages (``Text.get(lang)``); this
catalogue covers only what the UI itself says. The language starts from the system locale
(``zh*`` → Chinese, anything else → English), may be overridden, and can be switched while the
application runs: every open window listens to :attr:`Language.changed` and retranslates.
"""

from __future__ import annotations

from PySide6.QtCore import QLocale, QObject, Signal

LANGUAGES = ("zh", "en")
"""The UI languages, in menu order."""

_CATALOGUE: dict[str, tuple[str, str]] = {
    # application and menus
    "app.title": ("应急指挥中心", "Command Center"),
    "menu.file": ("文件(&F)", "&File"),
    "menu.file.quit": ("退出(&Q)", "&Quit"),
    "menu.view": ("视图(&V)", "&View"),
    "menu.view.wall": ("大屏显示(&W)", "&Wall display"),
    "menu.view.events": ("事件记录(&E)", "&Event log"),
    "menu.language": ("语言(&L)", "&Language"),
    "menu.help": ("帮助(&H)", "&Help"),
    "menu.help.about": ("关于(&A)", "&About"),
    "lang.zh": ("中文", "中文"),
    "lang.en": ("English", "English"),
    "about.text": (
        "<b>应急指挥中心</b> {version}<br>化工园区控制室与应急指挥系统。<br>"
        "本地数据库、本地地图，断网仍可工作。",
        "<b>Command Center</b> {version}<br>Control room and emergency command for chemical "
        "plants.<br>Local database and local map: keeps working with no network.",
    ),
    # errors (the global error hook)
    "error.title": ("错误", "Error"),
    "error.unexpected": ("发生了意外错误，详细信息已写入日志。",
                         "An unexpected error occurred; the details are in the log."),
    # plan library
    "library.search": ("搜索预案：名称、编号、类型、级别 (Ctrl+F)",
                       "Search plans: title, id, kind, level (Ctrl+F)"),
    "library.col.title": ("预案", "Plan"),
    "library.col.kind": ("类型", "Kind"),
    "library.col.id": ("编号", "Id"),
    "library.level_row": ("{level} {name}（{count}）", "{level} {name} ({count})"),
    "library.empty": ("未选择预案。请在左侧列表中选择一个预案。",
                      "No plan selected. Choose a plan from the list on the left."),
    # status bar
    "status.db": ("数据库：{label}", "Database: {label}"),
    "status.site": ("厂区：{name}（{id}）", "Site: {name} ({id})"),
    "status.no_site": ("厂区：未加载（maps/site.yaml）", "Site: not loaded (maps/site.yaml)"),
    "status.problems": ("站点数据问题 {count} 个", "Site data: {count} problems"),
    "status.problems.none": ("站点数据无问题", "Site data: no problems"),
    "status.problems.tip": ("点击查看加载厂区数据时发现的问题",
                            "Click to list the problems found when the site loaded"),
    "problems.title": ("厂区数据问题", "Site data problems"),
    "problems.intro": ("加载厂区数据时发现以下 {count} 个问题（每条说明被跳过或被降级的内容），"
                       "其余数据正常加载：",
                       "Loading the site found these {count} problems (each says what was left "
                       "out or loaded without); the rest of the site loaded:"),
    "problems.close": ("关闭", "Close"),
    # plan view
    "plan.kind": ("类型", "Kind"),
    "plan.tier": ("层级", "Tier"),
    "plan.scope": ("适用范围", "Scope"),
    "plan.triggers": ("启动条件", "Triggers"),
    "plan.trigger.auto": ("自动启动", "starts automatically"),
    "plan.trigger.manual": ("人工决定", "leader decides"),
    "plan.trigger.gauges": ("监测类型：{kinds}；最低报警级别：{level}",
                            "gauges: {kinds}; lowest alarm level: {level}"),
    "plan.roles": ("应急职责与人员", "Roles and people"),
    "plan.col.role": ("职责", "Role"),
    "plan.col.duty": ("任务", "Duty"),
    "plan.col.people": ("人员（班次）", "People (shift)"),
    "plan.nobody": ("名册中无人担任", "no one on the roster"),
    "plan.notification": ("通知顺序", "Notification order"),
    "plan.col.stage": ("顺序", "Stage"),
    "plan.col.notify": ("通知", "Notify"),
    "plan.col.acks": ("需确认", "Acks needed"),
    "plan.col.deadline": ("时限", "Deadline"),
    "plan.col.escalate": ("超时升级至", "Escalate to"),
    "plan.col.message": ("通知内容", "Message"),
    "plan.steps": ("处置步骤", "Checklist"),
    "plan.col.step": ("步骤", "Step"),
    "plan.col.owner": ("负责", "Owner"),
    "plan.col.target": ("目标时间", "Target"),
    "plan.resources": ("所需资源", "Resources"),
    "plan.col.resource": ("资源", "Resource"),
    "plan.col.count": ("数量", "Count"),
    "plan.col.note": ("说明", "Note"),
    "plan.no_resources": ("本预案未列出资源。", "This plan lists no resources."),
    "plan.hazard": ("危险区域", "Hazard zone"),
    "plan.hazard.isolation": ("初始隔离距离", "Isolation distance"),
    "plan.hazard.downwind": ("下风向防护距离", "Downwind protective distance"),
    "plan.hazard.sector": ("下风向扇区", "Downwind sector"),
    "plan.external": ("对外报告", "External reporting"),
    "plan.external.to": ("报告对象", "Report to"),
    "plan.external.within": ("时限", "Within"),
    "plan.external.wording": ("通报口径", "Wording"),
    "plan.no_external": ("本预案无对外报告要求。", "No external reporting for this plan."),
    "plan.termination": ("终止条件", "Termination"),
    "plan.escalation": ("升级", "Escalation"),
    "plan.escalates_to": ("升级至：{plan}", "Escalates to: {plan}"),
    "plan.no_escalation": ("本预案为最高级别或未设升级预案。",
                           "No higher plan is set for this plan."),
    "plan.pack": ("标准化响应包", "Response pack"),
    "plan.pack.contacts": ("通讯录", "Contacts"),
    "plan.pack.materials": ("物资清单", "Materials"),
    "plan.pack.empty": ("响应包为空。", "The response pack is empty."),
    "unit.min": ("{n} 分钟", "{n} min"),
    "unit.m": ("{n} 米", "{n} m"),
    "unit.deg": ("{n}°", "{n}°"),
    "unit.t_plus": ("T+{n} 分钟", "T+{n} min"),
    # events
    "events.title": ("事件记录", "Event log"),
    "events.col.time": ("时间", "Time"),
    "events.col.type": ("类型", "Type"),
    "events.col.source": ("来源", "Source"),
    "events.col.details": ("内容", "Details"),
    "events.none": ("尚无事件记录", "No events recorded yet"),
    # wall
    "wall.plans": ("应急预案", "Emergency plans"),
    "wall.events": ("最新事件", "Latest events"),
    "wall.plan_count": ("{count} 项", "{count}"),
    "wall.no_plans": ("无", "none"),
    "wall.more": ("另有 {count} 项", "{count} more"),
    "weekday.0": ("星期一", "Monday"),
    "weekday.1": ("星期二", "Tuesday"),
    "weekday.2": ("星期三", "Wednesday"),
    "weekday.3": ("星期四", "Thursday"),
    "weekday.4": ("星期五", "Friday"),
    "weekday.5": ("星期六", "Saturday"),
    "weekday.6": ("星期日", "Sunday"),
}

_LEVEL_NAMES = {
    "L1": ("班组级", "Team"),
    "L2": ("车间级", "Workshop"),
    "L3": ("厂级", "Plant"),
    "L4": ("集团级", "Group"),
}
_KIND_NAMES = {
    "fire": ("火灾", "Fire"),
    "flammable_gas_leak": ("可燃气体泄漏", "Flammable gas leak"),
    "toxic_gas_release": ("有毒气体泄漏", "Toxic gas release"),
    "chemical_spill": ("化学品泄漏", "Chemical spill"),
    "typhoon_flood": ("台风洪涝", "Typhoon / flood"),
    "power_outage": ("停电", "Power outage"),
    "injury_medical": ("人员伤害", "Injury / medical"),
    "confined_space_rescue": ("受限空间救援", "Confined-space rescue"),
}
_TIER_NAMES = {
    "comprehensive": ("综合应急预案", "Comprehensive plan"),
    "special": ("专项应急预案", "Special plan"),
    "on_site": ("现场处置方案", "On-site procedure"),
}
_RESOURCE_NAMES = {
    "fire_hydrant": ("消火栓", "Fire hydrant"),
    "fire_monitor": ("消防水炮", "Fire monitor"),
    "extinguisher_station": ("灭火器箱", "Extinguisher station"),
    "scba_cabinet": ("正压式空气呼吸器柜", "SCBA cabinet"),
    "spill_kit": ("泄漏应急处置箱", "Spill kit"),
    "eyewash_shower": ("洗眼器/紧急喷淋", "Eyewash / shower"),
    "first_aid": ("急救箱", "First aid"),
    "fire_truck": ("消防车", "Fire truck"),
    "assembly_point": ("紧急集合点", "Assembly point"),
    "gas_mask_cabinet": ("防毒面具柜", "Gas mask cabinet"),
    "ambulance": ("救护车", "Ambulance"),
    "foam_station": ("泡沫站", "Foam station"),
    "emergency_shelter": ("应急避难场所", "Emergency shelter"),
}
_GAUGE_NAMES = {
    "combustible_gas": ("可燃气体", "combustible gas"),
    "h2s": ("硫化氢", "H₂S"),
    "nh3": ("氨", "NH₃"),
    "cl2": ("氯气", "Cl₂"),
    "co": ("一氧化碳", "CO"),
    "o2": ("氧气", "O₂"),
    "temperature": ("温度", "temperature"),
    "pressure": ("压力", "pressure"),
    "level": ("液位", "level"),
    "flow": ("流量", "flow"),
    "wind_direction": ("风向", "wind direction"),
    "wind_speed": ("风速", "wind speed"),
}
_ALARM_NAMES = {
    "prealarm": ("预警", "pre-alarm"),
    "alarm1": ("一级报警", "alarm level 1"),
    "alarm2": ("二级报警", "alarm level 2"),
}
for _prefix, _table in (("level", _LEVEL_NAMES), ("kind", _KIND_NAMES), ("tier", _TIER_NAMES),
                        ("resource", _RESOURCE_NAMES), ("gauge", _GAUGE_NAMES),
                        ("alarm", _ALARM_NAMES)):
    for _key, _pair in _table.items():
        _CATALOGUE[f"{_prefix}.{_key}"] = _pair


def system_language() -> str:
    """Return ``"zh"`` if the system locale is Chinese, else ``"en"``."""
    name = QLocale.system().name().lower()
    return "zh" if name.startswith("zh") else "en"


class Language(QObject):
    """The current UI language, shared by every window.

    Signals:
        changed(str): The language was switched; the argument is the new code.
    """

    changed = Signal(str)

    def __init__(self, lang: str | None = None) -> None:
        super().__init__()
        self._lang = _checked(lang) if lang else system_language()

    @property
    def code(self) -> str:
        """The current language code (``"zh"`` or ``"en"``)."""
        return self._lang

    def set(self, lang: str) -> None:
        """Switch to ``lang``; emits :attr:`changed` when it differs from the current one."""
        lang = _checked(lang)
        if lang != self._lang:
            self._lang = lang
            self.changed.emit(lang)


def _checked(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown UI language {lang!r} (use {', '.join(LANGUAGES)})")
    return lang


_current: Language | None = None


def language() -> Language:
    """Return the process-wide UI language object (made on first use)."""
    global _current  # noqa: PLW0603 - one shared language per process, like QLocale
    if _current is None:
        _current = Language()
    return _current


def current() -> str:
    """Return the current UI language code."""
    return language().code


def set_language(lang: str) -> None:
    """Switch the UI language; open windows retranslate."""
    language().set(lang)


def tr(key: str, lang: str | None = None, **fields: object) -> str:
    """Return the UI string ``key`` in ``lang`` (default: the current language).

    Args:
        key: Catalogue key, e.g. ``"menu.view.wall"``.
        lang: ``"zh"`` or ``"en"``; ``None`` for the current UI language.
        **fields: Values for ``{name}`` placeholders in the string.

    Raises:
        KeyError: ``key`` is not in the catalogue (a programming error, caught by the tests).
    """
    zh, en = _CATALOGUE[key]
    text = en if (lang or current()) == "en" else zh
    return text.format(**fields) if fields else text


def register(strings: dict[str, tuple[str, str]]) -> None:
    """Add a feature's strings (``key: (zh, en)``) to the catalogue; called at import time.

    Raises:
        ValueError: A key is already defined with different text (two features clash).
    """
    for key, pair in strings.items():
        old = _CATALOGUE.get(key)
        if old is not None and old != pair:
            raise ValueError(f"UI string {key!r} is defined twice with different text")
        _CATALOGUE[key] = pair


register({
    "page.plans": ("应急预案", "Plans"),
    # event types in feeds (features register their own as they add them)
    "event.system.started": ("系统启动", "System started"),
    "event.system.stopped": ("系统停止", "System stopped"),
    "event.alarm.raised": ("报警产生", "Alarm raised"),
    "event.alarm.acknowledged": ("报警确认", "Alarm acknowledged"),
    "event.alarm.returned": ("报警恢复", "Alarm returned to normal"),
    "event.alarm.cleared": ("报警清除", "Alarm cleared"),
    "event.alarm.shelved": ("报警搁置", "Alarm shelved"),
    "event.alarm.unshelved": ("取消搁置", "Alarm unshelved"),
    "event.alarm.comm_fault": ("通讯故障", "Communication fault"),
    "event.alarm.comm_restored": ("通讯恢复", "Communication restored"),
    "event.alarm.bad_value": ("数据异常", "Bad value"),
    "event.alarm.comment": ("报警备注", "Alarm comment"),
    "event.incident.activated": ("预案启动", "Plan activated"),
    "event.incident.escalated": ("响应升级", "Response escalated"),
    "event.incident.closed": ("应急结束", "Incident closed"),
    "event.incident.log": ("指挥日志", "Position log"),
    "event.checklist.step_started": ("步骤开始", "Step started"),
    "event.checklist.step_done": ("步骤完成", "Step done"),
    "event.checklist.step_na": ("步骤不适用", "Step not applicable"),
    "event.notification.queued": ("通知排队", "Notification queued"),
    "event.notification.sent": ("通知已发", "Notification sent"),
    "event.notification.delivered": ("通知送达", "Notification delivered"),
    "event.notification.failed": ("通知失败", "Notification failed"),
    "event.notification.acknowledged": ("人员确认", "Acknowledged"),
    "event.notification.declined": ("无法到场", "Declined"),
    "event.notification.escalated": ("通知升级", "Notification escalated"),
    "event.notification.reminder": ("提醒", "Reminder"),
})


def has(key: str) -> bool:
    """Return whether ``key`` is in the catalogue."""
    return key in _CATALOGUE


def catalogue_keys() -> list[str]:
    """Return every catalogue key (for completeness tests)."""
    return list(_CATALOGUE)


def name_of(prefix: str, value: str, lang: str | None = None) -> str:
    """Return the display name of an enum value (``name_of("kind", "fire")`` → ``"火灾"``).

    Values the catalogue does not know are shown as they are.
    """
    key = f"{prefix}.{value}"
    return tr(key, lang) if key in _CATALOGUE else value
