"""The console's HTML pages: queue, cases, customers, KPIs, accounts, users, audit, settings, login."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import yaml
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import select

from bot.casework import approval, case_claims, macros, merging, notes, tags
from bot.casework import cases as case_rules
from bot.console import actions, presence, queries
from bot.console.auth import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, Forbidden, NotLoggedIn, Viewer
from bot.console.charts import meter, stacked_bars
from bot.early_warning import summary as incident_summary
from bot.early_warning.responses import actions_for
from bot.errors import UserError
from bot.runtime.status_report import collect
from bot.service_levels import assignment, kpis
from bot.storage import audit, users
from bot.storage.db import transaction
from bot.storage.models import Draft, Incident, User


def local_path(value: str | None, default: str = "/queue") -> str:
    """A redirect target that stays on this site (never //host or a full URL)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def build_router(console) -> APIRouter:
    """The HTML routes, bound to a Console (service, sessions, templates)."""
    router = APIRouter(include_in_schema=False)
    service = console.service
    sessions = console.sessions
    page_size = service.config.console.page_size

    def viewer(request: Request) -> Viewer:
        found = sessions.viewer(request)
        if found is None:
            raise NotLoggedIn()
        request.state.viewer = found
        return found

    def allowed(permission: str) -> Callable[..., Any]:
        async def check(request: Request) -> Viewer:
            found = viewer(request)
            if request.method not in SAFE_METHODS:
                form = await request.form()
                sessions.check_csrf(request, found, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER))
            if not found.can(permission):
                raise Forbidden(permission, found.role)
            return found

        return check

    def render(
        request: Request, template: str, viewer_: Viewer | None, status_code: int = 200, **context: Any
    ) -> Response:
        flash = sessions.take_flash(request)
        context = {**_header(viewer_), **context}
        context.setdefault("nav", "")
        context.setdefault("status", status_code)
        # An approval refused as stale re-renders the queue with the person's own text (see _refused).
        context.setdefault("refused", getattr(request.state, "refused", None))
        response = console.templates.TemplateResponse(
            request,
            template,
            {
                "viewer": viewer_,
                "flash": flash,
                "now": service.clock.now(),
                "brand": service.config.brand.name,
                "csrf_field": CSRF_FIELD,
                **context,
            },
            status_code=status_code,
        )
        if flash:
            response.delete_cookie("md_flash", path="/")
        return response

    def _header(viewer_: Viewer | None) -> dict[str, Any]:
        """What every page's header shows a logged-in person: the open incidents' banner, the Inbox's unread count."""
        if viewer_ is None:
            return {"incidents_open": [], "inbox_unread": 0}
        with transaction(service.factory) as session:
            return {
                "incidents_open": incident_summary.open_now(session),
                "inbox_unread": notes.unread_count(session, viewer_.id),
            }

    def done(request: Request, back: str, kind: str, message: str) -> RedirectResponse:
        response = RedirectResponse(local_path(back), status_code=303)
        sessions.flash(request, response, kind, message)
        return response

    # ---- login -------------------------------------------------------------------------------------------------

    @router.get("/login")
    def login_form(request: Request, next: str = "/queue") -> Response:
        if sessions.viewer(request) is not None:
            return RedirectResponse(local_path(next), status_code=303)
        return _login_page(request, local_path(next), "", None, 200)

    @router.post("/login")
    def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        next: str = Form("/queue"),
        csrf_token: str = Form(""),
    ) -> Response:
        target = local_path(next)
        if not sessions.check_login_csrf(request, csrf_token):
            return _login_page(request, target, username, "The login form expired; please try again.", 403)
        policy = users.LoginPolicy(service.config.console.max_failed_logins, service.config.console.lockout_minutes)
        refused = None
        with transaction(service.factory) as session:
            # Catch inside the transaction: a failed attempt must be committed to count towards the lockout.
            try:
                user = users.authenticate(session, username, password, service.clock.now(), policy)
                session.flush()
                session.expunge(user)
            except users.LoginRefused as exc:
                refused = str(exc)
        if refused:
            return _login_page(request, target, username, refused, 401)
        response = RedirectResponse(target, status_code=303)
        sessions.start(request, response, user)
        return response

    def _login_page(request: Request, target: str, username: str, error: str | None, status_code: int) -> Response:
        holder = Response()
        token = sessions.login_token(request, holder)
        response = render(
            request,
            "login.html",
            None,
            status_code=status_code,
            next=target,
            error=error,
            username=username,
            login_csrf=token,
        )
        for key, value in holder.headers.items():
            if key == "set-cookie":
                response.headers.append("set-cookie", value)
        response.headers["cache-control"] = "no-store"
        return response

    @router.post("/logout")
    def logout(request: Request, who: Viewer = Depends(allowed("view"))) -> Response:
        response = RedirectResponse("/login", status_code=303)
        sessions.end(request, response)
        return response

    @router.get("/")
    def home(who: Viewer = Depends(viewer)) -> Response:
        return RedirectResponse("/queue", status_code=303)

    # ---- queue and drafts --------------------------------------------------------------------------------------

    @router.get("/queue")
    def queue_page(
        request: Request,
        platform: str = "",
        level: str = "",
        language: str = "",
        owner: str = "",
        status: str = "pending",
        page: int = Query(1, ge=1),
        draft: int | None = None,
        tag: str = "",
        who: Viewer = Depends(viewer),
    ) -> Response:
        filters = queries.QueueFilters(platform, level, language, owner, status, tag)
        with transaction(service.factory) as session:
            rows = queries.queue(session, filters, page, page_size)
            selected_id = draft if draft is not None else (rows.rows[0].id if rows.rows else None)
            detail = _draft_detail(session, selected_id, who.id) if selected_id else None
            facets = queries.queue_facets(session)
            names = queries.owners(session, {d.case.owner_id for d in rows.rows})
            now = service.clock.now()
            claimed = {d.case_id: case_claims.holder_id(d.case, now) for d in rows.rows}
            here = "/queue?" + urlencode({**filters.as_query(), **({"page": page} if page > 1 else {})})
            return render(
                request,
                "queue.html",
                who,
                nav="queue",
                page=rows,
                filters=filters,
                facets=facets,
                detail=detail,
                selected=selected_id,
                owners=names,
                here=here,
                labels=actions.TRIAGE_LABELS,
                query=filters.as_query(),
                presence=presence.on_drafts(
                    session, [d.id for d in rows.rows], who.id, now, service.config.console.presence_seconds
                ),
                claimers=_claimers(session, claimed),
            )

    def _claimers(session, claimed: dict[int, int | None]) -> dict[int, str]:
        """The name of whoever holds each claimed case, by case id."""
        names = queries.owners(session, set(claimed.values()))
        return {case_id: names[user_id] for case_id, user_id in claimed.items() if user_id in names}

    def _draft_detail(session, draft_id: int, viewer_id: int | None = None) -> dict[str, Any] | None:
        draft = session.get(Draft, draft_id)
        if draft is None:
            return None
        case = queries.load_case(session, draft.case_id)
        if case is None:
            return None
        return {
            "draft": draft,
            "case": case,
            "thread": queries.thread(case),
            "history": queries.customer_history(session, case.customer_id, exclude_case=case.id),
            "owner": queries.owner_name(session, case.owner_id),
            "customer": queries.case_customers(session, {case.customer_id}).get(case.customer_id),
            "failing": [c for c in draft.checks if not c.get("ok")],
            "macros": macros.names(session),
            "others": presence.around_draft(
                session, draft, viewer_id or 0, service.clock.now(), service.config.console.presence_seconds
            ),
            "presence_every": service.config.console.presence_poll_seconds,
            "claimed_by": _claimers(
                session, {draft.case_id: case_claims.holder_id(draft.case, service.clock.now())}
            ).get(draft.case_id),
        }

    def _version(value: str | None) -> int | None:
        """A version number from a form (what the person saw); blank means not checked."""
        value = (value or "").strip()
        if not value:
            return None
        if not value.isdigit():
            raise UserError(f"{value!r} is not a version number")
        return int(value)

    def _refused(request: Request, back: str, draft_id: int, who: Viewer, text: str | None, reason: str) -> Response:
        """The queue again, with the draft open, what changed on top and the person's own text kept (HTTP 409)."""
        target = local_path(back)
        if not target.startswith("/queue"):
            return done(request, _keep(back, draft_id), "error", reason)
        query = dict(parse_qsl(urlsplit(target).query))
        page_number = query.get("page", "1")
        request.state.refused = {"draft_id": draft_id, "text": text, "reason": reason}
        response = queue_page(
            request,
            platform=query.get("platform", ""),
            level=query.get("level", ""),
            language=query.get("language", ""),
            owner=query.get("owner", ""),
            status=query.get("status", "pending"),
            page=int(page_number) if page_number.isdigit() and int(page_number) > 0 else 1,
            draft=draft_id,
            who=who,
        )
        response.status_code = 409
        return response

    @router.post("/drafts/{draft_id}/approve")
    def approve(
        request: Request,
        draft_id: int,
        text: str = Form(None),
        override_reason: str = Form(""),
        back: str = Form("/queue"),
        draft_version: str = Form(""),
        case_version: str = Form(""),
        who: Viewer = Depends(allowed("approve")),
    ) -> Response:
        try:
            sent = actions.approve_and_send(
                service,
                draft_id,
                who.username,
                text,
                override_reason.strip() or None,
                draft_version=_version(draft_version),
                case_version=_version(case_version),
            )
        except approval.StaleDraft as exc:
            return _refused(request, back, draft_id, who, text, str(exc))
        except UserError as exc:
            return done(request, _keep(back, draft_id), "error", str(exc))
        if sent.status == "sent":
            return done(
                request,
                _next(back),
                "ok",
                f"Draft {draft_id} approved and posted as {sent.platform_post_id}; "
                f"case {sent.case_id} is now {sent.case_state}.",
            )
        return done(
            request,
            _next(back),
            "warn",
            f"Draft {draft_id} approved; not posted yet ({sent.status}): {sent.error or 'the daemon will retry'}.",
        )

    @router.post("/drafts/approve")
    async def approve_selected(request: Request, who: Viewer = Depends(allowed("approve"))) -> Response:
        form = await request.form()
        back = str(form.get("back") or "/queue")
        ids = [int(v) for v in form.getlist("draft_ids") if isinstance(v, str) and v.isdigit()]
        if not ids:
            return done(request, back, "warn", "Select at least one draft to approve.")
        # Each row carries the versions of the draft and case it showed ("seen_<id>" = "draft:case:case id").
        seen = {i: str(form.get(f"seen_{i}") or "") for i in ids}
        return await _run_sync(lambda: _bulk(request, ids, back, who, seen))

    def _bulk(request: Request, ids: list[int], back: str, who: Viewer, seen: dict[int, str]) -> Response:
        posted, problems = 0, []
        ours: dict[str, int] = {}  # replies this batch sent, by case: they raised its version, and were seen
        for draft_id in ids:
            draft_seen, _, rest = seen.get(draft_id, "").partition(":")
            case_seen, _, case_id = rest.partition(":")
            try:
                case_version = _version(case_seen)
                sent = actions.approve_and_send(
                    service,
                    draft_id,
                    who.username,
                    draft_version=_version(draft_seen),
                    case_version=None if case_version is None else case_version + ours.get(case_id, 0),
                )
                if sent.status == "sent":
                    ours[str(sent.case_id)] = ours.get(str(sent.case_id), 0) + 1
                posted += sent.status == "sent"
                if sent.status != "sent":
                    problems.append(f"#{draft_id} queued ({sent.status})")
            except UserError as exc:
                problems.append(f"#{draft_id}: {exc}")
        message = f"{posted} of {len(ids)} draft(s) approved and posted."
        return done(
            request,
            _next(back),
            "warn" if problems else "ok",
            message + (" " + " · ".join(problems) if problems else ""),
        )

    @router.post("/drafts/{draft_id}/edit")
    def edit(
        request: Request,
        draft_id: int,
        text: str = Form(""),
        back: str = Form("/queue"),
        draft_version: str = Form(""),
        who: Viewer = Depends(allowed("edit")),
    ) -> Response:
        try:
            with transaction(service.factory) as session:
                actions.save_edit(
                    session,
                    service.config,
                    draft_id,
                    text,
                    who.username,
                    service.clock.now(),
                    draft_version=_version(draft_version),
                )
        except approval.StaleDraft as exc:
            return _refused(request, back, draft_id, who, text, str(exc).replace("was not sent", "was not saved"))
        except UserError as exc:
            return done(request, _keep(back, draft_id), "error", str(exc))
        return done(request, _keep(back, draft_id), "ok", f"Draft {draft_id} saved; it waits for an approver.")

    @router.post("/drafts/{draft_id}/macro")
    def use_macro(
        request: Request,
        draft_id: int,
        name: str = Form(""),
        back: str = Form("/queue"),
        who: Viewer = Depends(allowed("use_macros")),
    ) -> Response:
        try:
            with transaction(service.factory) as session:
                target = macros.apply_macro(
                    session,
                    service.config,
                    service.renderer,
                    draft_id,
                    name,
                    who.username,
                    service.clock.now(),
                    who.can,
                )
                target_id, kind = target.id, target.kind
        except UserError as exc:
            return done(request, _keep(back, draft_id), "error", str(exc))
        if target_id != draft_id:
            message = f"Saved reply {name} resolved the case; its public close, draft {target_id}, holds the reply."
        else:
            message = f"Saved reply {name} inserted into draft {draft_id} ({kind}); check it and approve."
        return done(request, _keep(back, target_id), "ok", message)

    @router.post("/drafts/{draft_id}/reject")
    def reject(
        request: Request,
        draft_id: int,
        reason: str = Form(""),
        back: str = Form("/queue"),
        who: Viewer = Depends(allowed("reject")),
    ) -> Response:
        try:
            with transaction(service.factory) as session:
                approval.reject(session, draft_id, who.username, reason, service.clock.now())
        except UserError as exc:
            return done(request, _keep(back, draft_id), "error", str(exc))
        return done(request, _next(back), "ok", f"Draft {draft_id} rejected.")

    @router.post("/mentions/{mention_id}/triage")
    def correct(
        request: Request,
        mention_id: int,
        head: str = Form(""),
        label: str = Form(""),
        back: str = Form("/queue"),
        who: Viewer = Depends(allowed("triage")),
    ) -> Response:
        try:
            with transaction(service.factory) as session:
                actions.correct_triage(
                    session, mention_id, head, label, who.username, service.clock.now(), service.config
                )
        except UserError as exc:
            return done(request, back, "error", str(exc))
        return done(request, back, "ok", f"Triage corrected: {head} is now {label}; the classifier will learn from it.")

    # ---- cases -------------------------------------------------------------------------------------------------

    @router.get("/cases")
    def cases_page(
        request: Request,
        state: str = "open",
        level: str = "",
        owner: str = "",
        q: str = "",
        page: int = Query(1, ge=1),
        tag: str = "",
        who: Viewer = Depends(viewer),
    ) -> Response:
        with transaction(service.factory) as session:
            rows = queries.cases(session, state, level, owner, q, page, page_size, tag=tag)
            case_tags = queries.case_tags(session, {c.id for c in rows.rows})
            names = queries.owners(session, {c.owner_id for c in rows.rows})
            customers = queries.case_customers(session, {c.customer_id for c in rows.rows})
            facets = queries.queue_facets(session)
            return render(
                request,
                "cases.html",
                who,
                nav="cases",
                page=rows,
                owners=names,
                customers=customers,
                states=("open",) + case_rules.STATES,
                state=state,
                level=level,
                owner=owner,
                q=q,
                tag=tag,
                case_tags=case_tags,
                facets=facets,
                query={
                    k: v for k, v in {"state": state, "level": level, "owner": owner, "q": q, "tag": tag}.items() if v
                },
            )

    @router.get("/cases/{case_id}")
    def case_page(request: Request, case_id: int, who: Viewer = Depends(viewer)) -> Response:
        with transaction(service.factory) as session:
            # Opening the case is reading its notes: the @mentions of the viewer in them leave the inbox.
            notes.read_case(session, session.get_one(User, who.id), case_id, service.clock.now())
        with transaction(service.factory) as session:
            case = queries.load_case(session, case_id)
            if case is None:
                return render(request, "error.html", who, status_code=404, message=f"There is no case {case_id}.")
            return render(
                request,
                "case.html",
                who,
                nav="cases",
                case=case,
                thread=queries.thread_with_notes(case, notes.notes_of(session, case.id)),
                note_max_length=notes.MAX_NOTE_LENGTH,
                owner=queries.owner_name(session, case.owner_id),
                customer=queries.case_customers(session, {case.customer_id}).get(case.customer_id),
                history=queries.customer_history(session, case.customer_id, exclude_case=case.id),
                audit=queries.audit_for_case(session, case),
                alerts=queries.sla_alerts(session, case),
                users=list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))),
                finished=case.state in case_rules.FINISHED,
                here=f"/cases/{case.id}",
                merged_from=queries.merged_into(session, case),
                merge_targets=[] if case.state in case_rules.FINISHED else queries.open_siblings(session, case),
                macro_names=macros.names(session),
                tags=tags.tags_of(session, case.id),
                others=presence.around_case(
                    session, case.id, who.id, service.clock.now(), service.config.console.presence_seconds
                ),
                presence_every=service.config.console.presence_poll_seconds,
                claim_holder=case_claims.holder_id(case, service.clock.now()),
                claimed_by=_claimers(session, {case.id: case_claims.holder_id(case, service.clock.now())}).get(case.id),
            )

    def _case_action(request: Request, case_id: int, message: str, work: Callable[[Any], Any]) -> Response:
        try:
            with transaction(service.factory) as session:
                work(session)
        except UserError as exc:
            return done(request, f"/cases/{case_id}", "error", str(exc))
        return done(request, f"/cases/{case_id}", "ok", message)

    @router.post("/cases/{case_id}/private")
    def case_private(request: Request, case_id: int, who: Viewer = Depends(allowed("case"))) -> Response:
        return _case_action(
            request,
            case_id,
            "Invitation and private opener drafted; they wait for approval.",
            lambda s: actions.move_private(s, service, case_id, who.username, service.clock.now()),
        )

    @router.post("/cases/{case_id}/resolve")
    def case_resolve(
        request: Request, case_id: int, summary: str = Form(""), who: Viewer = Depends(allowed("case"))
    ) -> Response:
        return _case_action(
            request,
            case_id,
            "Case resolved; the public close was drafted and waits for approval.",
            lambda s: case_rules.resolve(
                s, service.config, service.renderer, case_id, who.username, service.clock.now(), summary.strip()
            ),
        )

    @router.post("/cases/{case_id}/reopen")
    def case_reopen(
        request: Request, case_id: int, note: str = Form(""), who: Viewer = Depends(allowed("case"))
    ) -> Response:
        return _case_action(
            request,
            case_id,
            "Case reopened.",
            lambda s: actions.reopen(s, service, case_id, who.username, service.clock.now(), note),
        )

    @router.post("/cases/{case_id}/assign")
    def case_assign(
        request: Request, case_id: int, owner: str = Form(""), who: Viewer = Depends(allowed("case"))
    ) -> Response:
        return _case_action(
            request,
            case_id,
            f"Case assigned to {owner}." if owner else "Case unassigned.",
            lambda s: actions.assign(s, case_id, owner or None, who.username, service.clock.now()),
        )

    @router.post("/cases/{case_id}/merge")
    def case_merge(
        request: Request, case_id: int, into_case_id: int = Form(...), who: Viewer = Depends(allowed("case"))
    ) -> Response:
        try:
            with transaction(service.factory) as session:
                merging.merge_cases(session, service.config, into_case_id, case_id, who.username, service.clock.now())
        except UserError as exc:
            return done(request, f"/cases/{case_id}", "error", str(exc))
        return done(request, f"/cases/{into_case_id}", "ok", f"Case {case_id} merged into this case.")

    @router.post("/mentions/{mention_id}/split")
    def mention_split(
        request: Request, mention_id: int, back: str = Form("/cases"), who: Viewer = Depends(allowed("case"))
    ) -> Response:
        try:
            with transaction(service.factory) as session:
                case = merging.split_message(session, service.config, mention_id, who.username, service.clock.now())
                new_id = case.id
        except UserError as exc:
            return done(request, back, "error", str(exc))
        return done(request, f"/cases/{new_id}", "ok", f"The message was split into this new case {new_id}.")

    # ---- internal notes and the inbox of @mentions (bot/casework/notes.py) -----------------------------------------

    @router.post("/cases/{case_id}/notes")
    def case_note(
        request: Request, case_id: int, text: str = Form(""), who: Viewer = Depends(allowed("note"))
    ) -> Response:
        def work(session):
            notes.add_note(
                session, case_rules.get_case(session, case_id), session.get_one(User, who.id), text, service.clock.now()
            )

        return _case_action(request, case_id, "Note added; it stays inside the team.", work)

    @router.get("/inbox")
    def inbox_page(request: Request, who: Viewer = Depends(viewer)) -> Response:
        with transaction(service.factory) as session:
            items = notes.inbox(session, session.get_one(User, who.id))
            return render(request, "inbox.html", who, nav="inbox", items=items)

    @router.post("/inbox/{mention_id}/read")
    def inbox_read(
        request: Request, mention_id: int, back: str = Form("/inbox"), who: Viewer = Depends(allowed("view"))
    ) -> Response:
        try:
            with transaction(service.factory) as session:
                notes.mark_read(session, session.get_one(User, who.id), mention_id, service.clock.now())
        except UserError as exc:
            return done(request, back, "error", str(exc))
        return done(request, back, "ok", "Marked read.")

    @router.post("/cases/{case_id}/tags")
    def case_tag(
        request: Request, case_id: int, tag: str = Form(""), who: Viewer = Depends(allowed("tag"))
    ) -> Response:
        return _case_action(
            request,
            case_id,
            "Tag added.",
            lambda s: actions.tag_case(s, case_id, tag, who.username, service.clock.now()),
        )

    @router.post("/cases/{case_id}/tags/{tag:path}/remove")
    def case_untag(request: Request, case_id: int, tag: str, who: Viewer = Depends(allowed("tag"))) -> Response:
        return _case_action(
            request,
            case_id,
            f"Tag {tag} removed.",
            lambda s: actions.untag_case(s, case_id, tag, who.username, service.clock.now()),
        )

    @router.post("/mentions/{mention_id}/hide")
    def mention_hide(
        request: Request, mention_id: int, back: str = Form("/queue"), who: Viewer = Depends(allowed("moderate"))
    ) -> Response:
        return _moderate(request, mention_id, True, back, who)

    @router.post("/mentions/{mention_id}/unhide")
    def mention_unhide(
        request: Request, mention_id: int, back: str = Form("/queue"), who: Viewer = Depends(allowed("moderate"))
    ) -> Response:
        return _moderate(request, mention_id, False, back, who)

    def _moderate(request: Request, mention_id: int, hidden: bool, back: str, who: Viewer) -> Response:
        try:
            actions.set_hidden(service, mention_id, hidden, who.username)
        except UserError as exc:
            return done(request, back, "error", str(exc))
        what = "hidden on its platform" if hidden else "shown again on its platform"
        return done(request, back, "ok", f"Message {mention_id} {what}.")

    @router.post("/cases/{case_id}/claim")
    def case_claim(request: Request, case_id: int, who: Viewer = Depends(allowed("case"))) -> Response:
        minutes = service.config.console.claim_minutes
        return _case_action(
            request,
            case_id,
            f"You are on case {case_id} for the next {minutes:g} minutes; others see it.",
            lambda s: case_claims.claim(s, case_id, who.id, service.clock.now(), minutes),
        )

    @router.post("/cases/{case_id}/release")
    def case_release(request: Request, case_id: int, who: Viewer = Depends(allowed("case"))) -> Response:
        return _case_action(
            request,
            case_id,
            f"Case {case_id} released.",
            lambda s: case_claims.release(s, case_id, who.id, service.clock.now()),
        )

    # ---- who else is here ----------------------------------------------------------------------------------------

    @router.post("/presence")
    def presence_beat(
        object_type: str = Form(""),
        object_id: int = Form(0),
        editing: str = Form(""),
        gone: str = Form(""),
        draft_version: str = Form(""),
        case_version: str = Form(""),
        watch: str = Form(""),
        who: Viewer = Depends(allowed("view")),
    ) -> Response:
        """The page's heartbeat: I have this open (editing or not); who else has it, and did it change meanwhile?"""
        now = service.clock.now()
        window = service.config.console.presence_seconds
        watched = [int(v) for v in watch.split(",") if v.strip().isdigit()][:500]
        try:
            presence.check_object(object_type, object_id)
            with transaction(service.factory) as session:
                if gone:
                    presence.leave(session, who.id, object_type, object_id)
                    return JSONResponse({"others": [], "changed": [], "watched": {}})
                if object_type == "draft":
                    draft = approval.get_draft(session, object_id)
                    presence.beat(session, who.id, object_type, object_id, editing in ("1", "true"), now)
                    others = presence.around_draft(session, draft, who.id, now, window)
                    changed = approval.what_changed(
                        session, draft, now, _version(draft_version), _version(case_version)
                    )
                else:
                    case = case_rules.get_case(session, object_id)
                    presence.beat(session, who.id, "case", case.id, editing in ("1", "true"), now)
                    others = presence.around_case(session, case.id, who.id, now, window)
                    seen = _version(case_version)
                    changed = approval.case_changes(case, now, seen) if seen is not None else []
                rows = presence.on_drafts(session, watched, who.id, now, window) if watched else {}
                answer = {
                    "others": [p.as_dict() for p in others],
                    "changed": changed,
                    "watched": {str(k): [p.as_dict() for p in v] for k, v in rows.items()},
                }
        except UserError as exc:
            status = 404 if str(exc).startswith("there is no ") else 400
            return JSONResponse({"detail": str(exc)}, status_code=status)
        # Apart from the heartbeat's own transaction, so that it never waits on another person's row.
        with transaction(service.factory) as session:
            presence.forget_old(session, now, max(window * 10, 600))
        return JSONResponse(answer)

    # ---- customers ---------------------------------------------------------------------------------------------

    @router.get("/customers")
    def customers_page(
        request: Request, q: str = "", page: int = Query(1, ge=1), who: Viewer = Depends(viewer)
    ) -> Response:
        with transaction(service.factory) as session:
            rows = queries.customers(session, q, page, page_size)
            return render(request, "customers.html", who, nav="customers", page=rows, q=q, query={"q": q} if q else {})

    @router.get("/customers/{customer_id}")
    def customer_page(request: Request, customer_id: int, find: str = "", who: Viewer = Depends(viewer)) -> Response:
        with transaction(service.factory) as session:
            view = queries.customer_view(session, customer_id)
            if view is None:
                return render(
                    request, "error.html", who, status_code=404, message=f"There is no customer {customer_id}."
                )
            candidates = queries.find_identities(session, find, customer_id)
            labels = queries.case_customers(session, {i.customer_id for i in candidates})
            return render(
                request,
                "customer.html",
                who,
                nav="customers",
                view=view,
                find=find,
                candidates=candidates,
                candidate_customers=labels,
            )

    @router.post("/customers/{customer_id}/link")
    def customer_link(
        request: Request, customer_id: int, identity_id: int = Form(...), who: Viewer = Depends(allowed("link"))
    ) -> Response:
        try:
            with transaction(service.factory) as session:
                actions.link_identity(session, customer_id, identity_id, who.username, service.clock.now())
        except UserError as exc:
            return done(request, f"/customers/{customer_id}", "error", str(exc))
        return done(request, f"/customers/{customer_id}", "ok", f"Identity {identity_id} linked to this customer.")

    # ---- KPIs --------------------------------------------------------------------------------------------------

    def _period(days: int | None, start: str, end: str) -> kpis.Period:
        if start and end:
            try:
                return kpis.Period.between(date.fromisoformat(start), date.fromisoformat(end))
            except ValueError:
                pass
        return kpis.Period.last_days(service.clock.now(), days or service.config.console.kpi_days)

    def refresh_rollup() -> None:
        with transaction(service.factory) as session:
            kpis.refresh_volume(session, service.clock.now())

    @router.get("/kpis")
    def kpis_page(
        request: Request,
        days: int | None = Query(None, ge=1, le=366),
        start: str = "",
        end: str = "",
        who: Viewer = Depends(viewer),
    ) -> Response:
        period = _period(days, start, end)
        now = service.clock.now()
        refresh_rollup()
        with transaction(service.factory) as session:
            volume = kpis.volume_per_day(session, period)
            summary = kpis.summary(session, period, now)
            topics = kpis.top_topics(
                session,
                period,
                sample=service.config.console.topics_sample,
                ignore=[h.lstrip("@") for h in service.config.brand.handles] + [service.config.brand.name],
            )
            by_tag = kpis.cases_by_tag(session, period)
        day_list = period.days()
        charts = {d: stacked_bars(d, f"Mentions per day by {d}", day_list, volume[d]) for d in kpis.DIMENSIONS}
        return render(
            request,
            "kpis.html",
            who,
            nav="kpis",
            period=period,
            summary=summary,
            charts=charts,
            topics=topics,
            by_tag=by_tag,
            meters={
                "sla_first": meter("sla_first", summary.sla_first_response),
                "sla_resolution": meter("sla_resolution", summary.sla_resolution),
                "public_closed": meter("public_closed", summary.public_closed_share),
            },
            days=days or (None if start and end else service.config.console.kpi_days),
            start=period.start.date().isoformat(),
            end=day_list[-1] if day_list else "",
        )

    @router.get("/kpis.csv")
    def kpis_csv(
        request: Request,
        table: str = "volume",
        days: int | None = Query(None, ge=1, le=366),
        start: str = "",
        end: str = "",
        who: Viewer = Depends(viewer),
    ) -> Response:
        period = _period(days, start, end)
        refresh_rollup()
        with transaction(service.factory) as session:
            body = (
                kpis.summary_csv(session, period, service.clock.now())
                if table == "summary"
                else kpis.volume_csv(session, period)
            )
        name = f"kpis-{'summary' if table == 'summary' else 'volume'}-{period.start:%Y%m%d}.csv"
        return PlainTextResponse(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    # ---- saved replies (macros) -------------------------------------------------------------------------------

    def _macros_page(
        request: Request, who: Viewer, status_code: int = 200, form: dict[str, Any] | None = None
    ) -> Response:
        with transaction(service.factory) as session:
            rows = macros.list_macros(session)
            people = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))
            return render(
                request,
                "macros.html",
                who,
                status_code=status_code,
                nav="macros",
                macros=rows,
                users=people,
                languages=service.config.brand.languages,
                variables=macros.variable_names(
                    macros.sample_context(service.config, service.config.brand.default_language)
                ),
                form=form or {},
            )

    def _macro_form(name: str, language: str, text: str, tags: str, assign: str, resolve: str) -> dict[str, Any]:
        """A saved reply's fields as the form sends them: tags separated by commas, resolve a checkbox."""
        actions: dict[str, Any] = {}
        if tags.strip():
            actions["tags"] = [t for t in (part.strip() for part in tags.split(",")) if t]
        if assign.strip():
            actions["assign"] = assign.strip()
        if resolve:
            actions["resolve"] = True
        return {"name": name, "language": language, "text": text, "actions": actions}

    def _macro_action(
        request: Request, who: Viewer, fields: dict[str, Any], message: str, work: Callable[[Any], Any], editing=None
    ) -> Response:
        try:
            with transaction(service.factory) as session:
                work(session)
        except UserError as exc:
            # The page again with what was typed, so a long text survives a mistake.
            return _macros_page(request, who, 400, {**fields, "error": str(exc), "editing": editing})
        return done(request, "/macros", "ok", message)

    @router.get("/macros")
    def macros_page(request: Request, who: Viewer = Depends(allowed("manage_macros"))) -> Response:
        return _macros_page(request, who)

    @router.post("/macros")
    def macros_create(
        request: Request,
        name: str = Form(""),
        language: str = Form(""),
        text: str = Form(""),
        tags: str = Form(""),
        assign: str = Form(""),
        resolve: str = Form(""),
        who: Viewer = Depends(allowed("manage_macros")),
    ) -> Response:
        fields = _macro_form(name, language, text, tags, assign, resolve)
        return _macro_action(
            request,
            who,
            fields,
            f"Saved reply {name.strip().lower()} ({language}) created.",
            lambda s: macros.create(
                s, service.config, service.renderer, **fields, actor=who.username, now=service.clock.now()
            ),
        )

    @router.post("/macros/{macro_id}")
    def macros_update(
        request: Request,
        macro_id: int,
        name: str = Form(""),
        language: str = Form(""),
        text: str = Form(""),
        tags: str = Form(""),
        assign: str = Form(""),
        resolve: str = Form(""),
        who: Viewer = Depends(allowed("manage_macros")),
    ) -> Response:
        fields = _macro_form(name, language, text, tags, assign, resolve)
        return _macro_action(
            request,
            who,
            fields,
            f"Saved reply {name.strip().lower()} ({language}) saved.",
            lambda s: macros.update(
                s, service.config, service.renderer, macro_id, **fields, actor=who.username, now=service.clock.now()
            ),
            editing=macro_id,
        )

    @router.post("/macros/{macro_id}/delete")
    def macros_delete(request: Request, macro_id: int, who: Viewer = Depends(allowed("manage_macros"))) -> Response:
        try:
            with transaction(service.factory) as session:
                macros.delete(session, macro_id, who.username, service.clock.now())
        except UserError as exc:
            return done(request, "/macros", "error", str(exc))
        return done(request, "/macros", "ok", f"Saved reply {macro_id} deleted.")

    # ---- accounts, users, audit, settings ----------------------------------------------------------------------

    @router.get("/accounts")
    def accounts_page(request: Request, who: Viewer = Depends(viewer)) -> Response:
        report = collect(service)
        return render(request, "accounts.html", who, nav="accounts", report=report)

    @router.get("/users")
    def users_page(
        request: Request, token_for: int | None = None, who: Viewer = Depends(allowed("manage_users"))
    ) -> Response:
        with transaction(service.factory) as session:
            rows = list(session.scalars(select(User).order_by(User.username)))
            return render(
                request,
                "users.html",
                who,
                nav="users",
                users=rows,
                roles=users.ROLES,
                permissions=users.PERMISSIONS,
                new_token=None,
            )

    def _user_action(request: Request, message: str, work: Callable[[Any], Any], back: str = "/users") -> Response:
        try:
            with transaction(service.factory) as session:
                work(session)
        except UserError as exc:
            return done(request, back, "error", str(exc))
        return done(request, back, "ok", message)

    @router.post("/users")
    def users_create(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        role: str = Form("agent"),
        display_name: str = Form(""),
        who: Viewer = Depends(allowed("manage_users")),
    ) -> Response:
        return _user_action(
            request,
            f"User {username} created as {role}.",
            lambda s: users.create_user(
                s, username, password, role, service.clock.now(), who.username, display_name.strip() or None
            ),
        )

    @router.post("/users/{user_id}")
    def users_update(
        request: Request,
        user_id: int,
        role: str = Form(""),
        active: str = Form(""),
        password: str = Form(""),
        on_shift: str = Form(""),
        capacity: str = Form(""),
        who: Viewer = Depends(allowed("manage_users")),
    ) -> Response:
        def work(session):
            user = session.get(User, user_id)
            if user is None:
                raise UserError(f"there is no user {user_id}")
            users.update_user(
                session,
                user,
                service.clock.now(),
                who.username,
                role=role or None,
                active=None if active == "" else active == "true",
            )
            _shift_and_capacity(session, user, on_shift, capacity, who.username)
            if password:
                users.set_password(session, user, password, service.clock.now(), who.username)

        response = _user_action(request, "User updated.", work)
        if active == "false" or password:
            sessions.end_all_for(user_id)
        return response

    def _shift_and_capacity(session, user: User, on_shift: str, capacity: str, actor: str) -> None:
        """Who takes new cases (bot/service_levels/assignment.py): on shift or not, and how many open cases at most."""
        changes: dict[str, Any] = {}
        if on_shift in ("true", "false") and (on_shift == "true") != user.on_shift:
            changes["on_shift"] = on_shift == "true"
        if capacity.strip():
            if not capacity.strip().isdigit():
                raise UserError("capacity is a whole number of open cases")
            if int(capacity) != user.capacity:
                changes["capacity"] = int(capacity)
        if not changes:
            return

        if "on_shift" in changes:
            assignment.set_on_shift(session, user.username, changes["on_shift"])
        if "capacity" in changes:
            assignment.set_capacity(session, user.username, changes["capacity"])
        audit.record(session, service.clock.now(), actor, "user_update", "user", user.id, **changes)

    @router.get("/me")
    def me_page(request: Request, who: Viewer = Depends(viewer)) -> Response:
        return render(
            request, "me.html", who, nav="me", new_token=None, permissions=sorted(users.PERMISSIONS[who.role])
        )

    @router.post("/me/token")
    def me_token(request: Request, who: Viewer = Depends(allowed("view"))) -> Response:
        with transaction(service.factory) as session:
            user = session.get_one(User, who.id)
            token = users.issue_api_token(session, user, service.clock.now(), who.username)
        response = render(
            request, "me.html", who, nav="me", new_token=token, permissions=sorted(users.PERMISSIONS[who.role])
        )
        response.headers["cache-control"] = "no-store"
        return response

    @router.post("/me/password")
    def me_password(
        request: Request, current: str = Form(""), password: str = Form(""), who: Viewer = Depends(allowed("view"))
    ) -> Response:
        def work(session):
            user = session.get(User, who.id)
            if not users._verify(user.password_hash or "", current):
                raise UserError("the current password is wrong")
            users.set_password(session, user, password, service.clock.now(), who.username)

        return _user_action(request, "Password changed.", work, back="/me")

    # ---- incidents (spikes in the stream: docs/early_warning.md) ------------------------------------------------

    @router.get("/incidents")
    def incidents_page(request: Request, who: Viewer = Depends(viewer)) -> Response:
        with transaction(service.factory) as session:
            rows = list(session.scalars(select(Incident).order_by(Incident.started_at.desc()).limit(page_size)))
            listed = [{"incident": i, "cases": len(i.cases), "line": incident_summary.line(i)} for i in rows]
            return render(request, "incidents.html", who, nav="incidents", incidents=listed)

    @router.get("/incidents/{incident_id}")
    def incident_page(request: Request, incident_id: int, who: Viewer = Depends(viewer)) -> Response:
        with transaction(service.factory) as session:
            incident = session.get(Incident, incident_id)
            if incident is None:
                return render(request, "error.html", who, status_code=404, message=f"No incident {incident_id}.")
            labels, series = incident_summary.timeline(session, service.config, incident, service.clock.now())
            links = list(incident.cases)
            grouped = actions_for(service.config, incident.severity).group
            pending = [d for link in links for d in link.case.drafts if d.status == "pending" and grouped]
            return render(
                request,
                "incident.html",
                who,
                nav="incidents",
                incident=incident,
                line=incident_summary.line(incident),
                chart=stacked_bars("incident", f"Mentions per bucket around incident {incident.id}", labels, series),
                links=links,
                pending=pending,
                grouped=grouped,
            )

    @router.get("/audit")
    def audit_page(
        request: Request,
        actor: str = "",
        action: str = "",
        object_type: str = "",
        object_id: int | None = None,
        page: int = Query(1, ge=1),
        who: Viewer = Depends(viewer),
    ) -> Response:
        with transaction(service.factory) as session:
            rows = queries.audit_log(session, actor, action, object_type, object_id, page, page_size)
            query = {
                k: v
                for k, v in {
                    "actor": actor,
                    "action": action,
                    "object_type": object_type,
                    "object_id": object_id,
                }.items()
                if v not in ("", None)
            }
            return render(
                request,
                "audit.html",
                who,
                nav="audit",
                page=rows,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                query=query,
            )

    @router.get("/settings")
    def settings_page(request: Request, who: Viewer = Depends(allowed("settings"))) -> Response:
        text = yaml.safe_dump(service.config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        return render(
            request, "settings.html", who, nav="settings", config_text=text, rules=_rules_shown(service.config)
        )

    return router


def _rules_shown(config) -> list[dict[str, Any]]:
    """The rules of the config as the settings page lists them: each condition and action with its value in words."""

    def words(value: Any) -> str:
        if value is True:
            return ""  # an action that is on (hide, spam) needs no value
        if isinstance(value, dict):
            return "; ".join(f"{k} = {words(v)}" for k, v in value.items())
        if isinstance(value, list):
            return " or ".join(str(v) for v in value)
        return str(value)

    return [
        {
            "name": rule.name,
            "when": [(k.replace("_", " "), words(v)) for k, v in rule.when.model_dump(exclude_defaults=True).items()],
            "then": [(k.replace("_", " "), words(v)) for k, v in rule.then.model_dump(exclude_defaults=True).items()],
        }
        for rule in config.rules
    ]


def _keep(back: str, draft_id: int) -> str:
    """Back to the queue with the same draft open (after an error or an edit)."""
    back = local_path(back)
    if not back.startswith("/queue"):
        return back
    base, _, query = back.partition("?")
    parts = [p for p in query.split("&") if p and not p.startswith("draft=")]
    return base + "?" + "&".join(parts + [f"draft={draft_id}"])


def _next(back: str) -> str:
    """Back to the queue with the next draft on top (the decided one has left it)."""
    back = local_path(back)
    if not back.startswith("/queue"):
        return back
    base, _, query = back.partition("?")
    parts = [p for p in query.split("&") if p and not p.startswith("draft=")]
    return base + ("?" + "&".join(parts) if parts else "")


async def _run_sync(work: Callable[[], Response]) -> Response:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(work)
