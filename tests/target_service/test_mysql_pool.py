"""mysql:// URL parsing: what the MySQL backend connects to, and clear errors for bad URLs."""

from __future__ import annotations

import pytest
from asyncmy.errors import IntegrityError, InterfaceError, OperationalError, ProgrammingError

from target_service.metrics import ServiceMetrics
from target_service.mysql_pool import MySQLURLError, parse_mysql_url, unreachable
from target_service.mysql_store import MySQLProfileStore
from target_service.settings import Settings, SettingsError


def test_full_url_is_parsed_with_a_url_decoded_password() -> None:
    address = parse_mysql_url("mysql://app:p%40ss%3Aw%2Fd@db.internal:3307/profiles")
    assert (address.host, address.port, address.user, address.database) == (
        "db.internal",
        3307,
        "app",
        "profiles",
    )
    assert address.password == "p@ss:w/d"


def test_port_defaults_to_3306_and_password_to_empty() -> None:
    address = parse_mysql_url("mysql://root@127.0.0.1/loadcap")
    assert (address.port, address.password) == (3306, "")


def test_password_never_appears_in_repr() -> None:
    assert "secret" not in repr(parse_mysql_url("mysql://app:secret@host/db"))


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("postgres://app@host/db", "expected a mysql:// URL"),
        ("mysql://app@/db", "no host"),
        ("mysql://host/db", "no user"),
        ("mysql://app@host", "database name"),
        ("mysql://app@host/db;drop", "database name"),
        ("mysql://app@host:notaport/db", "malformed"),
        ("mysql://app@host:99999/db", "malformed"),
    ],
)
def test_malformed_url_is_a_settings_error_naming_the_problem(url: str, complaint: str) -> None:
    with pytest.raises(MySQLURLError, match=complaint):
        parse_mysql_url(url)


def test_error_message_hides_the_password() -> None:
    with pytest.raises(MySQLURLError) as raised:
        parse_mysql_url("mysql://app:hunter2@host:bad/db")
    assert "hunter2" not in str(raised.value)


def test_store_rejects_a_malformed_replica_url_at_construction() -> None:
    settings = Settings().with_changes(
        db_url="mysql://app@host/db", replica_urls=("mysql://app@host:bad/db",)
    )
    with pytest.raises(SettingsError, match="malformed"):
        MySQLProfileStore(settings, ServiceMetrics())


@pytest.mark.parametrize(
    ("error", "is_unreachable"),
    [
        (OperationalError(2003, "Can't connect to MySQL server"), True),
        (OperationalError(2013, "Lost connection to server during query"), True),
        (OperationalError(1045, "Access denied"), True),
        (OperationalError(1053, "Server shutdown in progress"), True),
        (InterfaceError(0, "stream broken"), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (OperationalError(1054, "Unknown column"), False),
        (OperationalError(1205, "Lock wait timeout exceeded"), False),
        (IntegrityError(1062, "Duplicate entry"), False),
        (ProgrammingError(1146, "Table doesn't exist"), False),
    ],
)
def test_only_connection_failures_count_as_an_unreachable_server(
    error: Exception, is_unreachable: bool
) -> None:
    assert unreachable(error) is is_unreachable
