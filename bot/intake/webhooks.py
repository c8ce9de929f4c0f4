"""Webhooks beside polling: each platform that pushes events gets GET/POST /webhooks/<path>, fed to the same ingest."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.config import AccountConfig, Config
from bot.platform import Platform, WebhookRefused
from bot.platforms.credentials import read_secret
from bot.platforms.registry import PLATFORMS
from listeners.base import IncomingMention

log = logging.getLogger(__name__)

Ingest = Callable[[str, list[IncomingMention]], Any]


def build_webhook_router(
    config: Config, ingest: Ingest, *, environ: Mapping[str, str] | None = None, prefix: str = "/webhooks"
) -> APIRouter:
    """An APIRouter with GET/POST {prefix}/<path> per platform with a webhook; mentions go to ingest(account, mentions)."""
    router = APIRouter(prefix=prefix, tags=["webhooks"])

    def secret(account: AccountConfig, field: str) -> str | None:
        return read_secret(account, field, environ, required=False)

    for platform in PLATFORMS.values():
        if platform.webhook is not None:
            accounts = [a for a in config.accounts if a.platform == platform.name and a.enabled]
            _add_routes(router, platform, accounts, secret, ingest)
    return router


def _add_routes(
    router: APIRouter,
    platform: Platform,
    accounts: list[AccountConfig],
    secret: Callable[[AccountConfig, str], str | None],
    ingest: Ingest,
) -> None:
    webhook = platform.webhook
    assert webhook is not None

    @router.get(f"/{webhook.path}", name=f"{platform.name}_webhook_check")
    def check(request: Request) -> Response:
        """The platform's subscription check (Meta's verify token, X's CRC)."""
        try:
            answer = webhook.challenge(request.query_params, accounts, secret)
        except WebhookRefused as refused:
            raise HTTPException(status_code=refused.status_code, detail=refused.detail) from None
        return JSONResponse(answer) if isinstance(answer, dict) else PlainTextResponse(answer)

    @router.post(f"/{webhook.path}", name=f"{platform.name}_webhook_events")
    async def events(request: Request) -> JSONResponse:
        """Events accepted only with a valid signature of one of our accounts."""
        body = await request.body()
        trusted = webhook.trusted(request.headers, body, accounts, secret)
        if not trusted:
            log.warning("%s webhook: rejected a payload with a missing or wrong signature", webhook.path)
            raise HTTPException(status_code=403, detail="bad signature")
        received = 0
        for account, mentions in webhook.mentions(_json(body), trusted):
            if mentions:
                await run_in_threadpool(ingest, account.name, mentions)
                received += len(mentions)
        return JSONResponse({"received": received})


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise HTTPException(status_code=400, detail="body is not JSON") from None
    if not isinstance(payload, dict):
        raise HTTPException(status_code=400, detail="body is not a JSON object")
    return payload
