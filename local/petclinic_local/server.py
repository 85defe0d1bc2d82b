"""The local cloud as an endpoint any AWS client can use: `petclinic-ops local serve`.

A ``LocalCloud`` (the control plane deployed from template.yaml, the PetClinic stack seeded,
the moto_compat patches installed, the in-process functions, the ECS rollout simulator,
EventBridge delivery) and moto's server application in the same process, on 127.0.0.1: the
server answers from the same moto backends the local cloud uses, so a request from the AWS CLI
or any SDK meets the same workflows, functions and simulators as the in-process tests do.

A malformed request (a Content-Length that is no number, a body that is no JSON, no or an unknown
X-Amz-Target or Action, members of the wrong type, a request moto cannot process) is answered 400
with an AWS-shaped error body by ``server_guard`` in front of moto, never 500 or a traceback; an
HTTP-level error (a header line over 64 KB, more than 100 headers) is a JSON error body too.

    with LocalEndpoint(LocalCloud(stack_name="petclinic-ops-dev"), port=0) as endpoint:
        endpoint.url    # http://127.0.0.1:PORT, for --endpoint-url / AWS_ENDPOINT_URL

moto's server mode: its Step Functions interpreter calls the other services through boto3
clients, which go to ``localhost:$MOTO_PORT`` unless moto intercepts botocore in-process; here
the local cloud's ``mock_aws`` intercepts them, and MOTO_PORT is set to this server's port all
the same, and the Step Functions/Lambda configuration is posted to /moto-api/config as a server
is configured.

Never deployed, and not AWS: no authentication (any credentials are accepted, account
123456789012), no TLS, one process's memory (everything is gone when it stops).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from petclinic_local.cloud import LocalCloud

HOST = "127.0.0.1"


class LocalEndpoint:
    def __init__(self, cloud: LocalCloud, *, port: int = 0, quiet: bool = True) -> None:
        self.cloud = cloud
        self.port = port
        self.quiet = quiet
        self._server: Any = None
        self._exit = contextlib.ExitStack()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> LocalEndpoint:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from petclinic_local.cloud import MOTO_CONFIG  # noqa: PLC0415

        if self.quiet:
            self._exit.enter_context(_logger_level("werkzeug", logging.WARNING))
        self.cloud.__enter__()
        # Stopping forgets everything: executions still waiting (a rollout held open) are not waited for.
        self._exit.callback(self.cloud.close, quiet_timeout=0)
        self._server = _serve_moto(self.port)
        self._exit.callback(_stop, self._server)
        self.port = self._server.server_address[1]
        self._exit.enter_context(_environment("MOTO_PORT", str(self.port)))
        request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
            f"{self.url}/moto-api/config",
            data=json.dumps(MOTO_CONFIG).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            answer.read()

    def stop(self) -> None:
        self._exit.close()


def _serve_moto(port: int) -> Any:
    """moto's server application behind ``GuardedApplication`` on HOST:port, on a daemon thread
    (what moto's ThreadedMotoServer does, with the guard in front and Flask's exceptions
    propagated to it)."""
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
        DomainDispatcherApplication,
        create_backend_app,
    )
    from werkzeug.serving import make_server  # noqa: PLC0415

    from petclinic_local.server_guard import GuardedApplication, request_handler  # noqa: PLC0415

    def create_app(service: Any) -> Any:
        app = create_backend_app(service)
        app.config["PROPAGATE_EXCEPTIONS"] = True  # to the guard, which answers 400 without a traceback
        return app

    application = GuardedApplication(DomainDispatcherApplication(create_app))
    server = make_server(HOST, port, application, threaded=True, request_handler=request_handler())
    threading.Thread(target=server.serve_forever, name="local-serve", daemon=True).start()
    return server


def _stop(server: Any) -> None:
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def _logger_level(name: str, level: int) -> Iterator[None]:
    logger = logging.getLogger(name)
    saved = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved)


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def serve(
    cloud: LocalCloud,
    *,
    port: int,
    ready: Callable[[LocalEndpoint, float], None],
    until: Callable[[], None],
) -> None:
    """Start the endpoint, call ``ready(endpoint, seconds it took)``, block in ``until()``
    (returns or raises KeyboardInterrupt to stop), then stop everything."""
    started = time.monotonic()
    with LocalEndpoint(cloud, port=port) as endpoint:
        ready(endpoint, time.monotonic() - started)
        with contextlib.suppress(KeyboardInterrupt):
            until()
