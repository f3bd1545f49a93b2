"""`sipline webhooks listen`: a local receiver for trying the status report push out, like `stripe
listen`. It answers every POST, verifies the Standard Webhooks signature when given the secret
(204 when it verifies, 400 when not), and prints each report as one JSON line on standard output."""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import click

from sipline.client.webhooks import WebhookVerificationError, verify

MAX_BODY = 1_048_576


def _handler(secret: str | None) -> type[BaseHTTPRequestHandler]:
    class Receiving(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sipline-webhooks-listen"

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._answer(413 if length > MAX_BODY else 400, {"error": "bad Content-Length"})
                return
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            shown: dict[str, Any] = {"webhookId": headers.get("webhook-id"), "path": self.path}
            status = 204
            if secret is not None:
                try:
                    shown["report"] = verify(body, headers, secret)
                    shown["verified"] = True
                except WebhookVerificationError as exc:
                    shown |= {"verified": False, "error": str(exc)}
                    status = 400
            else:
                try:
                    shown["report"] = json.loads(body)
                except ValueError:
                    shown["body"] = body.decode(errors="replace")
            click.echo(json.dumps(shown, ensure_ascii=False))
            sys.stdout.flush()
            self._answer(status, None)

        def _answer(self, status: int, payload: dict[str, str] | None) -> None:
            data = json.dumps(payload).encode() if payload else b""
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # standard output carries the reports only

    return Receiving


@click.group()
def webhooks() -> None:
    """Receive status report pushes locally (for integrators trying them out)."""


@webhooks.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True)
@click.option(
    "--secret", envvar="SIPLINE_WEBHOOK_SECRET", help="whsec_ secret to verify with (set-push printed it)."
)
def listen(host: str, port: int, secret: str | None) -> None:
    """Print each report POSTed to http://HOST:PORT/ as a JSON line; with --secret, verify it first."""
    try:
        server = ThreadingHTTPServer((host, port), _handler(secret))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = server.server_address[1]
    verifying = "verifying signatures" if secret else "NOT verifying signatures (no --secret)"
    click.echo(f"listening on http://{host}:{bound}/, {verifying}; Ctrl-C stops", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
