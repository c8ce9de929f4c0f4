"""The rules of config.yaml: conditions on a triaged mention, actions on its case, each firing rule a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.casework import tags
from bot.clock import FrozenClock
from bot.config import ConfigError, load_config
from bot.simulators import facebook_account, x_account
from bot.storage import users
from bot.storage.models import AuditEntry, Draft, Mention, User
from tests.harness import Desk, base_config

COMPLAINT = "@acme my order never arrived and nobody answers, I want a refund"


@pytest.fixture(scope="module")
def triager(tmp_path_factory):
    """One classifier for the module (loading it is the slow part of a desk)."""
    from bot.config import parse_config
    from bot.triage.build import build_triager

    folder = tmp_path_factory.mktemp("triager")
    return build_triager(parse_config(base_config(folder, f"sqlite:///{folder / 'unused.db'}")))


@pytest.fixture
def make_desk(tmp_path, database_url, triager):
    """A desk with the given rules (and other overrides); disposed after the test."""
    made: list[Desk] = []

    def make(rules: list[dict], **overrides) -> Desk:
        desk = Desk(tmp_path, database_url, triager=triager, rules=rules, **overrides)
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.service.engine.dispose()


def reasons_of(desk: Desk, platform_id: str) -> list[str]:
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.platform_id == platform_id))
        return list(mention.triage.reasons)


def tags_on(desk: Desk, platform_id: str) -> list[str]:
    with desk.session() as session:
        return tags.tags_of(session, desk.case_of(platform_id).id)


def rule(name: str = "r", then: dict | None = None, **when) -> dict:
    return {"name": name, "when": when, "then": then or {"tag": ["hit"]}}


def add_user(desk: Desk, name: str, role: str = "agent") -> None:
    with desk.session() as session:
        users.create_user(session, name, "correct horse battery", role, desk.clock.now(), "test")


def test_a_rule_tags_assigns_and_raises_the_priority_and_says_so_in_the_reasons(make_desk):
    desk = make_desk(
        [
            rule(
                "billing-desk",
                {"tag": ["billing", "Refund"], "assign": "maria", "raise_priority": 0.3},
                keywords="refund",
            )
        ]
    )
    add_user(desk, "alex")
    add_user(desk, "maria", "approver")
    desk.mention(COMPLAINT, id="c-1")
    desk.mention("@acme how do I change my password?", id="q-1", author="@bo")
    desk.poll()

    assert tags_on(desk, "c-1") == ["billing", "refund"]
    assert tags_on(desk, "q-1") == []
    case = desk.case_of("c-1")
    with desk.session() as session:
        assert session.get(User, case.owner_id).username == "maria"
        mention = session.scalar(select(Mention).where(Mention.platform_id == "c-1"))
        before = max(0.0, mention.triage.priority - 0.3)
        assert mention.triage.priority == pytest.approx(min(1.0, before + 0.3), abs=1e-3)
        assert case.priority == pytest.approx(mention.triage.priority)
        [draft] = session.scalars(select(Draft).where(Draft.case_id == case.id, Draft.kind != "private_message"))
        assert draft.priority == pytest.approx(case.priority)  # drafted after the rule: the queue sees it
        tagged_by = {e.detail["tag"]: e.actor for e in session.scalars(select(AuditEntry).filter_by(action="tag"))}
    assert tagged_by == {"billing": "rule:billing-desk", "refund": "rule:billing-desk"}
    [reason] = [r for r in reasons_of(desk, "c-1") if r.startswith("rule 'billing-desk'")]
    assert reason == "rule 'billing-desk': raise priority +0.3, tag billing, refund, assign maria"
    assert not [r for r in reasons_of(desk, "q-1") if "billing-desk" in r]


def test_a_rule_that_names_an_unknown_user_says_so_and_the_mention_is_still_answered(make_desk):
    desk = make_desk([rule("to-nobody", {"assign": "ghost"}, keywords="refund")])
    desk.mention(COMPLAINT, id="c-1")
    desk.poll()
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.platform_id == "c-1"))
        assert mention.status == "processed"
    assert "rule 'to-nobody': assign ghost: there is no active user 'ghost'" in " ".join(reasons_of(desk, "c-1"))
    assert desk.drafts()


def test_a_team_rule_gives_the_case_to_the_least_loaded_person_of_that_role(make_desk):
    desk = make_desk([rule("approvers-take-refunds", {"team": "approver"}, keywords="refund")])
    add_user(desk, "alex")
    add_user(desk, "maria", "approver")
    desk.mention(COMPLAINT, id="c-1")
    desk.poll()
    with desk.session() as session:
        assert session.get(User, desk.case_of("c-1").owner_id).username == "maria"
    assert "rule 'approvers-take-refunds': team approver → maria" in reasons_of(desk, "c-1")


def test_a_spam_rule_drafts_nothing_and_tags_the_case_spam(make_desk):
    desk = make_desk([rule("crypto", {"spam": True}, regex=r"\bcrypto\s+doubler\b")])
    desk.mention("@acme my account got a CRYPTO   doubler offer, click to claim", id="s-1")
    desk.poll()
    assert desk.drafts() == []
    case = desk.case_of("s-1")
    assert case.state == "monitoring" and case.level == "monitor"
    assert tags_on(desk, "s-1") == ["spam"]
    with desk.session() as session:
        triage = session.scalar(select(Mention).where(Mention.platform_id == "s-1")).triage
        assert (triage.category, triage.level, triage.needs_response) == ("other", "monitor", False)
    assert "rule 'crypto': spam: no reply, tag spam" in reasons_of(desk, "s-1")


def test_a_rule_routes_a_mention_to_a_level_before_its_replies_are_drafted(make_desk):
    desk = make_desk([rule("outages-investigated", {"level": "investigate"}, keywords=["down", "caído"])])
    desk.mention("@acme is the app down? can't log in", id="o-1")
    desk.poll()
    case = desk.case_of("o-1")
    assert case.level == "investigate"
    assert {d.kind for d in desk.drafts() if d.case_id == case.id} == {"acknowledgement"}
    assert "rule 'outages-investigated': level investigate" in reasons_of(desk, "o-1")


def test_rules_run_in_order_and_each_sees_what_the_one_before_changed(make_desk):
    desk = make_desk(
        [
            rule("first", {"level": "private"}, keywords="refund"),
            rule("second", {"tag": ["private-refund"]}, level="private"),
        ]
    )
    desk.mention(COMPLAINT, id="c-1")
    desk.poll()
    assert tags_on(desk, "c-1") == ["private-refund"]
    fired = [r for r in reasons_of(desk, "c-1") if r.startswith("rule '")]
    assert fired == ["rule 'first': level private", "rule 'second': tag private-refund"]


@pytest.mark.parametrize(
    "when, fires, misses",
    [
        ({"keywords": ["refund"]}, {"text": "@acme I want a REFUND now"}, {"text": "@acme the refunds page is fine"}),
        ({"regex": r"order\s*#?\d{4}"}, {"text": "@acme where is order #4411?"}, {"text": "@acme where is my order?"}),
        ({"min_followers": 5000}, {"followers": 12000}, {"followers": 4999}),
        ({"vip": True}, {"author": "@BigFan"}, {"author": "@smallfan"}),
        ({"vip": False}, {"author": "@smallfan"}, {"author": "@bigfan"}),
        ({"vip": ["@ceo", "press_desk"]}, {"author": "@press_desk"}, {"author": "@bigfan"}),
        ({"language": "es"}, {"text": "@acme mi pedido no ha llegado todavía", "lang": "es"}, {"lang": "en"}),
        ({"platform": ["facebook", "instagram"]}, {"platform": "facebook"}, {"platform": "x"}),
        ({"verified": True}, {"verified": True}, {"verified": False}),
        ({"sentiment": "negative"}, {"text": "@acme terrible service, furious, order lost again"}, {}),
        ({"level": ["monitor"]}, {"text": "Saw an acme billboard today", "addressed": False}, {}),
    ],
)
def test_each_condition_fires_on_what_it_names_and_on_nothing_else(make_desk, when, fires, misses):
    desk = make_desk([rule("probe", **when)], triage={"vip_authors": ["@bigfan"]})
    plain = {"text": "@acme how do I change my password?", "author": "@someone", "followers": 100}
    desk.mention(**{**plain, **fires, "author": fires.get("author", "@one")}, id="yes")
    desk.mention(**{**plain, **misses, "author": misses.get("author", "@two")}, id="no")
    desk.poll()
    assert tags_on(desk, "yes") == ["hit"], reasons_of(desk, "yes")
    assert tags_on(desk, "no") == [], reasons_of(desk, "no")


def test_every_condition_of_a_rule_must_hold(make_desk):
    desk = make_desk([rule("both", keywords="refund", min_followers=1000)])
    desk.mention(COMPLAINT, id="big", author="@big", followers=5000)
    desk.mention(COMPLAINT, id="small", author="@small", followers=10)
    desk.poll()
    assert tags_on(desk, "big") == ["hit"] and tags_on(desk, "small") == []


def test_a_hide_rule_on_a_replay_account_is_recorded_by_the_sandbox_and_audited(make_desk):
    desk = make_desk([rule("hide-scams", {"hide": True}, regex=r"\bscam\w*")])
    desk.mention("@acme you are all scammers", id="h-1")
    desk.poll()
    assert desk.sandbox().hidden == {"h-1": True}
    with desk.session() as session:
        mention = session.scalar(select(Mention).where(Mention.platform_id == "h-1"))
        assert mention.hidden_at == desk.clock.now() and mention.hidden_by == "rule:hide-scams"
        [entry] = session.scalars(select(AuditEntry).filter_by(action="hide"))
        assert (entry.actor, entry.object_id, entry.detail["rule"]) == ("rule:hide-scams", mention.id, "hide-scams")


def test_a_hide_rule_on_a_private_message_says_it_cannot_hide_it(make_desk):
    desk = make_desk([rule("hide-scams", {"hide": True}, regex=r"\bscam\w*")])
    desk.mention("@acme this is a scam, refund me", id="dm-1", channel="private")
    desk.poll()
    assert desk.sandbox().hidden == {}
    assert "rule 'hide-scams': not hidden: a private message on x cannot be hidden" in reasons_of(desk, "dm-1")
    with desk.session() as session:
        assert session.scalar(select(Mention).where(Mention.platform_id == "dm-1")).hidden_at is None


def real_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_a_hide_rule_hides_the_facebook_comment_through_the_graph_api(tmp_path: Path, database_url, triager, graph_sim):
    accounts = [facebook_account(graph_sim, poll_interval_seconds=1, listen=["comments"]).model_dump()]
    rules = [rule("abuse", {"hide": True, "tag": ["abuse"]}, platform="facebook", keywords=["idiots"])]
    desk = Desk(tmp_path, database_url, clock=FrozenClock(real_now()), triager=triager, accounts=accounts, rules=rules)
    try:
        post = graph_sim.page_post("Spring collection is here!")
        abusive = graph_sim.comment(post, "Troll Account", "You are idiots, worst shop ever")
        fine = graph_sim.comment(post, "Priya Nair", "Do you ship to Canada?")
        desk.poll()
        assert graph_sim.comments[abusive]["is_hidden"] is True
        assert graph_sim.comments[fine]["is_hidden"] is False
        assert [r for r in graph_sim.calls("POST") if r.path.endswith(f"/{abusive}")][0].body == {"is_hidden": "true"}
        with desk.session() as session:
            mention = session.scalar(select(Mention).where(Mention.platform_id == abusive))
            assert mention.hidden_by == "rule:abuse" and mention.hidden_at is not None
        assert tags_on(desk, abusive) == ["abuse"]
        assert "rule 'abuse': tag abuse, hide" in reasons_of(desk, abusive)
    finally:
        desk.service.engine.dispose()


def test_on_x_a_rule_hides_a_reply_in_the_brands_own_thread_and_says_why_it_cannot_hide_others(
    tmp_path: Path, database_url, triager, x_sim
):
    accounts = [x_account(x_sim, poll_interval_seconds=1).model_dump()]
    rules = [rule("abuse", {"hide": True}, platform="x", keywords=["idiots"])]
    desk = Desk(tmp_path, database_url, clock=FrozenClock(real_now()), triager=triager, accounts=accounts, rules=rules)
    try:
        ours = x_sim.post("acme", "Our spring sale starts today!")
        reply = x_sim.post("troll", "@acme you are idiots", in_reply_to=ours)
        elsewhere = x_sim.post("troll", "@acme idiots, all of you")
        desk.poll()
        assert x_sim.hidden == {reply}
        with desk.session() as session:
            hidden = {m.platform_id: m.hidden_by for m in session.scalars(select(Mention))}
        assert hidden == {reply: "rule:abuse", elsewhere: None}
        [why] = [r for r in reasons_of(desk, elsewhere) if "not hidden" in r]
        assert "403" in why and "replies to conversations you authored" in why
    finally:
        desk.service.engine.dispose()


@pytest.mark.parametrize(
    "rules, path, reason",
    [
        (
            "  - {name: a, when: {keywords: [refund]}, then: {tag: [x]}}\n"
            "  - {name: b, when: {platform: x}, then: {tag: [y]}}\n"
            "  - {name: c, when: {regex: '(unclosed'}, then: {tag: [z]}}\n",
            "rules[2].when.regex",
            "not a regular expression",
        ),
        ("  - {name: a, when: {labels: {mood: sad}}, then: {tag: [x]}}\n", "rules[0].when.labels", "no custom head"),
        (
            "  - {name: a, when: {labels: {outage: maybe}}, then: {tag: [x]}}\n",
            "rules[0].when.labels.outage",
            "not a label of outage",
        ),
        ("  - {name: a, when: {platform: x}, then: {team: sales}}\n", "rules[0].then.team", "not a role"),
        ("  - {name: a, when: {platform: myspace}, then: {tag: [x]}}\n", "rules[0].when.platform[0]", "replay"),
        ("  - {name: a, when: {platform: x}, then: {colour: red}}\n", "rules[0].then.colour", "unknown setting"),
        ("  - {name: a, when: {}, then: {tag: [x]}}\n", "rules[0]", "at least one condition"),
        ("  - {name: a, when: {platform: x}, then: {}}\n", "rules[0]", "at least one action"),
        ("  - {name: a, when: {platform: x}, then: {priority: 3}}\n", "rules[0].then.priority", "less than or equal"),
        (
            "  - {name: a, when: {platform: x}, then: {tag: [x]}}\n  - {name: a, when: {platform: x}, then: {tag: [y]}}\n",
            "rules[1].name",
            "used twice",
        ),
    ],
)
def test_a_bad_rule_is_a_config_error_naming_its_path(tmp_path, rules, path, reason):
    heads = "triage:\n  custom_heads:\n    - {name: outage, labels: ['yes', 'no']}\n"
    config = tmp_path / "config.yaml"
    config.write_text(heads + "rules:\n" + rules, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert raised.value.path == path
    assert reason in raised.value.reason
