"""Saved replies (macros): named texts per language, rendered like the reply templates; they may tag, assign, resolve."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.casework import approval, cases, tags
from bot.casework.drafting import TemplateRenderer, latest_identity, reply_language, template_context
from bot.casework.quality_checks import check_draft
from bot.config import Config
from bot.errors import UserError
from bot.service_levels.eta import Eta, estimate
from bot.storage import audit, users
from bot.storage.models import Case, Draft, Identity, Macro
from bot.storage.statuses import DraftStatus

MAX_NAME_LENGTH = 60
MAX_TEXT_LENGTH = 5000
_NAME = re.compile(rf"^[a-z0-9][a-z0-9_-]{{0,{MAX_NAME_LENGTH - 1}}}$")
ACTIONS = ("tags", "assign", "resolve")
# The permission a person needs for what a saved reply does on their behalf (bot/storage/users.py).
ACTION_PERMISSIONS = {"tags": "tag", "assign": "case", "resolve": "case"}
ACTIONS_HELP = 'an object such as {"tags": ["billing"], "assign": "maria", "resolve": true}'


def normalise_name(name: str) -> str:
    """The stored form of a saved reply's name (trimmed, lower case), or a UserError saying what a name may hold."""
    cleaned = str(name or "").strip().lower()
    if not _NAME.match(cleaned):
        raise UserError(
            f"the saved reply name {cleaned[:MAX_NAME_LENGTH]!r} must be 1 to {MAX_NAME_LENGTH} lower-case letters, "
            "digits, - or _, starting with a letter or digit"
        )
    return cleaned


def _where(name: str, language: str) -> str:
    return f"saved reply {name!r} ({language})"


def sample_context(config: Config, language: str) -> dict[str, Any]:
    """The variables a saved reply may use, with sample values: those the reply templates get (template_context)."""
    case = Case(id=0, platform="x", level="investigate", category="complaint")
    identity = Identity(handle="@customer", name="Sample Customer")
    return template_context(config, case, None, identity, language, Eta(minutes=30, explanation=""), summary="")


def variable_names(context: dict[str, Any]) -> list[str]:
    """The variables of a context as a person writes them: brand.name, customer.first_name, summary…"""
    found = []
    for key, value in context.items():
        found += [f"{key}.{inner}" for inner in value] if isinstance(value, dict) else [key]
    return found


def unknown_variables(tree: nodes.Template, known: dict[str, Any], builtins: dict[str, Any]) -> list[tuple[int, str]]:
    """(line, variable) for every variable or field a parsed template reads that the context does not have."""
    free = meta.find_undeclared_variables(tree)
    found = set()
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name in free and node.name not in known and node.name not in builtins:
            found.add((node.lineno, node.name))
    for access in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(access, nodes.Getattr):
            key = access.attr
        elif (
            isinstance(access, nodes.Getitem)
            and isinstance(access.arg, nodes.Const)
            and isinstance(access.arg.value, str)
        ):
            key = access.arg.value
        else:
            continue
        target = access.node
        if not (isinstance(target, nodes.Name) and target.name in free and isinstance(known.get(target.name), dict)):
            continue
        if key not in known[target.name]:
            found.add((access.lineno, f"{target.name}.{key}"))
    return sorted(found)


def _template_error(where: str, exc: Exception) -> UserError:
    """A UserError naming the saved reply and the line of its text that failed."""
    if isinstance(exc, TemplateSyntaxError):
        return UserError(f"{where}, line {exc.lineno}: {exc.message}")
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == "<template>"]
    at = f", line {lines[-1]}" if lines else ""
    return UserError(f"{where}{at}: {exc}")


def check_text(config: Config, renderer: TemplateRenderer, name: str, language: str, text: str) -> str:
    """The text, once it compiles in the templates' sandbox and uses only their variables; else a UserError with the line."""
    where = _where(name, language)
    text = (text or "").strip()
    if not text:
        raise UserError(f"{where} has no text")
    if "\x00" in text:
        raise UserError(f"{where} holds a NUL character")
    if len(text) > MAX_TEXT_LENGTH:
        raise UserError(f"{where} is longer than {MAX_TEXT_LENGTH} characters")
    try:
        tree = renderer.env.parse(text)
        renderer.compile_source(text)  # compiling checks that its filters and tests exist
    except TemplateSyntaxError as exc:
        raise _template_error(where, exc) from None
    sample = sample_context(config, language)
    unknown = unknown_variables(tree, sample, renderer.env.globals)
    if unknown:
        line, variable = unknown[0]
        raise UserError(
            f"{where}, line {line}: unknown variable {variable!r}; "
            f"a saved reply may use {', '.join(variable_names(sample))}"
        )
    try:
        # A trial render catches what only shows when it runs (the sandbox refusing an attribute, a division by 0).
        renderer.render_source(text, sample)
    except Exception as exc:  # any failure of a person's template is theirs to fix, with its line
        raise _template_error(where, exc) from None
    return text


