"""The JSON API (token auth) for the console's actions, so a CRM or ticketing system can integrate."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import select

from bot.casework import approval, case_claims, macros, merging, notes
from bot.casework import cases as case_rules
from bot.console import actions, queries
from bot.console.auth import Viewer, bearer_viewer
from bot.early_warning import summary as incident_summary
from bot.errors import UserError
from bot.runtime.status_report import collect
from bot.service_levels import kpis
from bot.storage.db import transaction
from bot.storage.models import Case, CaseNote, Draft, Incident, Macro, Mention, User
from bot.storage.users import PERMISSIONS


def _utc(moment: datetime) -> datetime:
    """A stored (naive UTC) time marked as UTC, so the API writes it with its offset as RFC 3339 asks."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# Ids a client sends are bounded by what a PostgreSQL integer holds: a larger one is refused (422), not sent to the database.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id")]
MAX_PAGE = 100_000

# Every time the API returns: the database keeps naive UTC, the schema's date-time format needs the offset.
Timestamp = Annotated[datetime, AfterValidator(_utc)]

bearer = HTTPBearer(auto_error=False, description="An API token from the console's 'My account' page.")


class ErrorOut(BaseModel):
    """Why a request was refused."""

    detail: str


class TriageOut(BaseModel):
    """The classifier's decision about a mention and its reasons."""

    language: str
    category: str
    sentiment: str
    needs_response: bool
    mode: str
    level: str
    priority: float
    confidence: float
    low_confidence: bool
    reasons: list[Any]


class MentionOut(BaseModel):
    """A customer's message."""

    id: int
    platform: str
    platform_id: str
    channel: str
    author: str | None
    text: str
    created_at: Timestamp
    url: str | None
    triage: TriageOut | None
    hidden_at: Timestamp | None = Field(None, description="When it was hidden on its platform (null: shown)")
    hidden_by: str | None = Field(None, description="Who hid it: a username, or rule:<name>")


class DraftOut(BaseModel):
    """A reply and its state."""

    id: int
    case_id: int
    kind: str
    channel: str
    language: str
    status: str
    priority: float
    text: str
    original_text: str
    checks: list[dict[str, Any]]
    policy: dict[str, Any]
    low_confidence: bool
    eta_minutes: int | None
    decided_by: str | None
    decided_at: Timestamp | None
    reject_reason: str | None
    mention: MentionOut | None
    version: int = Field(0, description="Raised at every edit of the text; send it back when approving")
    case_version: int = Field(0, description="The case's version: raised by every message in its thread")


class DraftList(BaseModel):
    """A page of drafts."""

    total: int
    total_capped: bool = False  # True when more than `total` drafts wait: counting stops at 10,000
    drafts: list[DraftOut]


class EventOut(BaseModel):
    """A change in a case's history."""

    at: Timestamp
    actor: str
    from_state: str | None
    to_state: str
    note: str | None


class CaseOut(BaseModel):
    """A case with its clocks."""

    id: int
    platform: str
    state: str
    level: str
    category: str | None
    language: str | None
    priority: float
    customer_id: int
    owner: str | None
    opened_at: Timestamp
    first_response_due_at: Timestamp | None
    first_response_at: Timestamp | None
    resolution_due_at: Timestamp | None
    resolved_at: Timestamp | None
    closed_at: Timestamp | None
    merged_into_id: int | None = Field(None, description="the case this one was merged into (its thread is there)")
    tags: list[str] = Field(default_factory=list, description="The case's tags, alphabetical")
    version: int = Field(0, description="Raised by every message in the thread, the customer's or the brand's")
    claimed_by: str | None = Field(None, description='Who said "I\'m on it", while the claim runs')
    claimed_until: Timestamp | None = None


class NoteOut(BaseModel):
    """An internal note on a case: for the team only, never sent."""

    id: int
    case_id: int
    author: str
    text: str
    created_at: Timestamp
    mentioned: list[str] = Field(description="the users it @mentions (their inbox shows it)")


class NoteIn(BaseModel):
    """An internal note's text; @name puts it in that user's inbox."""

    text: str = Field(description=f"1 to {notes.MAX_NOTE_LENGTH:,} characters")


class InboxItemOut(BaseModel):
    """A note that @mentions the caller."""

    id: int
    case_id: int
    case_state: str
    unread: bool
    read_at: Timestamp | None
    note: NoteOut


class InboxOut(BaseModel):
    """The caller's @mentions, unread first."""

    unread: int
    items: list[InboxItemOut]


