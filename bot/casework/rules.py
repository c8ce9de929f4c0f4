"""The rules of config.yaml (`rules:`), run on each mention after triage once it is in its case.

Rules run in the order they are written; each sees what the ones before it changed. A rule fires when every
condition it gives holds, and each rule that fires adds one reason to the mention's triage, e.g.
"rule 'vip-fast-lane': tag vip, raise priority +0.2, assign maria". Hiding needs the platform, so it is only
asked for here (`Fired.hide`); the pipeline carries it out once the mention is stored (bot/casework/moderation.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework import tags
from bot.config import Config, Rule
from bot.service_levels import assignment
from bot.service_levels import sla as sla_clocks
from bot.storage.models import Case, CaseEvent, Customer, Mention, TriageResult, User

log = logging.getLogger(__name__)

LEVEL_RANK = {"monitor": 0, "self_service": 1, "investigate": 2, "private": 3}
SPAM_TAG = "spam"


@dataclass
class Fired:
    """What the rules did to one mention: the rules that fired, and whether one asked to hide it."""

    rules: list[str] = field(default_factory=list)
    hide: str | None = None  # the name of the rule that asked to hide the mention


def _handle(value: str | None) -> str:
    return (value or "").lower().lstrip("@")


def matches(rule: Rule, config: Config, mention: Mention, triage: TriageResult) -> bool:
    """True when every condition the rule gives holds for this mention and its triage."""
    when = rule.when
    identity = mention.identity
    if when.platform and mention.platform not in when.platform:
        return False
    if when.language and triage.language not in when.language:
        return False
    if when.level and triage.level not in when.level:
        return False
    if when.category and triage.category not in when.category:
        return False
    if when.sentiment and triage.sentiment not in when.sentiment:
        return False
    for head, labels in when.labels.items():
        if (triage.labels or {}).get(head) not in labels:
            return False
    if when.keyword_pattern is not None and not when.keyword_pattern.search(mention.text):
        return False
    if when.regex_pattern is not None and not when.regex_pattern.search(mention.text):
        return False
    if when.min_followers is not None and (identity.followers or 0) < when.min_followers:
        return False
    if when.vip is not None:
        listed = config.triage.vip_authors if when.vip is True or when.vip is False else when.vip
        is_vip = _handle(identity.handle) in {_handle(h) for h in listed}
        if is_vip != (when.vip is not False):
            return False
    return when.verified is None or bool(identity.verified) == when.verified


def apply_rules(
    session: Session, config: Config, case: Case, mention: Mention, triage: TriageResult, now: datetime
) -> Fired:
    """Run every rule on a triaged mention in its case, taking the actions of those that fire."""
    fired = Fired()
    # Opened by this mention (a new case's list of mentions is in memory): a rule sets its level and priority outright.
    new_case = case.id is None and len(case.mentions) <= 1
    for rule in config.rules:
        if not matches(rule, config, mention, triage):
            continue
        done = _act(session, config, rule, case, mention, triage, now, new_case)
        if rule.then.hide and fired.hide is None:
            fired.hide = rule.name
        fired.rules.append(rule.name)
        triage.reasons = [*(triage.reasons or []), f"rule {rule.name!r}: {', '.join(done)}"]
    return fired


def _act(
    session: Session,
    config: Config,
    rule: Rule,
    case: Case,
    mention: Mention,
    triage: TriageResult,
    now: datetime,
    new_case: bool,
) -> list[str]:
    """Take a rule's actions; what was done, in words, for the reason."""
    then = rule.then
    done: list[str] = []
    if then.spam:
        triage.category = "other"
        _route(case, mention, triage, "monitor", config, new_case, [])
        done.append("spam: no reply")
    if then.level is not None:
        _route(case, mention, triage, then.level, config, new_case, done)
    value: float | None = then.priority
    if value is None and then.raise_priority is not None:
        value = min(1.0, (triage.priority or 0.0) + then.raise_priority)
    if value is not None:
        triage.priority = round(value, 4)
        case.priority = triage.priority if new_case else max(case.priority or 0.0, triage.priority)
        done.append(
            f"priority {triage.priority:.2f}" if then.priority is not None else f"raise priority +{then.raise_priority}"
        )
    wanted = [*then.tag, *([SPAM_TAG] if then.spam and SPAM_TAG not in then.tag else [])]
    if wanted:
        if case.id is None:
            session.flush()  # a new case gets its id, which a tag names
        for tag in wanted:
            tags.add_tag(session, case, tag, f"rule:{rule.name}", now)
        done.append(f"tag {', '.join(wanted)}")
    if then.assign:
        done.append(_assign_user(session, config, rule, case, then.assign, now))
    if then.team:
        done.append(_assign_team(session, config, rule, case, then.team, now))
    if then.hide:
        done.append("hide")
    return done


def _route(
    case: Case, mention: Mention, triage: TriageResult, level: str, config: Config, new_case: bool, done: list[str]
) -> None:
    """Send the mention to a level: a reply is drafted for any level but monitor; a new case takes the level."""
    if triage.level == level:
        done.append(f"level {level}")
        return
    triage.level = level
    triage.needs_response = level != "monitor"
    if new_case:
        case.level = level
        sla_clocks.start_clocks(case, case.opened_at, level, config.sla)
    elif LEVEL_RANK[level] > LEVEL_RANK.get(case.level, 0):
        case.level = level
        sla_clocks.restart_resolution(case, mention.created_at, level, config.sla)
    done.append(f"level {level}")


def _give(session: Session, case: Case, user: User, rule: Rule, now: datetime) -> None:
    """Make a user the case's owner (and the customer's agent), kept in the case's history."""
    if case.owner_id == user.id:
        return
    if case.id is None:
        session.flush()
    case.owner_id = user.id
    customer = session.get(Customer, case.customer_id)
    if customer is not None:
        customer.owner_id = user.id
    note = f"owner → {user.username}: rule {rule.name!r}"
    session.add(CaseEvent(case=case, at=now, actor="system", from_state=case.state, to_state=case.state, note=note))


def _assign_user(session: Session, config: Config, rule: Rule, case: Case, username: str, now: datetime) -> str:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        log.warning("rule %r: there is no active user %r to assign case %s to", rule.name, username, case.id)
        return f"assign {username}: there is no active user {username!r} (left to the usual assignment)"
    _give(session, case, user, rule, now)
    if not assignment.is_on_shift(config, user, now):
        return f"assign {username} (off shift: the usual assignment may hand it on)"
    return f"assign {username}"


def _assign_team(session: Session, config: Config, rule: Rule, case: Case, role: str, now: datetime) -> str:
    team = {a.user.id: a for a in assignment.agents(session, config, now) if a.user.role == role}
    customer = session.get(Customer, case.customer_id)
    agent, _why = assignment.pick(team, case.owner_id, customer.owner_id if customer is not None else None)
    if agent is None:
        return f"team {role}: nobody on shift with room (left to the usual assignment)"
    _give(session, case, agent.user, rule, now)
    return f"team {role} → {agent.user.username}"
