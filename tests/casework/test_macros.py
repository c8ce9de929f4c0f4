"""Saved replies: a person's text rendered like the reply templates, per language, that may tag, assign or resolve."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.casework import macros, tags
from bot.errors import UserError
from bot.storage import users
from bot.storage.models import AuditEntry, Case, Draft, Macro
from bot.storage.statuses import DraftStatus

SPANISH_DELAY = "Hola {{ customer.first_name }}, tu caso {{ case.reference }} avanza: te escribimos en {{ eta.text }}."
ENGLISH_DELAY = "Hi {{ customer.first_name }}, case {{ case.reference }} is moving: we'll write within {{ eta.text }}."


def save(desk, name, language, text, actions=None, actor="root"):
    """Save a reply as an admin would."""
    with desk.session() as session:
        macro = macros.create(
            session, desk.config, desk.service.renderer, name, language, text, actions, actor, desk.clock.now()
        )
        return macro.id


def use(desk, draft_id, name, actor="alex"):
    """Insert a saved reply into a draft; returns the id of the draft that holds its text."""
    with desk.session() as session:
        return macros.apply_macro(
            session, desk.config, desk.service.renderer, draft_id, name, actor, desk.clock.now()
        ).id


def pending_draft(desk, text, lang=None, author_name=None, id="m-1"):
    """A mention that gets one pending draft, polled; returns the draft."""
    desk.mention(text, id=id, lang=lang, author_name=author_name)
    desk.poll()
    [draft] = desk.drafts()
    return draft


def add_user(desk, name, role="approver"):
    """A user who is off shift, so that only a person or a saved reply gives them cases."""
    with desk.session() as session:
        user = users.create_user(session, name, "correct horse battery", role, desk.clock.now(), "test")
        user.on_shift = False


def test_a_spanish_customer_gets_the_spanish_saved_reply_with_their_name_case_and_eta(desk):
    save(desk, "delay", "en", ENGLISH_DELAY)
    save(desk, "delay", "es", SPANISH_DELAY)
    draft = pending_draft(
        desk, "@acme la app se cierra al abrirla, sigo esperando una solución", lang="es", author_name="Lucía Gómez"
    )
    assert draft.language == "es" and draft.kind == "acknowledgement" and draft.eta_minutes

    assert use(desk, draft.id, "delay") == draft.id

    after = desk.draft(draft.id)
    case = desk.case_of("m-1")
    assert after.text.startswith("Hola Lucía, tu caso #")
    assert f"#{case.id}" in after.text
    assert f"{draft.eta_minutes} minutos" in after.text or "hora" in after.text
    assert after.original_text == draft.original_text  # what the template wrote stays to compare
    assert after.version == draft.version + 1
    assert after.status == DraftStatus.PENDING
    assert after.checks and {c["name"] for c in after.checks} == {c["name"] for c in draft.checks}


def test_without_a_reply_in_the_customers_language_the_brands_default_language_is_used(desk):
    save(desk, "delay", "en", ENGLISH_DELAY)
    draft = pending_draft(
        desk, "@acme la app se cierra al abrirla, sigo esperando una solución", lang="es", author_name="Lucía Gómez"
    )

    use(desk, draft.id, "delay")

    after = desk.draft(draft.id)
    assert after.text.startswith("Hi Lucía, case #")
    assert "minutes" in after.text or "hour" in after.text  # the ETA in the reply's language
    assert after.language == "en"


def test_a_name_missing_in_both_languages_is_a_clear_error(desk):
    draft = pending_draft(desk, "@acme the app crashes on start, still waiting for a fix")
    with pytest.raises(UserError, match="there is no saved reply named 'nothing' in en"):
        use(desk, draft.id, "nothing")


def test_a_saved_reply_can_tag_and_assign_the_case(desk):
    add_user(desk, "maria")
    save(
        desk, "refund", "en", "We're sorry, {{ customer.first_name }}.", {"tags": ["Refund", "vip"], "assign": "maria"}
    )
    draft = pending_draft(desk, "@acme the app crashes on start, still waiting for a fix", author_name="Ana Pérez")

    assert use(desk, draft.id, "refund") == draft.id

    case = desk.case_of("m-1")
    with desk.session() as session:
        assert tags.tags_of(session, case.id) == ["refund", "vip"]
        owner = users.get_user(session, "maria")
        assert session.get(Case, case.id).owner_id == owner.id
    assert desk.draft(draft.id).text == "We're sorry, Ana."


def test_a_saved_reply_that_resolves_becomes_the_public_close(desk):
    save(
        desk,
        "solved",
        "en",
        "Glad it's sorted, {{ customer.first_name }}! Case {{ case.reference }}.",
        {"resolve": True},
    )
    draft = pending_draft(desk, "@acme the app crashes on start, still waiting for a fix", author_name="Ana Pérez")

    close_id = use(desk, draft.id, "solved")

    assert close_id != draft.id
    close = desk.draft(close_id)
    case = desk.case_of("m-1")
    assert case.state == "resolved" and case.resolved_at is not None
    assert close.kind == "close" and close.status == DraftStatus.PENDING
    assert close.text == f"Glad it's sorted, Ana! Case #{case.id}."
    assert desk.draft(draft.id).status == DraftStatus.SUPERSEDED
    assert desk.posted() == []  # nothing goes out before a person approves


def test_an_assignee_who_left_is_refused_when_the_reply_is_used_and_nothing_changes(desk):
    add_user(desk, "maria")
    save(desk, "refund", "en", "We're sorry.", {"tags": ["refund"], "assign": "maria"})
    with desk.session() as session:
        users.get_user(session, "maria").active = False
    draft = pending_draft(desk, "@acme the app crashes on start, still waiting for a fix")

    with pytest.raises(UserError, match="no active user named 'maria'"):
        use(desk, draft.id, "refund")

    assert desk.draft(draft.id).text == draft.text
    with desk.session() as session:
        assert tags.tags_of(session, draft.case_id) == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("Hello {{ customer.first_name }}\nthanks {% if %}", r"saved reply 'broken' \(en\), line 2: "),
        ("Hi {{ customer.nmae }}", r"line 1: unknown variable 'customer.nmae'; a saved reply may use .*customer.name"),
        ("Hi\n\n{{ order_number }}", r"line 3: unknown variable 'order_number'"),
        ("Hi {{ customer.name|shout }}", r"line 1: No filter named 'shout'"),
        ("Hi\n{{ brand.__class__.__mro__ }}", r"line 2: unknown variable 'brand.__class__'"),
        ("Hi\n\n{{ customer.name.__class__ }}", r"line 3: access to attribute '__class__' of 'str' object is unsafe"),
        ("{{ 1 / 0 }}", r"line 1: division by zero"),
    ],
)
def test_a_template_error_or_unknown_variable_names_the_saved_reply_and_the_line(desk, text, message):
    with pytest.raises(UserError, match=message):
        save(desk, "broken", "en", text)
    assert desk.count(Macro) == 0


@pytest.mark.parametrize(
    "name, language, actions, message",
    [
        ("Bad name!", "en", None, "must be 1 to 60 lower-case letters"),
        ("thanks", "fr", None, "does not answer in 'fr'"),
        ("thanks", "en", {"close": True}, "unknown action 'close'"),
        ("thanks", "en", {"tags": "vip"}, "tags must be a list"),
        ("thanks", "en", {"tags": ["no<html>"]}, "may hold only letters"),
        ("thanks", "en", {"assign": "nobody"}, "no active user named 'nobody'"),
        ("thanks", "en", {"resolve": "yes"}, "resolve is true or false"),
        ("thanks", "en", ["tags"], "actions must be an object"),
    ],
)
def test_bad_names_languages_and_actions_are_refused(desk, name, language, actions, message):
    with pytest.raises(UserError, match=message):
        save(desk, name, language, "Thanks!", actions)


def test_a_name_is_unique_per_language(desk):
    save(desk, "thanks", "en", "Thanks!")
    save(desk, "thanks", "es", "¡Gracias!")
    with pytest.raises(UserError, match="already a saved reply named 'thanks' in en"):
        save(desk, "Thanks", "en", "Thank you!")


def test_two_admins_saving_one_name_at_once_get_a_clear_error_not_a_crash(desk, monkeypatch):
    save(desk, "thanks", "en", "Thanks!")
    # The other admin's row lands between this one's check and its insert: the database's rule answers.
    monkeypatch.setattr(macros, "_refuse_duplicate", lambda *args, **kwargs: None)
    with pytest.raises(UserError, match="a saved reply named 'thanks' in 'en' already exists"):
        save(desk, "thanks", "en", "Thank you!")
    other = save(desk, "welcome", "en", "Welcome!")
    with desk.session() as session, pytest.raises(UserError, match="already exists"):
        macros.update(
            session, desk.config, desk.service.renderer, other, "thanks", "en", "Hi!", None, "root", desk.clock.now()
        )
    with desk.session() as session:
        assert sorted(m.name for m in session.scalars(select(Macro))) == ["thanks", "welcome"]


def test_customer_names_and_mention_text_are_data_never_template_source(desk):
    save(desk, "hello", "en", "Hi {{ customer.name }}, sorry about that.")
    draft = pending_draft(
        desk,
        "@acme {{ 7*7 }} the app crashes on start {% raw %}, still waiting for a fix",
        author_name="{{ 7*7 }} {{ brand.__class__ }}",
    )

    use(desk, draft.id, "hello")

    text = desk.draft(draft.id).text
    assert text == "Hi {{ 7*7 }} {{ brand.__class__ }}, sorry about that."
    assert "49" not in text and "<class" not in text


def test_only_a_pending_draft_takes_a_saved_reply(desk):
    save(desk, "thanks", "en", "Thanks!")
    draft = pending_draft(desk, "@acme the app crashes on start, still waiting for a fix")
    desk.reject(draft.id, "not needed")
    with pytest.raises(UserError, match="not pending"):
        use(desk, draft.id, "thanks")


def test_creating_editing_deleting_and_using_a_saved_reply_is_audited(desk):
    add_user(desk, "maria")
    macro_id = save(desk, "thanks", "en", "Thanks!")
    with desk.session() as session:
        macros.update(
            session,
            desk.config,
            desk.service.renderer,
            macro_id,
            "thanks",
            "en",
            "Thanks, {{ customer.first_name }}!",
            {"tags": ["praise"], "assign": "maria"},
            "root",
            desk.clock.now(),
        )
    draft = pending_draft(desk, "@acme the app crashes on start, still waiting for a fix", author_name="Ana Pérez")
    use(desk, draft.id, "thanks", actor="alex")
    with desk.session() as session:
        macros.delete(session, macro_id, "root", desk.clock.now())
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert session.get(Macro, macro_id) is None

    by_action = {e.action: e for e in entries}
    assert by_action["macro_create"].actor == "root" and by_action["macro_create"].detail["name"] == "thanks"
    assert by_action["macro_update"].detail["before"] == {"text": "Thanks!", "actions": {}}
    applied = by_action["apply_macro"]
    assert (applied.actor, applied.object_type, applied.object_id) == ("alex", "draft", draft.id)
    assert applied.detail["macro"] == "thanks" and applied.detail["previous_text"] == draft.text
    assert by_action["tag"].actor == "alex" and by_action["assign"].actor == "alex"
    assert by_action["macro_delete"].detail["text"] == "Thanks, {{ customer.first_name }}!"


def test_the_variables_are_those_of_the_reply_templates(desk):
    sample = macros.sample_context(desk.config, "en")
    assert set(sample) == {"brand", "customer", "case", "mention", "eta", "summary"}
    assert "customer.first_name" in macros.variable_names(sample)
    with desk.session() as session:
        assert session.scalars(select(Draft)).first() is None  # checking a text touches nothing


def test_a_saved_reply_does_only_what_the_person_using_it_may_do(desk):
    save(desk, "solved", "en", "Glad it's sorted!", {"resolve": True})
    draft = pending_draft(desk, "@acme the app crashes on start, still waiting for a fix")

    def only_view(permission: str) -> bool:
        return permission == "view"

    with desk.session() as session, pytest.raises(UserError, match="runs 'resolve', which needs the 'case' permission"):
        macros.apply_macro(
            session, desk.config, desk.service.renderer, draft.id, "solved", "guest", desk.clock.now(), only_view
        )

    assert desk.case_of("m-1").state != "resolved"
    assert desk.draft(draft.id).text == draft.text
