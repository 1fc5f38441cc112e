"""Delivery channels of the notification dispatcher: GSM modem, chat robots, e-mail, PA.

Each channel implements :class:`~commandcenter.notify.base.DeliveryChannel`; the settings
models are in :mod:`commandcenter.notify.config` and :func:`~.channels.build_channels` makes
the channels they describe. This package imports only ``commandcenter.core``,
``commandcenter.errors``, the standard library and pyserial/pydantic.
"""
