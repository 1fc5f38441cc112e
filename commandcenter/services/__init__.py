"""The application layer: long-running services that join the core to storage and devices.

Each feature contributes a :class:`~commandcenter.services.runtime.Component` (gauge polling and
the alarm engine, the notification dispatcher, …) that the :class:`Runtime` starts and stops.
The same runtime runs headless (``commandcenter serve``) and inside the GUI's qasync loop.
"""
