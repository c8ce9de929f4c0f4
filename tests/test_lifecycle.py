"""User stories of the whole lifecycle, through the daemon's cycle and the sandbox responder."""

from __future__ import annotations

from bot.storage.models import Mention


def test_a_complaint_gets_an_acknowledgement_with_an_eta_that_is_posted_in_the_same_thread(desk):
    desk.mention("@acme my internet has been down since this morning and it's still not working", id="t-1")
    desk.poll()

    [ack] = desk.drafts()
    assert ack.kind == "acknowledgement"
    assert ack.channel == "public"
    assert ack.eta_minutes and "30 minutes" in ack.text
    assert desk.case_of("t-1").state == "awaiting_approval"

    sent = desk.approve(ack.id)

    assert sent.status == "sent"
    [posted] = desk.posted()
    assert posted.target_id == "t-1"
    assert posted.action == "reply_public"
    assert desk.sandbox().posted[0].thread_key == "t-1"
    case = desk.case_of("t-1")
    assert case.state == "answered_public"
    assert case.first_response_at == desk.clock.now()


def test_a_billing_problem_is_moved_to_private_with_a_public_invitation_and_a_private_opener(desk):
    desk.mention("@acme you charged my card twice this month, I want a refund", id="bill-1")
    desk.poll()

    kinds = {d.kind: d for d in desk.drafts()}
    assert set(kinds) == {"invitation", "private_message"}
    assert kinds["invitation"].channel == "public"
    assert kinds["private_message"].channel == "private"

    desk.approve(kinds["invitation"].id)
    assert desk.case_of("bill-1").state == "moved_private"
    desk.approve(kinds["private_message"].id)
    assert desk.case_of("bill-1").state == "waiting_on_customer"
    actions = [m.action for m in desk.posted()]
    assert actions == ["reply_public", "send_private"]


def test_resolving_a_case_drafts_a_positive_public_close_that_sums_up_what_was_agreed(desk):
    desk.mention("@acme my order never arrived, it's been two weeks", id="o-1")
    desk.poll()
    desk.approve(desk.drafts()[0].id)
    case = desk.case_of("o-1")

    close = desk.resolve(case.id, summary="a replacement ships today with free express delivery")

    assert close.kind == "close" and close.channel == "public"
    assert "replacement ships today" in close.text
    assert desk.case_of("o-1").state == "resolved"
    desk.approve(close.id)
    assert desk.case_of("o-1").state == "closed_public"
    assert desk.posted()[-1].action == "close_public"


def test_a_follow_up_in_the_thread_joins_the_open_case_and_supersedes_the_older_draft(desk):
    desk.mention("@acme my router keeps rebooting every hour, not working", id="r-1")
    desk.poll()
    [first] = desk.drafts()
    desk.clock.advance(minutes=10)
    desk.mention("@acme hello?? still rebooting", id="r-2", thread="r-1", in_reply_to="r-1")
    desk.poll()

    assert desk.case_of("r-2").id == desk.case_of("r-1").id
    assert desk.draft(first.id).status == "superseded"
    [latest] = desk.drafts()
    assert latest.mention_id != first.mention_id


def test_a_new_message_on_a_closed_case_reopens_it(desk):
    desk.mention("@acme the app crashes when I open my invoices, not working", id="a-1")
    desk.poll()
    desk.approve(desk.drafts()[0].id)
    case = desk.case_of("a-1")
    desk.approve(desk.resolve(case.id, "fixed in version 4.2").id)
    assert desk.case_of("a-1").state == "closed_public"

    desk.clock.advance(hours=2)
    desk.mention("@acme it's crashing again after the update, still broken", id="a-2", thread="a-1", in_reply_to="a-1")
    desk.poll()

    reopened = desk.case_of("a-2")
    assert reopened.id == case.id
    assert reopened.reopen_count == 1
    assert reopened.state == "awaiting_approval"
    assert reopened.first_response_at is None


def test_a_mention_that_only_talks_about_the_brand_is_monitored_without_a_draft(desk):
    desk.mention("watching the acme ad during the game lol", id="p-1", addressed=False)
    desk.poll()

    assert desk.drafts() == []
    assert desk.case_of("p-1").state == "monitoring"


def test_every_mention_is_stored_once_however_often_it_is_polled(desk):
    desk.mention("@acme is there a way to change my plan online?", id="q-1")
    for _ in range(3):
        desk.poll()
    desk.service.pollers["brand"].listener.fetch({})  # a re-read from the start finds it again...
    with desk.session() as session:
        from bot.intake.accounts import get_account

        get_account(session, "brand").cursor = {}
    desk.poll()  # ...but storing it again changes nothing
    assert desk.count(Mention) == 1
