"""compose/nginx.conf is a valid nginx configuration that balances and forwards as designed."""

from __future__ import annotations

import re
from pathlib import Path

from target_service.server import KEEP_ALIVE_S
from tests.fixtures.nginx_server import (
    COMPOSE_NGINX_CONF,
    COMPOSE_UPSTREAM,
    check_conf,
    render_test_conf,
)
from tests.fixtures.ports import free_port

CONF = COMPOSE_NGINX_CONF.read_text(encoding="utf-8")


def directives(block: str) -> list[str]:
    """The directives of one named block (`upstream app`, `location /`), whitespace-normalised."""
    start = CONF.index(block + " {")
    depth, body = 0, []
    for char in CONF[start:]:
        depth += char == "{"
        depth -= char == "}"
        body.append(char)
        if depth == 0 and char == "}":
            break
    text = re.sub(r"#[^\n]*", "", "".join(body))
    return [" ".join(part.split()) for part in text.split(";") if part.strip()]


def test_compose_conf_passes_nginx_t(nginx_binary: str, tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        render_test_conf([free_port(), free_port()], port=free_port(), directory=tmp_path)
    )
    result = check_conf(nginx_binary, conf)
    assert result.returncode == 0, result.stderr


def test_nginx_t_rejects_a_broken_variant(nginx_binary: str, tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    text = render_test_conf([free_port()], port=free_port(), directory=tmp_path)
    conf.write_text(text.replace("least_conn;", "least_conn"))
    result = check_conf(nginx_binary, conf)
    assert result.returncode != 0
    assert "nginx.conf" in result.stderr


def test_upstream_is_least_conn_with_passive_health_checks_and_keepalive() -> None:
    upstream = directives("upstream app")
    assert upstream[0] == "upstream app { least_conn"
    assert COMPOSE_UPSTREAM.rstrip(";") in upstream
    assert "keepalive 64" in upstream
    # nginx closes an idle connection to an instance before the instance does (uvicorn's
    # keep-alive timeout): a request nginx sends on a connection the instance is closing
    # would fail, and a POST or PATCH is not retried.
    timeout = next(d for d in upstream if d.startswith("keepalive_timeout "))
    assert float(timeout.split()[1].removesuffix("s")) < KEEP_ALIVE_S


def test_proxy_passes_the_client_address_on() -> None:
    location = directives("location /")
    assert "proxy_pass http://app" in location[0]
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for" in location
    assert "proxy_set_header X-Real-IP $remote_addr" in location
    # Keepalive to the upstream needs HTTP/1.1 and no "Connection: close" passed through.
    assert "proxy_http_version 1.1" in location
    assert 'proxy_set_header Connection ""' in location


def test_only_idempotent_failures_are_retried_and_429_is_not() -> None:
    location = directives("location /")
    retry = next(d for d in location if d.startswith("proxy_next_upstream "))
    assert "http_429" not in retry
    assert "non_idempotent" not in retry


def test_body_limit_backstop_sits_above_the_apps_100_kb() -> None:
    size = re.search(r"client_max_body_size (\d+)([km]);", CONF)
    assert size is not None
    limit = int(size[1]) * (1024 if size[2] == "k" else 1024 * 1024)
    assert limit > 100 * 1024


def test_test_variant_only_changes_what_a_test_must(tmp_path: Path) -> None:
    text = render_test_conf([1111, 2222], port=3333, directory=tmp_path)
    assert "server 127.0.0.1:1111 max_fails=3 fail_timeout=10s;" in text
    assert "server 127.0.0.1:2222 max_fails=3 fail_timeout=10s;" in text
    assert "listen 127.0.0.1:3333;" in text
    assert "app:8000" not in re.sub(r"#[^\n]*", "", text)
    for directive in ("least_conn;", "$proxy_add_x_forwarded_for", "proxy_next_upstream_tries 2;"):
        assert directive in text
