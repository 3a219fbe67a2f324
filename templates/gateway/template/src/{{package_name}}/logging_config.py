"""Standard-library logging setup."""

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


def configure_logging(level: str) -> None:
    """Send log records to stderr at ``level``.

    A root handler that is already installed (by uvicorn's ``--log-config``, pytest, ...)
    is left alone; only the level is applied.
    """
    logging.basicConfig(format=LOG_FORMAT)
    logging.getLogger().setLevel(level)
