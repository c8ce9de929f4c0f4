"""Quality checks: safe, short, empathetic, in the customer's language; a failing check needs an audited override."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.casework.approval import ChecksFailed
from bot.casework.quality_checks import failing, find_personal_data, iban_valid, luhn_valid, run_checks
from bot.config import ChecksConfig
from bot.storage.models import AuditEntry
from tests.harness import Desk

COMPLAINT = "@acme my internet has been down since this morning and it's still not working"


def failed_names(text, kind="reply", channel="public", platform="x", category="question", config=None, language="en"):
    return [c.name for c in run_checks(text, kind, channel, platform, category, config, language) if not c.ok]


@pytest.mark.parametrize(
    "leak, kind",
    [
        ("4539 1488 0343 6467", "a payment card number"),
        ("ana.ruiz@example.com", "an e-mail address"),
        ("ES91 2100 0418 4502 0005 1332", "an IBAN"),
        ("+34 612 345 678", "a phone number"),
        ("order #98765432", "an order or account number"),
    ],
)
def test_a_public_draft_with_personal_data_cannot_be_approved_without_an_audited_override(desk, leak, kind):
    desk.mention(COMPLAINT, id="t-1")
    desk.poll()
    [ack] = desk.drafts()
    edited = f"@ana We're sorry about this. We'll update you within 30 minutes about {leak}."

    with pytest.raises(ChecksFailed) as refused:
        desk.approve(ack.id, text=edited)
    assert f"public reply contains {kind}" in str(refused.value)
    assert desk.posted() == []

    sent = desk.approve(ack.id, text=edited, override="the customer posted this number publicly himself")
    assert sent.status == "sent" and sent.override_reason == "the customer posted this number publicly himself"
    with desk.session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "override_checks"))
        assert entry.detail["checks"] == ["no_personal_data"] and entry.actor == "maria"


def test_national_ids_and_national_phone_formats_are_personal_data_but_order_numbers_are_not():
    assert find_personal_data("mi DNI es 12345678Z") == ["a national ID number"]
    assert find_personal_data("NIE X1234567L, por si acaso") == ["a national ID number"]
    assert find_personal_data("my SSN is 536-90-4399") == ["a national ID number"]
    assert find_personal_data("call me at (415) 555-2671 after 6") == ["a phone number"]
    assert find_personal_data("llamadme al 612 34 56 78") == ["a phone number"]
    assert find_personal_data("parcel 1Z999AA10123456784, ticket 20231128004512, code 88213") == []
    assert find_personal_data("DNI 12345678A (wrong letter)") == []


def test_card_numbers_need_a_valid_luhn_checksum_and_ibans_a_valid_mod_97():
    assert luhn_valid("4539148803436467") and not luhn_valid("4539148803436468")
    assert find_personal_data("ref 4539 1488 0343 6468 noted") == []
    assert iban_valid("ES91 2100 0418 4502 0005 1332") and not iban_valid("ES00 2100 0418 4502 0005 1332")
    assert find_personal_data("see case #12 at https://help.acme.example/a@b.com") == []


def test_the_brand_may_publish_its_own_contacts_and_order_patterns_are_configurable():
    config = ChecksConfig(
        allowed_contacts=["help@acme.example", "+1 800 555 0100"], personal_data_patterns=[r"\bACME-\d{5}\b"]
    )
    assert find_personal_data("write to help@acme.example or call +1 800 555 0100", config) == []
    assert find_personal_data("your ticket ACME-12345 is open", config) == ["an order or account number"]
    assert find_personal_data("your ticket ACME-12345 is open") == []


def test_platform_length_limits_are_configured_per_platform_and_links_count_as_on_x():
    text = "@ana " + "a" * 250 + " https://help.acme.example/a/very/long/path/that/x/shortens"
    assert "length" not in failed_names(text, config=ChecksConfig(max_words_public=500, disabled=["language"]))
    assert "length" in failed_names(text, config=ChecksConfig(platform_limits={"x": 200}, disabled=["language"]))


def test_an_acknowledgement_must_name_a_time():
    assert "eta" in failed_names(
        "@ana We're sorry, we are looking into it and will be in touch soon.", kind="acknowledgement"
    )
    assert "eta" not in failed_names("@ana We're sorry, we'll get back to you within 2 hours.", kind="acknowledgement")


def test_an_answer_to_a_complaint_opens_with_empathy():
    cold = "@ana Restart the router and check the lights. Details: https://help.acme.example/"
    assert "empathy" in failed_names(cold, category="complaint")
    assert "empathy" not in failed_names("@ana Sorry about that! " + cold[5:], category="complaint")
    assert "empathy" not in failed_names(cold, category="question")  # only complaints need it
    spanish = "@ana Lo sentimos mucho, reinicia el router y revisa las luces, por favor."
    assert "empathy" not in failed_names(spanish, category="complaint", language="es")


def test_an_over_long_explanation_fails_and_the_limits_are_tunable():
    rambling = "@ana " + " ".join(["We checked this and the network is fine."] * 8)
    assert "brevity" in failed_names(rambling)
    assert "brevity" not in failed_names(rambling, config=ChecksConfig(max_words_public=200, max_sentences=10))


def test_a_closing_message_sums_up_what_was_agreed(desk):
    desk.mention(COMPLAINT, id="t-1")
    desk.poll()
    desk.approve(desk.drafts()[0].id)
    case = desk.case_of("t-1")
    bare = desk.resolve(case.id)
    assert [c["name"] for c in failing(bare.checks)] == ["summary"]
    with pytest.raises(ChecksFailed):
        desk.approve(bare.id)
    assert "summary" not in [
        c["name"]
        for c in failing(
            desk.approve(
                bare.id, text="@ana Glad it's working again! To sum up: a technician replaced the line card today."
            ).checks
        )
    ]


def test_the_reply_must_be_in_the_customers_language():
    english = "@ana Thanks for your message, we are checking it and we will get back to you soon."
    assert "language" in failed_names(english, language="es")
    assert "language" not in failed_names(english, language="en")


def test_checks_can_be_switched_off_in_config():
    names = [
        c.name
        for c in run_checks(
            "@ana ok", "close", "public", "x", "complaint", ChecksConfig(disabled=["summary", "brevity"]), "en"
        )
    ]
    assert "summary" not in names and "brevity" not in names and "length" in names


@pytest.mark.parametrize(
    "text, lang",
    [
        (COMPLAINT, "en"),
        ("@acme you charged my card twice this month, I want a refund", "en"),
        ("@acme how do I change my plan online?", "en"),
        ("@acme mi internet no funciona desde esta mañana y sigue sin ir", "es"),
        ("@acme me habéis cobrado dos veces la factura, quiero un reembolso", "es"),
    ],
)
def test_the_bundled_templates_pass_every_check(desk, text, lang):
    desk.mention(text, id="m-1", lang=lang)
    desk.poll()
    drafts = desk.drafts()
    assert drafts
    for draft in drafts:
        assert failing(draft.checks) == [], (draft.kind, draft.text)


def test_an_edit_in_the_wrong_language_is_blocked_on_approval(tmp_path, database_url):
    desk = Desk(tmp_path, database_url)
    try:
        desk.mention("@acme mi internet no funciona desde esta mañana y sigue sin ir", id="es-1", lang="es")
        desk.poll()
        [ack] = desk.drafts()
        with pytest.raises(ChecksFailed, match="customer writes in es"):
            desk.approve(ack.id, text="@ana We're sorry, we are on it and will update you within 30 minutes.")
    finally:
        desk.service.engine.dispose()
