"""One typed settings schema: defaults, a TOML file, ``COMMANDCENTER_*`` environment variables.

Precedence, highest first: command-line flags (passed as overrides), environment variables,
the settings file, the defaults below. The settings file is ``--config PATH``, else
``$COMMANDCENTER_CONFIG``, else ``config.toml`` in the user's config directory (optional).
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from commandcenter.errors import ConfigError
from commandcenter.notify.config import NotifySettings

APP_NAME = "commandcenter"
CONFIG_SCHEMA_VERSION = 1
_toml_path: contextvars.ContextVar[Path | None] = contextvars.ContextVar("_toml_path",
                                                                         default=None)


def repo_root() -> Path:
    """Return the folder that holds the package (the checkout, for an editable install)."""
    return Path(__file__).resolve().parent.parent


def demo_site_dir() -> Path:
    """Return the demo site shipped in the repository."""
    return repo_root()


def data_dir() -> Path:
    """Return the user data folder (database, logs)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    """Return the settings file read when no other is named."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


class Settings(BaseSettings):
    """Command Center settings.

    Every field can be set in the TOML file (same name) or as ``COMMANDCENTER_<NAME>``.
    """

    model_config = SettingsConfigDict(env_prefix="COMMANDCENTER_", extra="forbid",
                                      validate_default=True)

    schema_version: int = Field(CONFIG_SCHEMA_VERSION,
                                description="Settings format version; this build reads 1.")
    site_dir: Path = Field(default_factory=demo_site_dir,
                           description="The site folder (plans/, maps/, resources/, drills/).")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: SQLite in the user data folder. "
                          "PostgreSQL: postgresql+psycopg://user:pw@host/db")
    language: Literal["auto", "zh", "en"] = Field(
        "auto", description="UI language; auto follows the system locale.")
    wall_screen: int = Field(0, ge=0, description="Monitor for the wall display, counted from 0 "
                             "(a missing one falls back to 0).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_dir: Path | None = Field(None, description="Where log files go; default: user log folder.")
    notify: NotifySettings = Field(
        default_factory=NotifySettings,
        description="Delivery channels for responder notifications ([notify] with modem, "
                    "webhooks, smtp, pa); none configured: messages stay queued.")
    simulate_gauges: bool = Field(
        True, description="Read every gauge from the built-in simulator (the demo site does); "
                          "a real plant sets false to talk to its serial and network gauges.")

    @field_validator("schema_version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != CONFIG_SCHEMA_VERSION:
            raise ValueError(f"schema_version {v} is not supported (this build reads "
                             f"{CONFIG_SCHEMA_VERSION})")
        return v

    @field_validator("database_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and "://" not in v:
            raise ValueError(f"{v!r} is not a database URL (e.g. sqlite:////path/file.db or "
                             "postgresql+psycopg://user@host/db)")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init) > environment > TOML file > defaults."""
        path = _toml_path.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or SQLite in the user data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{data_dir() / 'commandcenter.db'}"

    @property
    def effective_log_dir(self) -> Path:
        """The configured log folder, or the user log folder."""
        return self.log_dir or Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def describe_url(url: str) -> str:
    """Return ``url`` with any password masked, for status bars and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


OVERRIDE_FLAGS = {"database_url": "--db", "site_dir": "--site", "language": "--lang"}
"""The command-line option that sets a setting, for messages about a value given there."""


def load_settings(config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from file, environment and ``overrides`` (``None`` ones ignored).

    Raises:
        ConfigError: the file is unreadable or invalid, or a value is wrong; the message names
            the file (or variable) and the field.
    """
    explicit = config_path is not None or "COMMANDCENTER_CONFIG" in os.environ
    path = Path(config_path or os.environ.get("COMMANDCENTER_CONFIG") or default_config_path())
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: settings file does not exist")
        toml: Path | None = None
    else:
        toml = path
        try:
            with path.open("rb") as fh:
                tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: TOML syntax: {err}") from err
        except OSError as err:
            raise ConfigError(f"{path}: cannot read settings file: {err}") from err
    token = _toml_path.set(toml)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as err:
        lines = []
        for e in err.errors(include_url=False):
            field = ".".join(str(x) for x in e["loc"]) or "(settings)"
            msg = str(e["msg"]).removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown setting"
            top = str(e["loc"][0]) if e["loc"] else ""
            env = f"COMMANDCENTER_{top.upper()}"  # nested settings come in their section's
            if overrides.get(top) is not None:  # given on the command line: say so
                origin = OVERRIDE_FLAGS.get(top, top)
            else:
                origin = f"{path} or ${env}" if toml else f"${env}"
            lines.append(f"{origin}: {field}: {msg}")
        raise ConfigError("\n".join(lines)) from err
    finally:
        _toml_path.reset(token)
