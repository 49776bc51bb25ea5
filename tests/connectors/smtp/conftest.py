"""Fixtures: real SMTP servers on 127.0.0.1 (aiosmtpd) with optional AUTH, STARTTLS or
implicit TLS, and a throw-away CA for the TLS cases."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.connectors.smtp.server import Collector, Pki, Server, authenticator, free_port, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Server]]:
    """Start SMTP servers: ``smtp_server(auth=..., starttls=ctx, implicit_tls=ctx)``."""
    started: list[Controller] = []

    def start(*, auth: bool = False, starttls: ssl.SSLContext | None = None,
              implicit_tls: ssl.SSLContext | None = None) -> Server:
        handler = Collector()
        port = free_port()
        kwargs: dict = {}
        if auth:
            kwargs.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=starttls is not None)
        if starttls is not None:
            kwargs.update(tls_context=starttls, require_starttls=True)
        controller = Controller(handler, hostname="127.0.0.1", port=port,
                                ssl_context=implicit_tls, server_hostname="smtp.test",
                                **kwargs)
        controller.start()
        started.append(controller)
        return Server(handler=handler, port=port)

    yield start
    for controller in started:
        controller.stop()