class CaseDetail(CaseOut):
    """A case with its thread, drafts, internal notes and history."""

    mentions: list[MentionOut]
    drafts: list[DraftOut]
    events: list[EventOut]
    notes: list[NoteOut] = []


class CaseList(BaseModel):
    """A page of cases."""

    total: int
    cases: list[CaseOut]


class IdentityOut(BaseModel):
    """One platform identity of a customer."""

    id: int
    platform: str
    platform_user_id: str
    handle: str | None
    name: str | None
    followers: int | None


class CustomerOut(BaseModel):
    """A customer's identities and cases."""

    id: int
    display_name: str | None
    owner: str | None
    identities: list[IdentityOut]
    cases: list[CaseOut]


class SentOut(BaseModel):
    """The outcome of an approval: posted, or queued with the reason."""

    draft_id: int
    status: str = Field(description="sent, queued, unknown, failed or blocked")
    platform_post_id: str | None
    error: str | None
    case_id: int
    case_state: str


class ApproveIn(BaseModel):
    """Approve a draft, optionally with new text (an edit) and a reason to override failing checks."""

    text: str | None = None
    override_reason: str | None = None
    draft_version: int | None = Field(
        None,
        ge=0,
        le=MAX_ID,
        description="The draft's `version` you read; 409 if it was edited since (send it: null skips the check)",
    )
    case_version: int | None = Field(
        None, ge=0, le=MAX_ID, description="The draft's `case_version` you read; 409 if the thread got a message since"
    )


class EditIn(BaseModel):
    """New text for a pending draft, without approving it."""

    text: str
    draft_version: int | None = Field(
        None, ge=0, le=MAX_ID, description="The draft's `version` you edited; 409 if edited since"
    )


class RejectIn(BaseModel):
    """Why a draft is rejected."""

    reason: str


class ResolveIn(BaseModel):
    """What was agreed, summed up in the public close."""

    summary: str = ""


class ReopenIn(BaseModel):
    """Why a case is reopened."""

    note: str = ""


class AssignIn(BaseModel):
    """Who owns the case now; null to unassign."""

    owner: str | None = None


class MergeIn(BaseModel):
    """The case to merge into the one named in the path (it is kept, closed as merged)."""

    other_case_id: int = Field(ge=1, le=MAX_ID)


class TagIn(BaseModel):
    """A tag to put on a case (letters, digits, spaces and - _ : . /; stored in lower case)."""

    tag: str = Field(max_length=200)


class LinkIn(BaseModel):
    """The identity to link to the customer."""

    identity_id: int = Field(ge=1, le=MAX_ID)


class CorrectionIn(BaseModel):
    """A corrected triage field."""

    head: str = Field(description="category, sentiment, level, mode or needs_response")
    label: str


class MacroIn(BaseModel):
    """A saved reply: its name, language, text (Jinja2, the reply templates' variables) and actions."""

    name: str
    language: str
    text: str
    actions: dict[str, Any] = Field(
        default_factory=dict, description='{"tags": ["billing"], "assign": "maria", "resolve": true}, each optional'
    )


class MacroOut(MacroIn):
    """A saved reply and who wrote and last changed it."""

    id: int
    created_by: str
    created_at: Timestamp
    updated_by: str
    updated_at: Timestamp


class MacroUseIn(BaseModel):
    """The saved reply to put into a draft (in the reply's language, else the brand's default)."""

    name: str


class DurationsOut(BaseModel):
    """Median and 90th percentile, in seconds."""

    count: int
    median: float | None
    p90: float | None


class KpisOut(BaseModel):
    """The headline KPIs and the volume of a period."""

    start: str
    end: str
    mentions: int
    cases: int
    first_response: DurationsOut
    resolution: DurationsOut
    sla_first_response: float | None
    sla_resolution: float | None
    public_closed_share: float | None
    volume: dict[str, dict[str, dict[str, int]]]
    topics: list[dict[str, Any]]
    tags: dict[str, int] = Field(default_factory=dict, description="Cases opened in the period per tag")


class MeOut(BaseModel):
    """Who the token belongs to and what they may do."""

    username: str
    role: str
    permissions: list[str]


def triage_out(mention: Mention) -> TriageOut | None:
    """The API's view of a triage result."""
    t = mention.triage
    if t is None:
        return None
    return TriageOut(
        language=t.language,
        category=t.category,
        sentiment=t.sentiment,
        needs_response=t.needs_response,
        mode=t.mode,
        level=t.level,
        priority=t.priority,
        confidence=t.confidence,
        low_confidence=t.low_confidence,
        reasons=list(t.reasons or []),
    )