def check_actions(session: Session, actions: Any, where: str) -> dict[str, Any]:
    """The actions in their stored form (tags normalised, the assignee an active user), or a UserError."""
    if actions in (None, "", {}):
        return {}
    if not isinstance(actions, dict):
        raise UserError(f"{where}: actions must be {ACTIONS_HELP}")
    unknown = sorted(set(actions) - set(ACTIONS))
    if unknown:
        raise UserError(f"{where}: unknown action {', '.join(map(repr, unknown))}; use tags, assign or resolve")
    clean: dict[str, Any] = {}
    wanted_tags = actions.get("tags")
    if wanted_tags not in (None, []):
        if not isinstance(wanted_tags, list) or not all(isinstance(t, str) for t in wanted_tags):
            raise UserError(f'{where}: tags must be a list of words, such as ["billing", "vip"]')
        try:
            clean["tags"] = sorted({tags.normalise(t) for t in wanted_tags})
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
    assignee = actions.get("assign")
    if assignee not in (None, ""):
        if not isinstance(assignee, str):
            raise UserError(f'{where}: assign names one user, such as "maria"')
        user = None if "\x00" in assignee else users.get_user(session, assignee)
        if user is None or not user.active:
            raise UserError(f"{where}: there is no active user named {assignee!r} to assign cases to")
        clean["assign"] = user.username
    resolve = actions.get("resolve")
    if resolve is not None:
        if not isinstance(resolve, bool):
            raise UserError(f"{where}: resolve is true or false")
        if resolve:
            clean["resolve"] = True
    return clean


def _check_language(config: Config, language: str) -> str:
    language = str(language or "").strip().lower()
    if language not in config.brand.languages:
        raise UserError(
            f"the brand does not answer in {language!r}; a saved reply is in one of {', '.join(config.brand.languages)}"
        )
    return language


def _refuse_duplicate(session: Session, name: str, language: str, keep_id: int | None = None) -> None:
    other = session.scalar(select(Macro).where(Macro.name == name, Macro.language == language))
    if other is not None and other.id != keep_id:
        raise UserError(f"there is already a saved reply named {name!r} in {language} (#{other.id})")


def get_macro(session: Session, macro_id: int) -> Macro:
    """The saved reply with this id, or a UserError naming it."""
    macro = session.get(Macro, macro_id)
    if macro is None:
        raise UserError(f"there is no saved reply {macro_id}")
    return macro


def list_macros(session: Session) -> list[Macro]:
    """Every saved reply, by name then language."""
    return list(session.scalars(select(Macro).order_by(Macro.name, Macro.language)))


def names(session: Session) -> list[str]:
    """The names of the saved replies, each once, in alphabetical order (what the draft's picker offers)."""
    return list(session.scalars(select(Macro.name).distinct().order_by(Macro.name)))


