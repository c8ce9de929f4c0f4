"""The community managers' web console: `create_app(service)` builds the FastAPI application."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.console.api import build_api
from bot.console.auth import Forbidden, NotLoggedIn, Sessions, session_secret
from bot.console.views import build_router, local_path
from bot.intake.accounts import get_account
from bot.intake.ingest import store_mentions
from bot.intake.webhooks import build_webhook_router
from bot.runtime import health
from bot.storage.db import transaction

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
# No inline scripts or styles anywhere: even if an escaping bug slipped through, injected script would not run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def duration(seconds: float | None) -> str:
    """Seconds as people read them: 45 s, 12 min, 3 h 20 min, 2 d 4 h."""
    if seconds is None:
        return "—"
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def when(value: datetime | None) -> str:
    """A naive-UTC time as the console shows it."""
    return f"{value:%Y-%m-%d %H:%M}" if value else "—"


def template_environment() -> Environment:
    """Jinja2 for the console's own pages; autoescape is on for everything, so mention text renders as text."""
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["duration"] = duration
    env.filters["when"] = when
    env.filters["merge"] = lambda query, **more: {**query, **more}
    env.filters["urlq"] = lambda query: urlencode({k: v for k, v in query.items() if v not in ("", None)})
    env.filters["quote"] = lambda value: quote(str(value), safe="")
    env.globals["seconds_until"] = lambda due, now: (due - now).total_seconds() if due else None
    return env


class Console:
    """What the routes share: the service, the session store and the templates."""

    def __init__(self, service):
        self.service = service
        self.sessions = Sessions(service, session_secret(service.config))
        self.templates = Jinja2Templates(env=template_environment())


def create_app(service) -> FastAPI:
    """The console and its JSON API over a service; mounts the platform webhooks when that module exists."""

    console = Console(service)
    app = FastAPI(
        title="mention-desk console API",
        version="1",
        description="Approve, edit and reject drafts, follow cases and customers, read KPIs. "
        "Authenticate with `Authorization: Bearer <token>` (a token from the console's "
        "'My account' page).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.console = console
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(build_router(console))
    app.include_router(build_api(service))
    _mount_webhooks(app, service)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("content-security-policy", CSP)
        response.headers.setdefault("x-content-type-options", "nosniff")
        response.headers.setdefault("x-frame-options", "DENY")
        response.headers.setdefault("referrer-policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("cache-control", "no-store")
        return response

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, _exc: NotLoggedIn) -> Response:
        if request.method not in ("GET", "HEAD"):
            return JSONResponse({"detail": "log in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": local_path(target)}), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _error_page(console, request, 403, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or request.url.path.startswith("/webhooks"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return _error_page(console, request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/") or request.url.path.startswith("/webhooks"):
            return JSONResponse({"detail": _validation_text(exc)}, status_code=422)
        return _error_page(console, request, 422, _validation_text(exc))

    _mount_health(app, service)
    return app


def _validation_text(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def _error_page(console: Console, request: Request, status: int, message: str) -> Response:
    viewer = getattr(request.state, "viewer", None) or console.sessions.viewer(request)
    context: dict[str, Any] = {
        "viewer": viewer,
        "flash": None,
        "now": console.service.clock.now(),
        "brand": console.service.config.brand.name,
        "message": message,
        "status": status,
        "nav": "",
        "csrf_field": "csrf_token",
    }
    return console.templates.TemplateResponse(request, "error.html", context, status_code=status)


def _mount_health(app: FastAPI, service) -> None:
    """/healthz and /metrics for monitoring (bot.runtime.health), without a login."""

    app.include_router(health.build_router(service))


def _mount_webhooks(app: FastAPI, service) -> None:
    """Serve the platforms' webhooks (bot.intake.webhooks) from the same app; they store mentions like polling does."""

    def ingest(account_name: str, mentions) -> int:
        with transaction(service.factory) as session:
            account = get_account(session, account_name)
            if account is None:
                log.warning("webhook for unknown account %s ignored", account_name)
                return 0
            return len(store_mentions(session, account, mentions, service.clock.now()))

    app.include_router(build_webhook_router(service.config, ingest))


__all__ = ["create_app"]