def mention_out(mention: Mention | None) -> MentionOut | None:
    """The API's view of a mention."""
    if mention is None:
        return None
    identity = mention.identity
    author = (identity.handle or identity.name or identity.platform_user_id) if identity else None
    return MentionOut(
        id=mention.id,
        platform=mention.platform,
        platform_id=mention.platform_id,
        channel=mention.channel,
        author=author,
        text=mention.text,
        created_at=mention.created_at,
        url=mention.url,
        triage=triage_out(mention),
        hidden_at=mention.hidden_at,
        hidden_by=mention.hidden_by,
    )


def draft_out(draft: Draft) -> DraftOut:
    """The API's view of a draft."""
    return DraftOut(
        id=draft.id,
        case_id=draft.case_id,
        kind=draft.kind,
        channel=draft.channel,
        language=draft.language,
        status=draft.status,
        priority=draft.priority,
        text=draft.text,
        original_text=draft.original_text,
        checks=list(draft.checks or []),
        policy=dict(draft.policy or {}),
        low_confidence=draft.low_confidence,
        eta_minutes=draft.eta_minutes,
        decided_by=draft.decided_by,
        decided_at=draft.decided_at,
        reject_reason=draft.reject_reason,
        mention=mention_out(draft.mention),
        version=draft.version or 0,
        case_version=draft.case.version or 0,
    )


def note_out(note: CaseNote) -> NoteOut:
    """The API's view of an internal note."""
    return NoteOut(
        id=note.id,
        case_id=note.case_id,
        author=note.author,
        text=note.text,
        created_at=note.created_at,
        mentioned=[m.user.username for m in note.mentioned],
    )


def inbox_item_out(item: notes.InboxItem) -> InboxItemOut:
    """The API's view of one @mention in a user's inbox."""
    return InboxItemOut(
        id=item.mention.id,
        case_id=item.case.id,
        case_state=item.case.state,
        unread=item.unread,
        read_at=item.mention.read_at,
        note=note_out(item.note),
    )


def macro_out(macro: Macro) -> MacroOut:
    """The API's view of a saved reply."""
    return MacroOut(
        id=macro.id,
        name=macro.name,
        language=macro.language,
        text=macro.text,
        actions=dict(macro.actions or {}),
        created_by=macro.created_by,
        created_at=macro.created_at,
        updated_by=macro.updated_by,
        updated_at=macro.updated_at,
    )


def case_out(
    case: Case, owners: dict[int, str], tags: dict[int, list[str]] | None = None, now: datetime | None = None
) -> CaseOut:
    """The API's view of a case (its claim shows when `now` is given and the claimant is among `owners`)."""
    holder = case_claims.holder_id(case, now) if now is not None else None
    return CaseOut(
        id=case.id,
        platform=case.platform,
        state=case.state,
        level=case.level,
        category=case.category,
        language=case.language,
        priority=case.priority,
        customer_id=case.customer_id,
        owner=owners.get(case.owner_id) if case.owner_id else None,
        opened_at=case.opened_at,
        first_response_due_at=case.first_response_due_at,
        first_response_at=case.first_response_at,
        resolution_due_at=case.resolution_due_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        merged_into_id=case.merged_into_id,
        tags=(tags or {}).get(case.id, []),
        version=case.version or 0,
        claimed_by=owners.get(holder) if holder else None,
        claimed_until=case.claimed_until if holder else None,
    )


class IncidentOut(BaseModel):
    """A spike in the stream (docs/early_warning.md): its topic, the metric that rose, when, and its cases."""

    id: int
    brand: str
    topic: str = Field(description="named by its top words")
    metric: str = Field(description="volume, negative, outage, churn_risk or spam")
    severity: str
    state: str = Field(description="open or ended")
    summary: str
    started_at: Timestamp
    detected_at: Timestamp
    peak_at: Timestamp
    peak_value: float
    baseline: float = Field(description="what is usual for that hour of the week")
    ended_at: Timestamp | None
    examples: list[dict[str, Any]]
    case_ids: list[int]