def create(
    session: Session,
    config: Config,
    renderer: TemplateRenderer,
    name: str,
    language: str,
    text: str,
    actions: Any,
    actor: str,
    now: datetime,
) -> Macro:
    """Save a new reply (admins: manage_macros); checked like a template, audited."""
    name, language = normalise_name(name), _check_language(config, language)
    text = check_text(config, renderer, name, language, text)
    clean = check_actions(session, actions, _where(name, language))
    _refuse_duplicate(session, name, language)
    macro = Macro(
        name=name,
        language=language,
        text=text,
        actions=clean,
        created_by=actor,
        created_at=now,
        updated_by=actor,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(macro)
    except IntegrityError:
        # Another admin saved the same name and language between our check and our insert.
        raise UserError(f"a saved reply named {name!r} in {language!r} already exists") from None
    audit.record(session, now, actor, "macro_create", "macro", macro.id, name=name, language=language, actions=clean)
    return macro


def update(
    session: Session,
    config: Config,
    renderer: TemplateRenderer,
    macro_id: int,
    name: str,
    language: str,
    text: str,
    actions: Any,
    actor: str,
    now: datetime,
) -> Macro:
    """Replace a saved reply's name, language, text and actions (admins: manage_macros); audited with what it was."""
    macro = get_macro(session, macro_id)
    name, language = normalise_name(name), _check_language(config, language)
    text = check_text(config, renderer, name, language, text)
    clean = check_actions(session, actions, _where(name, language))
    _refuse_duplicate(session, name, language, keep_id=macro.id)
    before = {"name": macro.name, "language": macro.language, "text": macro.text, "actions": dict(macro.actions or {})}
    after = {"name": name, "language": language, "text": text, "actions": clean}
    changed = {key: before[key] for key in before if before[key] != after[key]}
    if not changed:
        return macro
    try:
        # A savepoint around the change: another admin's row with the same name is refused by the database.
        with session.begin_nested():
            macro.name, macro.language, macro.text, macro.actions = name, language, text, clean
            macro.updated_by, macro.updated_at = actor, now
    except IntegrityError:
        raise UserError(f"a saved reply named {name!r} in {language!r} already exists") from None
    audit.record(session, now, actor, "macro_update", "macro", macro.id, name=name, language=language, before=changed)
    return macro


def delete(session: Session, macro_id: int, actor: str, now: datetime) -> None:
    """Delete a saved reply (admins: manage_macros); the audit entry keeps its text."""
    macro = get_macro(session, macro_id)
    audit.record(
        session,
        now,
        actor,
        "macro_delete",
        "macro",
        macro.id,
        name=macro.name,
        language=macro.language,
        text=macro.text,
        actions=dict(macro.actions or {}),
    )
    session.delete(macro)
    session.flush()


def pick(session: Session, config: Config, name: str, language: str) -> Macro:
    """The saved reply of this name in the reply's language, else in the brand's default language."""
    name = str(name or "").strip().lower()
    tried = list(dict.fromkeys([reply_language(config, language), config.brand.default_language]))
    for candidate in tried if _NAME.match(name) else []:
        macro = session.scalar(select(Macro).where(Macro.name == name, Macro.language == candidate))
        if macro is not None:
            return macro
    raise UserError(f"there is no saved reply named {name!r} in {' or '.join(tried)}")


def uses_eta(renderer: TemplateRenderer, macro: Macro) -> bool:
    """True when the saved reply's text reads the estimated response time."""
    return "eta" in meta.find_undeclared_variables(renderer.env.parse(macro.text))


def render(config: Config, renderer: TemplateRenderer, macro: Macro, draft: Draft, eta: Eta | None = None) -> str:
    """The saved reply's text for a draft's case and customer, with the templates' sandbox and variables."""
    case = draft.case
    mention = draft.mention
    identity = mention.identity if mention else latest_identity(case)
    triage = mention.triage if mention else None
    context = template_context(config, case, mention, identity, macro.language, eta, "", triage)
    try:
        return renderer.render_source(macro.text, context)
    except Exception as exc:  # a template that fails on this case's data is named with its line
        raise _template_error(_where(macro.name, macro.language), exc) from None


def _eta_for(
    session: Session, config: Config, renderer: TemplateRenderer, macro: Macro, draft: Draft, now: datetime
) -> Eta | None:
    """The draft's promised time when it has one; a fresh estimate when the saved reply needs one; else None."""
    if draft.eta_minutes is not None:
        return Eta(minutes=draft.eta_minutes, explanation=draft.eta_explanation or "")
    if uses_eta(renderer, macro):
        return estimate(session, config, draft.case, now)
    return None


def apply_macro(
    session: Session,
    config: Config,
    renderer: TemplateRenderer,
    draft_id: int,
    name: str,
    actor: str,
    now: datetime,
    can: Callable[[str], bool] | None = None,
) -> Draft:
    """Put a saved reply's text into a pending draft (an edit, checked again) and run its actions; audited.

    A saved reply that resolves does what resolving does: the case is resolved and its public close drafted
    (the pending draft gives way to it), and the close gets the saved reply's text. Returns the draft that
    now holds the text, waiting for approval. One transaction: a failure leaves nothing half-done.
    `can` (the person's permission check, from the console and the API) must allow each action it runs.
    """
    draft = approval.get_draft(session, draft_id)
    if draft.status != DraftStatus.PENDING:
        raise UserError(
            f"draft {draft.id} is {draft.status}, not pending: a saved reply goes only into a pending draft"
        )
    case = draft.case
    macro = pick(session, config, name, draft.language or case.language or config.brand.default_language)
    # Checked again at use: the assignee may have left since the saved reply was written.
    actions = check_actions(session, macro.actions, _where(macro.name, macro.language))
    for action in actions:
        if can is not None and not can(ACTION_PERMISSIONS[action]):
            raise UserError(
                f"{_where(macro.name, macro.language)} runs {action!r}, which needs the "
                f"'{ACTION_PERMISSIONS[action]}' permission"
            )
    eta = _eta_for(session, config, renderer, macro, draft, now)
    text = render(config, renderer, macro, draft, eta)
    if not text:
        raise UserError(f"{_where(macro.name, macro.language)} renders to nothing for case {case.id}")
    target = draft
    if actions.get("resolve") and case.state not in cases.FINISHED:
        target = cases.resolve(session, config, renderer, case.id, actor, now)
    previous = target.text
    if text != target.text:
        target.text = text
        target.language = macro.language
        if eta is not None and target.eta_minutes is None and uses_eta(renderer, macro):
            target.eta_minutes, target.eta_explanation = eta.minutes, eta.explanation
        target.checks = check_draft(config, target)
        target.version = (target.version or 0) + 1
    audit.record(
        session,
        now,
        actor,
        "apply_macro",
        "draft",
        target.id,
        case_id=case.id,
        macro_id=macro.id,
        macro=macro.name,
        language=macro.language,
        previous_text=previous,
        **({"applied_to": draft.id} if target is not draft else {}),
    )
    for tag in actions.get("tags", []):
        tags.add_tag(session, case, tag, actor, now)
    if actions.get("assign"):
        cases.assign(session, case.id, actions["assign"], actor, now)
    session.flush()
    return target
