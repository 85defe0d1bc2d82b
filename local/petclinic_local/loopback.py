"""A threaded HTTP server on 127.0.0.1 (loopback only), started and stopped with its owner:
the PetClinic services' stand-in and the local GenAI API share it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer:
    """``start(handler)`` serves on a daemon thread; ``url`` once started; ``close()`` stops it."""

    host: str
    port: int
    _server: ThreadingHTTPServer | None

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        raise NotImplementedError

    def _serve(
        self,
        handler: type[BaseHTTPRequestHandler],
        name: str,
        server_class: Any = ThreadingHTTPServer,
        **attributes: Any,
    ) -> Any:
        """Serve ``handler`` (``attributes`` set on the server before the first request)."""
        server = server_class((self.host, self.port), handler)
        server.daemon_threads = True
        for key, value in attributes.items():
            setattr(server, key, value)
        self._server = server
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
        return server

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
