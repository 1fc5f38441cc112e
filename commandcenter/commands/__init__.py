"""Feature commands of the ``commandcenter`` CLI (registered in ``cli.COMMAND_MODULES``)."""
