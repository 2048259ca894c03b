"""CloudFormation's side of a custom resource: a server on 127.0.0.1 that takes the answers a
function PUTs to the pre-signed ResponseURL, for the tests of the Lambda-backed custom resources."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def response_endpoint() -> Iterator[tuple[str, list[dict]]]:
    """(a ResponseURL, the answers received there: path, Content-Type and the parsed body, in order)."""
    received: list[dict] = []

    class Answers(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                             "body": json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/response?X-Amz-Signature=abc", received
    finally:
        server.shutdown()
        server.server_close()
