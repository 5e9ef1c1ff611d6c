"""Settings come from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import pytest

from bot.settings import LINE_DEFAULT_API_BASE_URL, ConfigurationError, Settings

PRODUCTION = {
    "APP_ENV": "production",
    "LINE_CHANNEL_SECRET": "secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "token",
    "SECRET_KEY": "key",
    "DATABASE_URL": "postgres://u@db/omo",
    "PUBLIC_BASE_URL": "https://bot.example.com/",
}


@pytest.mark.parametrize("missing", ["LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY"])
def test_a_production_start_without_a_secret_fails_naming_the_variable(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}

    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env(env)


def test_production_defaults_to_the_real_line_platform_and_no_local_stand_in():
    settings = Settings.from_env(PRODUCTION)

    assert settings.line_api_base_url == LINE_DEFAULT_API_BASE_URL
    assert settings.uses_real_line
    assert not settings.dev_line_enabled
    assert settings.database_url == "postgresql+psycopg://u@db/omo"
    assert settings.public_base_url == "https://bot.example.com"


def test_the_environment_defaults_to_production():
    with pytest.raises(ConfigurationError, match="LINE_CHANNEL_SECRET"):
        Settings.from_env({})


def test_development_without_a_channel_uses_the_local_line_platform():
    settings = Settings.from_env({"APP_ENV": "development", "PUBLIC_BASE_URL": "http://127.0.0.1:8000"})

    assert settings.dev_line_enabled
    assert settings.line_api_base_url == "http://127.0.0.1:8000/dev/line"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.timezone == "Asia/Taipei"


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ConfigurationError, match="TIMEZONE"):
        Settings.from_env({"APP_ENV": "development", "TIMEZONE": "Mars/Olympus"})
