"""The live alarm screens: alarm list and banner, trends, site overview, horn, wall panel.

Every widget here observes the alarm service (:class:`~commandcenter.services.protocols.AlarmDesk`)
through its :class:`~commandcenter.core.alarms.AlarmBoard` and
:class:`~commandcenter.core.trends.TrendStore`; none keeps its own copy of alarm state. Operator
actions go back through the desk's async methods. Pages and panels are registered in
:mod:`commandcenter.ui.extensions` from :mod:`commandcenter.ui.alarms.pages`.
"""
