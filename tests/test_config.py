from __future__ import annotations

from pathlib import Path

import pytest

from commandcenter.config import describe_url, load_settings
from commandcenter.errors import ConfigError


def test_defaults_point_at_the_demo_site_and_a_user_sqlite_file(tmp_path: Path) -> None:
    s = load_settings()
    assert (s.site_dir / "plans").is_dir()
    url = s.effective_database_url
    assert url.startswith("sqlite:///") and url.endswith("commandcenter.db")
    assert s.language == "auto"


def test_precedence_flag_over_env_over_file(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('schema_version = 1\nlanguage = "zh"\nwall_screen = 2\n'
                   'database_url = "sqlite:///from-file.db"\n', encoding="utf-8")
    assert load_settings(cfg).language == "zh"
    monkeypatch.setenv("COMMANDCENTER_LANGUAGE", "en")
    s = load_settings(cfg)
    assert s.language == "en" and s.wall_screen == 2
    s = load_settings(cfg, database_url="sqlite:///from-flag.db")
    assert s.database_url == "sqlite:///from-flag.db"
    assert load_settings(cfg, database_url=None).database_url == "sqlite:///from-file.db"


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("wall_screen = 3\n", encoding="utf-8")
    monkeypatch.setenv("COMMANDCENTER_CONFIG", str(cfg))
    assert load_settings().wall_screen == 3


def test_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: settings file does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('language = "zh"\nwall_screen = = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert str(info.value).startswith(f"{cfg}: TOML syntax: ")
    assert "line 2" in str(info.value)


def test_invalid_values_name_the_field(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('language = "fr"\nwall_screen = -1\nbogus = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    lines = str(info.value).splitlines()
    assert f"{cfg} or $COMMANDCENTER_LANGUAGE: language: Input should be 'auto', 'zh' or 'en'" \
        in lines
    assert any(line.startswith(f"{cfg} or $COMMANDCENTER_WALL_SCREEN: wall_screen: ")
               for line in lines)
    assert f"{cfg} or $COMMANDCENTER_BOGUS: bogus: unknown setting" in lines


def test_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMANDCENTER_DATABASE_URL", "just-a-path.db")
    with pytest.raises(ConfigError, match=r"^\$COMMANDCENTER_DATABASE_URL: database_url: "
                                          r"'just-a-path.db' is not a database URL"):
        load_settings()


def test_bad_command_line_value_names_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMMANDCENTER_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match=r"^--db: database_url: 'notaurl' is not a database "
                                          r"URL"):
        load_settings(database_url="notaurl")


def test_unsupported_schema_version(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("schema_version = 7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="schema_version 7 is not supported"):
        load_settings(cfg)


def test_describe_url_masks_password() -> None:
    assert describe_url("postgresql+psycopg://cc:s3cret@db:5432/cc") == \
        "postgresql+psycopg://cc:***@db:5432/cc"
    assert describe_url("postgresql+psycopg://cc@db/cc") == "postgresql+psycopg://cc@db/cc"
    assert describe_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
