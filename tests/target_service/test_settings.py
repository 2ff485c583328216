"""Settings travel to workers and subprocesses through LOADCAP_* variables, losslessly."""

from __future__ import annotations

import pytest

from target_service.settings import Settings, SettingsError, display_url


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(rate_limit=None, trusted_proxies=()),
        Settings(
            db_url="mysql://u:p@db:3306/loadcap",
            replica_urls=("mysql://u:p@r1/loadcap", "mysql://u:p@r2/loadcap"),
            redis_url="redis://cache:6379/1",
            rate_limit="20/second",
            pool_size=4,
            list_ttl_s=1.5,
            log_level="warning",
        ),
    ],
)
def test_to_env_round_trips(settings: Settings) -> None:
    env = settings.to_env()
    assert all(key.startswith("LOADCAP_") and isinstance(v, str) for key, v in env.items())
    assert Settings.from_env(env) == settings


def test_invalid_settings_cannot_be_built() -> None:
    for bad in (
        {"rate_limit": "often"},
        {"db_url": "postgres://x"},
        {"log_level": "loud"},
        {"default_page_limit": 500},
        {"redis_url": "http://x"},
    ):
        with pytest.raises(SettingsError):
            Settings(**bad)


def test_rate_limit_off_spellings() -> None:
    for off in ("off", "none", "0", ""):
        assert Settings.from_env({"LOADCAP_RATE_LIMIT": off}).rate_limit is None


def test_display_url_masks_passwords_only() -> None:
    assert display_url("mysql://u:s3cret@db:3306/loadcap") == "mysql://u:***@db:3306/loadcap"
    assert display_url("mysql://u:p@ss@db/loadcap") == "mysql://u:***@db/loadcap"
    assert display_url("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert display_url("mysql://u@db/loadcap") == "mysql://u@db/loadcap"
    assert display_url("sqlite:///loadcap.db") == "sqlite:///loadcap.db"
    with pytest.raises(SettingsError) as error:
        Settings(db_url="postgres://u:s3cret@db/x")
    assert "s3cret" not in str(error.value)


def test_variables_parse_by_the_type_of_the_fields_default() -> None:
    settings = Settings.from_env(
        {
            "LOADCAP_POOL_SIZE": "7",
            "LOADCAP_LIST_TTL_S": "2.5",
            "LOADCAP_SINGLE_INSTANCE": "yes",
            "LOADCAP_REDIS_URL": "",
            "LOADCAP_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
        }
    )
    assert (settings.pool_size, settings.list_ttl_s, settings.single_instance) == (7, 2.5, True)
    assert settings.redis_url is None and settings.trusted_proxies == ("10.0.0.0/8", "::1")
    with pytest.raises(SettingsError, match=r"LOADCAP_POOL_SIZE: expected int, got 'many'"):
        Settings.from_env({"LOADCAP_POOL_SIZE": "many"})


def test_one_construction_validates_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    validate = Settings.validate

    def counted(self: Settings) -> None:
        calls.append(self)
        validate(self)

    monkeypatch.setattr(Settings, "validate", counted)
    settings = Settings.from_env({})
    assert len(calls) == 1
    settings.with_changes(pool_size=3)
    assert len(calls) == 2