def incident_out(incident: Incident) -> IncidentOut:
    """The API's view of an incident."""
    return IncidentOut(
        id=incident.id,
        brand=incident.brand,
        topic=incident.topic_name,
        metric=incident.metric,
        severity=incident.severity,
        state=incident.state,
        summary=incident_summary.line(incident),
        started_at=incident.started_at,
        detected_at=incident.detected_at,
        peak_at=incident.peak_at,
        peak_value=incident.peak_value,
        baseline=incident.baseline,
        ended_at=incident.ended_at,
        examples=list(incident.examples or []),
        case_ids=[link.case_id for link in incident.cases],
    )


def _nul_in(value: Any) -> bool:
    """True when a decoded JSON value holds a NUL character anywhere (a key, a string, nested)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_nul_in(k) or _nul_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_nul_in(v) for v in value)
    return False


async def refuse_nul(request: Request) -> None:
    """Refuse a NUL character in any parameter or body text (422): no database column can store it."""
    problems = [
        {"type": "value_error", "loc": ["query", name], "msg": "a NUL character is not allowed", "input": value}
        for name, value in request.query_params.multi_items()
        if "\x00" in value
    ] + [
        {"type": "value_error", "loc": ["path", name], "msg": "a NUL character is not allowed", "input": value}
        for name, value in request.path_params.items()
        if isinstance(value, str) and "\x00" in value
    ]
    body = await request.body()
    if b"\\u0000" in body or b"\x00" in body:
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None  # not JSON: FastAPI's own validation answers
        if decoded is None or _nul_in(decoded):
            problems.append({"type": "value_error", "loc": ["body"], "msg": "a NUL character is not allowed"})
    if problems:
        raise RequestValidationError(problems)


REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No or an invalid API token"},
    403: {"model": ErrorOut, "description": "The token's role does not allow this"},
    # The console answers every invalid request with one sentence naming what is wrong, not FastAPI's error list.
    422: {"model": ErrorOut, "description": "A parameter or the body is invalid (the message names it)"},
}
FAILS: dict[int | str, dict[str, Any]] = {
    **REFUSALS,
    400: {"model": ErrorOut, "description": "The action is not possible (the message says why)"},
    404: {"model": ErrorOut, "description": "No such object"},
}
STALE = {
    **FAILS,
    409: {
        "model": ErrorOut,
        "description": "The draft or its thread changed since you read it (the message says what)",
    },
}
CLAIMS = {**FAILS, 409: {"model": ErrorOut, "description": "Someone else holds the claim (the message says who)"}}


def build_api(service) -> APIRouter:
    """The /api/v1 routes, bound to a service."""
    router = APIRouter(prefix="/api/v1", tags=["api"])
    now = service.clock.now

    def caller(permission: str) -> Callable[..., Awaitable[Viewer]]:
        async def check(
            request: Request, _credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
        ) -> Viewer:
            found = bearer_viewer(service, request)
            if found is None:
                raise HTTPException(401, "missing or invalid API token", headers={"www-authenticate": "Bearer"})
            if not found.can(permission):
                raise HTTPException(403, f"a {found.role} cannot do this (it needs the '{permission}' permission)")
            await refuse_nul(request)  # after the token: a request without one is told 401 first
            return found

        return check

    def act(work: Callable[[Any], Any]) -> Any:
        try:
            with transaction(service.factory) as session:
                return work(session)
        except (approval.StaleDraft, case_claims.ClaimRefused) as exc:
            raise HTTPException(409, str(exc)) from None
        except UserError as exc:
            status = 404 if str(exc).startswith("there is no ") else 400
            raise HTTPException(status, str(exc)) from None

    @router.get("/me", response_model=MeOut, responses=REFUSALS, summary="Who this token belongs to")
    def me(who: Viewer = Depends(caller("view"))) -> MeOut:
        return MeOut(username=who.username, role=who.role, permissions=sorted(PERMISSIONS[who.role]))

    @router.get("/drafts", response_model=DraftList, responses=REFUSALS, summary="The approval queue")
    def list_drafts(
        status: str = Query("pending", pattern="^(pending|blocked)$"),
        platform: str = "",
        level: str = "",
        language: str = "",
        owner: str = "",
        tag: str = "",
        limit: int = Query(50, ge=1, le=500),
        page: int = Query(1, ge=1, le=MAX_PAGE),
        who: Viewer = Depends(caller("view")),
    ) -> DraftList:
        filters = queries.QueueFilters(platform, level, language, owner, status, tag)
        with transaction(service.factory) as session:
            rows = queries.queue(session, filters, page, limit)
            return DraftList(total=rows.total, total_capped=rows.capped, drafts=[draft_out(d) for d in rows.rows])

    @router.get("/drafts/{draft_id}", response_model=DraftOut, responses=FAILS, summary="One draft")
    def get_draft(draft_id: RowId, who: Viewer = Depends(caller("view"))) -> DraftOut:
        return act(lambda s: draft_out(approval.get_draft(s, draft_id)))

    @router.post(
        "/drafts/{draft_id}/approve",
        response_model=SentOut,
        responses=STALE,
        summary="Approve (and edit) a draft and send it",
    )
    def approve(draft_id: RowId, body: ApproveIn, who: Viewer = Depends(caller("approve"))) -> SentOut:
        try:
            sent = actions.approve_and_send(
                service,
                draft_id,
                who.username,
                body.text,
                body.override_reason,
                draft_version=body.draft_version,
                case_version=body.case_version,
            )
        except approval.StaleDraft as exc:
            raise HTTPException(409, str(exc)) from None
        except UserError as exc:
            raise HTTPException(404 if str(exc).startswith("there is no ") else 400, str(exc)) from None
        return SentOut(**sent.__dict__)

    @router.post(
        "/drafts/{draft_id}/edit",
        response_model=DraftOut,
        responses=STALE,
        summary="Change a pending draft's text without approving it",
    )
    def edit(draft_id: RowId, body: EditIn, who: Viewer = Depends(caller("edit"))) -> DraftOut:
        return act(
            lambda s: draft_out(
                actions.save_edit(
                    s, service.config, draft_id, body.text, who.username, now(), draft_version=body.draft_version
                )
            )
        )

    @router.post("/drafts/{draft_id}/reject", response_model=DraftOut, responses=FAILS, summary="Reject a draft")
    def reject(draft_id: RowId, body: RejectIn, who: Viewer = Depends(caller("reject"))) -> DraftOut:
        return act(lambda s: draft_out(approval.reject(s, draft_id, who.username, body.reason, now())))

    @router.post(
        "/drafts/{draft_id}/macro",
        response_model=DraftOut,
        responses=FAILS,
        summary="Put a saved reply into a pending draft and run its actions; returns the draft holding the text",
    )
    def use_macro(draft_id: RowId, body: MacroUseIn, who: Viewer = Depends(caller("use_macros"))) -> DraftOut:
        return act(
            lambda s: draft_out(
                macros.apply_macro(
                    s, service.config, service.renderer, draft_id, body.name, who.username, now(), who.can
                )
            )
        )

    @router.get("/macros", response_model=list[MacroOut], responses=REFUSALS, summary="The saved replies")
    def list_macros(who: Viewer = Depends(caller("use_macros"))) -> list[MacroOut]:
        with transaction(service.factory) as session:
            return [macro_out(m) for m in macros.list_macros(session)]

    @router.post("/macros", response_model=MacroOut, status_code=201, responses=FAILS, summary="Save a reply")
    def create_macro(body: MacroIn, who: Viewer = Depends(caller("manage_macros"))) -> MacroOut:
        return act(
            lambda s: macro_out(
                macros.create(
                    s,
                    service.config,
                    service.renderer,
                    body.name,
                    body.language,
                    body.text,
                    body.actions,
                    who.username,
                    now(),
                )
            )
        )

    @router.put("/macros/{macro_id}", response_model=MacroOut, responses=FAILS, summary="Change a saved reply")
    def update_macro(macro_id: RowId, body: MacroIn, who: Viewer = Depends(caller("manage_macros"))) -> MacroOut:
        return act(
            lambda s: macro_out(
                macros.update(
                    s,
                    service.config,
                    service.renderer,
                    macro_id,
                    body.name,
                    body.language,
                    body.text,
                    body.actions,
                    who.username,
                    now(),
                )
            )
        )

    @router.delete("/macros/{macro_id}", status_code=204, responses=FAILS, summary="Delete a saved reply")
    def delete_macro(macro_id: RowId, who: Viewer = Depends(caller("manage_macros"))) -> None:
        act(lambda s: macros.delete(s, macro_id, who.username, now()))

    @router.post(
        "/mentions/{mention_id}/triage",
        response_model=MentionOut,
        responses=FAILS,
        summary="Correct a triage field (the classifier learns from it)",
    )
    def correct(mention_id: RowId, body: CorrectionIn, who: Viewer = Depends(caller("triage"))) -> MentionOut:
        def work(session):
            actions.correct_triage(session, mention_id, body.head, body.label, who.username, now(), service.config)
            return mention_out(session.get(Mention, mention_id))

        return act(work)

    @router.get("/cases", response_model=CaseList, responses=REFUSALS, summary="Cases, most recently updated first")
    def list_cases(
        state: str = "open",
        level: str = "",
        owner: str = "",
        tag: str = "",
        limit: int = Query(50, ge=1, le=500),
        page: int = Query(1, ge=1, le=MAX_PAGE),
        who: Viewer = Depends(caller("view")),
    ) -> CaseList:
        with transaction(service.factory) as session:
            rows = queries.cases(session, state, level, owner, "", page, limit, tag=tag)
            names = queries.owners(session, {c.owner_id for c in rows.rows} | {c.claimed_by_id for c in rows.rows})
            tags = queries.case_tags(session, {c.id for c in rows.rows})
            return CaseList(total=rows.total, cases=[case_out(c, names, tags, now()) for c in rows.rows])

    def case_detail(session, case_id: int) -> CaseDetail:
        case = queries.load_case(session, case_id)
        if case is None:
            raise UserError(f"there is no case {case_id}")
        base = case_out(
            case,
            queries.owners(session, {case.owner_id, case.claimed_by_id}),
            queries.case_tags(session, {case.id}),
            now(),
        )
        return CaseDetail(
            **base.model_dump(),
            mentions=[mention_out(m) for m in case.mentions],
            drafts=[draft_out(d) for d in case.drafts],
            events=[
                EventOut(at=e.at, actor=e.actor, from_state=e.from_state, to_state=e.to_state, note=e.note)
                for e in case.events
            ],
            notes=[note_out(n) for n in notes.notes_of(session, case.id)],
        )

    @router.get("/cases/{case_id}", response_model=CaseDetail, responses=FAILS, summary="A case with its thread")
    def get_case(case_id: RowId, who: Viewer = Depends(caller("view"))) -> CaseDetail:
        return act(lambda s: case_detail(s, case_id))

    @router.post(
        "/cases/{case_id}/resolve",
        response_model=DraftOut,
        responses=FAILS,
        summary="Resolve a case; returns the drafted public close",
    )
    def resolve(case_id: RowId, body: ResolveIn, who: Viewer = Depends(caller("case"))) -> DraftOut:
        return act(
            lambda s: draft_out(
                case_rules.resolve(
                    s, service.config, service.renderer, case_id, who.username, now(), body.summary.strip()
                )
            )
        )

    @router.post(
        "/cases/{case_id}/private",
        response_model=list[DraftOut],
        responses=FAILS,
        summary="Draft the invitation and private opener that move a case to private messages",
    )
    def private(case_id: RowId, who: Viewer = Depends(caller("case"))) -> list[DraftOut]:
        return act(lambda s: [draft_out(d) for d in actions.move_private(s, service, case_id, who.username, now())])

    @router.post("/cases/{case_id}/reopen", response_model=CaseDetail, responses=FAILS, summary="Reopen a case")
    def reopen(case_id: RowId, body: ReopenIn, who: Viewer = Depends(caller("case"))) -> CaseDetail:
        def work(session):
            actions.reopen(session, service, case_id, who.username, now(), body.note)
            session.flush()
            return case_detail(session, case_id)

        return act(work)

    @router.post("/cases/{case_id}/assign", response_model=CaseDetail, responses=FAILS, summary="Assign a case")
    def assign(case_id: RowId, body: AssignIn, who: Viewer = Depends(caller("case"))) -> CaseDetail:
        def work(session):
            actions.assign(session, case_id, body.owner, who.username, now())
            session.flush()
            return case_detail(session, case_id)

        return act(work)

    @router.post(
        "/cases/{case_id}/merge",
        response_model=CaseDetail,
        responses=FAILS,
        summary="Merge another case of the same customer into this one",
    )
    def merge(case_id: RowId, body: MergeIn, who: Viewer = Depends(caller("case"))) -> CaseDetail:
        def work(session):
            merging.merge_cases(session, service.config, case_id, body.other_case_id, who.username, now())
            return case_detail(session, case_id)

        return act(work)

    @router.post("/cases/{case_id}/tags", response_model=CaseDetail, responses=FAILS, summary="Tag a case")
    def tag_case(case_id: RowId, body: TagIn, who: Viewer = Depends(caller("tag"))) -> CaseDetail:
        def work(session):
            actions.tag_case(session, case_id, body.tag, who.username, now())
            return case_detail(session, case_id)

        return act(work)

    @router.post(
        "/mentions/{mention_id}/split",
        response_model=CaseDetail,
        responses=FAILS,
        summary="Split a message (and its drafts) out into a new case of the same customer",
    )
    def split(mention_id: RowId, who: Viewer = Depends(caller("case"))) -> CaseDetail:
        def work(session):
            case = merging.split_message(session, service.config, mention_id, who.username, now())
            return case_detail(session, case.id)

        return act(work)

    @router.post(
        "/cases/{case_id}/notes",
        response_model=NoteOut,
        responses=FAILS,
        summary="Leave an internal note on a case (never sent); @name puts it in that user's inbox",
    )
    def add_note(case_id: RowId, body: NoteIn, who: Viewer = Depends(caller("note"))) -> NoteOut:
        def work(session):
            note = notes.add_note(
                session, case_rules.get_case(session, case_id), session.get_one(User, who.id), body.text, now()
            )
            return note_out(note)

        return act(work)

    @router.get("/inbox", response_model=InboxOut, responses=REFUSALS, summary="Notes that @mention the caller")
    def get_inbox(limit: int = Query(100, ge=1, le=500), who: Viewer = Depends(caller("view"))) -> InboxOut:
        with transaction(service.factory) as session:
            items = notes.inbox(session, session.get_one(User, who.id), limit)
            return InboxOut(unread=notes.unread_count(session, who.id), items=[inbox_item_out(item) for item in items])

    @router.post(
        "/inbox/{mention_id}/read", response_model=InboxItemOut, responses=FAILS, summary="Mark an @mention read"
    )
    def read_inbox_item(mention_id: RowId, who: Viewer = Depends(caller("view"))) -> InboxItemOut:
        return act(lambda s: inbox_item_out(notes.mark_read(s, s.get_one(User, who.id), mention_id, now())))

    @router.delete(
        "/cases/{case_id}/tags/{tag:path}", response_model=CaseDetail, responses=FAILS, summary="Take a tag off a case"
    )
    def untag_case(case_id: RowId, tag: str, who: Viewer = Depends(caller("tag"))) -> CaseDetail:
        def work(session):
            actions.untag_case(session, case_id, tag, who.username, now())
            return case_detail(session, case_id)

        return act(work)

    def moderate(mention_id: int, hidden: bool, who: Viewer) -> MentionOut:
        try:
            actions.set_hidden(service, mention_id, hidden, who.username)
        except UserError as exc:
            raise HTTPException(404 if str(exc).startswith("there is no ") else 400, str(exc)) from None
        return act(lambda s: mention_out(s.get(Mention, mention_id)))

    @router.post(
        "/mentions/{mention_id}/hide",
        response_model=MentionOut,
        responses=FAILS,
        summary="Hide a customer's public message on its platform",
    )
    def hide(mention_id: RowId, who: Viewer = Depends(caller("moderate"))) -> MentionOut:
        return moderate(mention_id, True, who)

    @router.post(
        "/mentions/{mention_id}/unhide",
        response_model=MentionOut,
        responses=FAILS,
        summary="Show a hidden message on its platform again",
    )
    def unhide(mention_id: RowId, who: Viewer = Depends(caller("moderate"))) -> MentionOut:
        return moderate(mention_id, False, who)

    @router.post(
        "/cases/{case_id}/claim",
        response_model=CaseDetail,
        responses=CLAIMS,
        summary='Claim a case ("I\'m on it") for console.claim_minutes; claiming it again extends the claim',
    )
    def claim(case_id: RowId, who: Viewer = Depends(caller("case"))) -> CaseDetail:
        def work(session):
            case_claims.claim(session, case_id, who.id, now(), service.config.console.claim_minutes)
            session.flush()
            return case_detail(session, case_id)

        return act(work)

    @router.post("/cases/{case_id}/release", response_model=CaseDetail, responses=CLAIMS, summary="Release your claim")
    def release(case_id: RowId, who: Viewer = Depends(caller("case"))) -> CaseDetail:
        def work(session):
            case_claims.release(session, case_id, who.id, now())
            session.flush()
            return case_detail(session, case_id)

        return act(work)

    def customer_out(session, customer_id: int) -> CustomerOut:
        view = queries.customer_view(session, customer_id, messages=0)
        if view is None:
            raise UserError(f"there is no customer {customer_id}")
        names = queries.owners(session, {c.owner_id for c in view.cases})
        return CustomerOut(
            id=view.customer.id,
            display_name=view.customer.display_name,
            owner=view.owner,
            identities=[
                IdentityOut(
                    id=i.id,
                    platform=i.platform,
                    platform_user_id=i.platform_user_id,
                    handle=i.handle,
                    name=i.name,
                    followers=i.followers,
                )
                for i in view.identities
            ],
            cases=[case_out(c, names) for c in view.cases],
        )

    @router.get("/customers/{customer_id}", response_model=CustomerOut, responses=FAILS, summary="A customer")
    def get_customer(customer_id: RowId, who: Viewer = Depends(caller("view"))) -> CustomerOut:
        return act(lambda s: customer_out(s, customer_id))

    @router.post(
        "/customers/{customer_id}/link",
        response_model=CustomerOut,
        responses=FAILS,
        summary="Link another platform identity to a customer",
    )
    def link(customer_id: RowId, body: LinkIn, who: Viewer = Depends(caller("link"))) -> CustomerOut:
        def work(session):
            actions.link_identity(session, customer_id, body.identity_id, who.username, now())
            session.flush()
            return customer_out(session, customer_id)

        return act(work)

    @router.get("/kpis", response_model=KpisOut, responses=REFUSALS, summary="KPIs of the last days")
    def get_kpis(days: int = Query(30, ge=1, le=366), who: Viewer = Depends(caller("view"))) -> KpisOut:
        period = kpis.Period.last_days(now(), days)
        with transaction(service.factory) as session:
            kpis.refresh_volume(session, now())
        with transaction(service.factory) as session:
            summary = kpis.summary(session, period, now())
            volume = kpis.volume_per_day(session, period)
            topics = kpis.top_topics(
                session,
                period,
                sample=service.config.console.topics_sample,
                ignore=[h.lstrip("@") for h in service.config.brand.handles] + [service.config.brand.name],
            )
            by_tag = kpis.cases_by_tag(session, period)
        return KpisOut(
            start=summary.rows()[0][1],
            end=summary.rows()[1][1],
            mentions=summary.mentions,
            cases=summary.cases,
            first_response=DurationsOut(**summary.first_response.__dict__),
            resolution=DurationsOut(**summary.resolution.__dict__),
            sla_first_response=summary.sla_first_response,
            sla_resolution=summary.sla_resolution,
            public_closed_share=summary.public_closed_share,
            volume=volume,
            topics=[{"term": t.term, "mentions": t.mentions, "examples": t.examples} for t in topics],
            tags=by_tag,
        )

    @router.get(
        "/accounts",
        response_model=list[dict[str, Any]],
        responses=REFUSALS,
        summary="Platform accounts' health, last poll and API budget",
    )
    def get_accounts(who: Viewer = Depends(caller("view"))) -> list[dict[str, Any]]:
        return collect(service)["accounts"]

    @router.get(
        "/audit", response_model=list[dict[str, Any]], responses=REFUSALS, summary="The audit log, newest first"
    )
    def get_audit(
        actor: str = "",
        action: str = "",
        limit: int = Query(50, ge=1, le=500),
        page: int = Query(1, ge=1, le=MAX_PAGE),
        who: Viewer = Depends(caller("view")),
    ) -> list[dict[str, Any]]:
        with transaction(service.factory) as session:
            rows = queries.audit_log(session, actor, action, page=page, size=limit)
            return [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "object_type": e.object_type,
                    "object_id": e.object_id,
                    "detail": e.detail,
                }
                for e in rows.rows
            ]

    @router.get("/incidents", response_model=list[IncidentOut], responses=REFUSALS, summary="Incidents, newest first")
    def list_incidents(
        state: Literal["open", "ended"] | None = None,
        limit: int = Query(50, ge=1, le=500),
        who: Viewer = Depends(caller("view")),
    ) -> list[IncidentOut]:
        with transaction(service.factory) as session:
            query = select(Incident).order_by(Incident.started_at.desc(), Incident.id.desc()).limit(limit)
            if state is not None:
                query = query.where(Incident.state == state)
            return [incident_out(incident) for incident in session.scalars(query)]

    @router.get("/incidents/{incident_id}", response_model=IncidentOut, responses=FAILS, summary="One incident")
    def get_incident(incident_id: RowId, who: Viewer = Depends(caller("view"))) -> IncidentOut:
        def work(session):
            incident = session.get(Incident, incident_id)
            if incident is None:
                raise UserError(f"there is no incident {incident_id}")
            return incident_out(incident)

        return act(work)

    return router
