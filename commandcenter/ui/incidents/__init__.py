"""The incident screens: one-click plan activation, the incident page and the wall panel.

Everything here reads the core projections (:class:`~commandcenter.core.incidents.IncidentBook`,
:class:`~commandcenter.core.notify.Notifier`, :class:`~commandcenter.core.notify.Outbox`) through
adapter models and acts only through the :class:`~commandcenter.services.protocols.IncidentDesk`
protocol; no widget keeps a copy of domain state.
"""
