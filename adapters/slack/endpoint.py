"""HTTP mode: Slack POSTs events and slash commands to /slack/events on our HTTP server."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


class EventsEndpoint:
    """Hands requests to bolt, which checks the signature and the timestamp (older than
    5 minutes: 401) before anything else. Signed requests that cannot be processed are
    answered 200 and logged: Slack would otherwise resend them, failing the same way."""

    def __init__(self, bolt: AsyncApp, signing_secret: str) -> None:
        self._bolt = bolt
        self._verifier = SignatureVerifier(signing_secret)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            bolt_request = await to_bolt_request(request)
        except ValueError:  # not even JSON; bolt cannot check the signature of it
            body = await request.text()
            # The verifier looks the headers up case-insensitively itself.
            if not self._verifier.is_valid_request(body, request.headers):
                return web.Response(status=401)
            log.warning("dropped a Slack request that is not JSON: %.200r", body)
            return web.Response(status=200)
        response = await self._bolt.async_dispatch(bolt_request)
        if response.status in (404, 500):
            log.warning(
                "dropped a Slack request that could not be processed (status %s): %.300r",
                response.status,
                bolt_request.raw_body,
            )
            return web.Response(status=200)
        return await to_aiohttp_response(response)
