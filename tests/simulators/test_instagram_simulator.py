"""The Instagram simulator answers like the Instagram Graph API over real HTTP, and fails on demand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from bot.simulators.instagram import InstagramSimulator, seed_demo

TOKEN = {"access_token": "sim-page-token"}
NOW = datetime(2024, 5, 1, 12, 0, 0)


@pytest.fixture
def now() -> list[datetime]:
    return [NOW]


@pytest.fixture
def ig_sim(now: list[datetime]) -> Iterator[InstagramSimulator]:
    with InstagramSimulator(clock=lambda: now[0], first_id=1) as sim:
        yield sim


def get(sim: InstagramSimulator, path: str, **params) -> httpx.Response:
    return httpx.get(f"{sim.url}/v19.0/{path}", params={**TOKEN, **params})


def post(sim: InstagramSimulator, path: str, **body) -> httpx.Response:
    return httpx.post(f"{sim.url}/v19.0/{path}", json=body, headers={"Authorization": "Bearer sim-page-token"})


def test_the_brand_pages_through_its_media_newest_first_with_after_cursors(ig_sim):
    for hour in range(5):
        ig_sim.media(f"post {hour}", created_at=NOW - timedelta(hours=5 - hour))
    first = get(ig_sim, f"{ig_sim.ig_user_id}/media", limit=2).json()
    assert [m["caption"] for m in first["data"]] == ["post 4", "post 3"]
    assert set(first["data"][0]) == {"id", "caption", "timestamp", "media_type", "permalink", "username"}
    assert first["data"][0]["permalink"].startswith("https://www.instagram.com/p/")
    second = get(ig_sim, f"{ig_sim.ig_user_id}/media", limit=2, after=first["paging"]["cursors"]["after"]).json()
    last = httpx.get(second["paging"]["next"]).json()  # next keeps the token and the limit
    assert [m["caption"] for m in second["data"] + last["data"]] == ["post 2", "post 1", "post 0"]
    assert "next" not in last["paging"]


def test_media_since_keeps_only_newer_posts(ig_sim):
    ig_sim.media("old", created_at=NOW - timedelta(days=2))
    ig_sim.media("fresh", created_at=NOW - timedelta(minutes=5))
    since = int((NOW - timedelta(hours=1) - datetime(1970, 1, 1)).total_seconds())
    assert [m["caption"] for m in get(ig_sim, f"{ig_sim.ig_user_id}/media", since=since).json()["data"]] == ["fresh"]


def test_comments_and_replies_come_from_their_own_edges_with_their_fields(ig_sim):
    media = ig_sim.media("New trail runners")
    complaint = ig_sim.comment(media, "maria.lopez", "The sole came off", created_at=NOW - timedelta(minutes=30))
    ig_sim.comment(media, "kei_trails", "True to size?", created_at=NOW - timedelta(minutes=10))
    reply = ig_sim.comment(complaint, "jonas.runs", "Mine too")
    comments = get(ig_sim, f"{media}/comments").json()["data"]
    assert [c["text"] for c in comments] == ["The sole came off", "True to size?"]
    assert comments[0]["from"] == ig_sim.person("maria.lopez") and comments[0]["hidden"] is False
    assert "parent_id" not in comments[0] and comments[0]["like_count"] == 0
    newest = get(ig_sim, f"{media}/comments", order="reverse_chronological").json()["data"]
    assert newest[0]["text"] == "True to size?"
    replies = get(ig_sim, f"{complaint}/replies").json()["data"]
    assert [(r["id"], r["text"], r["parent_id"]) for r in replies] == [(reply, "Mine too", complaint)]
    node = get(ig_sim, complaint).json()
    assert node["media"] == {"id": media} and node["can_reply_privately"] is True


def test_a_reply_to_a_reply_joins_the_top_level_thread_and_the_brand_cannot_answer_a_reply(ig_sim):
    media = ig_sim.media("New trail runners")
    top = ig_sim.comment(media, "maria.lopez", "The sole came off")
    reply = ig_sim.comment(top, "jonas.runs", "Mine too")
    nested = ig_sim.comment(reply, "maria.lopez", "Really?")
    assert get(ig_sim, nested).json()["parent_id"] == top
    refused = post(ig_sim, f"{reply}/replies", message="Sorry to hear that")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "(#100) Replies can only be added to top-level comments"
    answered = post(ig_sim, f"{top}/replies", message="Sorry! DM us your order number.")
    assert ig_sim.brand_replies() == [
        {
            "kind": "reply",
            "id": answered.json()["id"],
            "text": "Sorry! DM us your order number.",
            "on": top,
            "media_id": media,
        }
    ]


def test_the_brand_cannot_reply_without_a_message_or_to_an_unknown_comment(ig_sim):
    top = ig_sim.comment(ig_sim.media("post"), "maria.lopez", "hello")
    assert post(ig_sim, f"{top}/replies", message="  ").json()["error"]["code"] == 100
    assert post(ig_sim, "999/replies", message="hi").json()["error"]["error_subcode"] == 33


def test_hiding_a_comment_shows_in_hidden_and_blocks_replies(ig_sim):
    media = ig_sim.media("post")
    spam = ig_sim.comment(media, "cheap.deals", "Buy followers here")
    answer = httpx.post(f"{ig_sim.url}/v19.0/{spam}", data={"hide": "true"}, params=TOKEN)
    assert answer.json() == {"success": True}
    assert get(ig_sim, f"{media}/comments").json()["data"][0]["hidden"] is True
    assert post(ig_sim, f"{spam}/replies", message="no").json()["error"]["message"] == "(#100) The comment is hidden"
    assert ig_sim.posted[-1] == {"kind": "hide", "id": spam, "hidden": True}


def test_a_private_reply_works_once_and_a_second_is_refused(ig_sim):
    comment = ig_sim.comment(ig_sim.media("post"), "maria.lopez", "charged twice")
    body = {"recipient": {"comment_id": comment}, "message": {"text": "Hi Maria, we're on it"}}
    first = post(ig_sim, f"{ig_sim.page_id}/messages", **body)
    assert first.json()["recipient_id"] == ig_sim.person("maria.lopez")["id"]
    assert get(ig_sim, comment).json()["can_reply_privately"] is False
    second = post(ig_sim, f"{ig_sim.page_id}/messages", **body)
    assert second.status_code == 400 and second.json()["error"]["code"] == 10900
    conversations = get(ig_sim, f"{ig_sim.page_id}/conversations", platform="instagram").json()["data"]
    messages = get(ig_sim, f"{conversations[0]['id']}/messages").json()["data"]
    assert [m["message"] for m in messages] == ["Hi Maria, we're on it"]


def test_a_private_reply_after_seven_days_is_refused(ig_sim, now):
    comment = ig_sim.comment(ig_sim.media("post"), "maria.lopez", "charged twice")
    now[0] = NOW + timedelta(days=7, minutes=1)
    assert get(ig_sim, comment).json()["can_reply_privately"] is False
    late = httpx.post(
        f"{ig_sim.url}/v19.0/{ig_sim.ig_user_id}/messages",
        params=TOKEN,
        data={"recipient": json.dumps({"comment_id": comment}), "message": json.dumps({"text": "Hi"})},
    )
    assert late.json()["error"]["code"] == 10903


def test_a_dm_outside_24_hours_is_refused_and_inside_is_accepted(ig_sim, now):
    ig_sim.message("dan.okafor", "Where is order 55120?", created_at=NOW - timedelta(hours=25))
    dan = ig_sim.person("dan.okafor")["id"]
    body = {"recipient": {"id": dan}, "message": {"text": "Let me check"}}
    refused = post(ig_sim, "me/messages", **body).json()["error"]
    assert (refused["code"], refused["error_subcode"]) == (10, 2018278)
    ig_sim.message("dan.okafor", "Hello?")
    sent = post(ig_sim, "me/messages", **body).json()
    assert sent["recipient_id"] == dan and ig_sim.posted[-1]["kind"] == "message"
    conversation = get(ig_sim, f"{ig_sim.page_id}/conversations", platform="instagram", user_id=dan).json()["data"][0]
    newest = get(ig_sim, f"{conversation['id']}/messages").json()["data"][0]
    assert newest["message"] == "Let me check" and newest["to"]["data"] == [ig_sim.person("dan.okafor")]


def test_conversations_without_platform_instagram_are_empty(ig_sim):
    ig_sim.message("dan.okafor", "hi")
    assert get(ig_sim, f"{ig_sim.page_id}/conversations").json() == {"data": []}


def test_tags_list_other_peoples_posts_and_every_reply_reports_usage(ig_sim):
    ig_sim.media("our own post")
    tagged = ig_sim.tagged_media("sofia.moves", "Morning run in my new @acme shoes")
    response = get(ig_sim, f"{ig_sim.ig_user_id}/tags")
    assert [(m["id"], m["username"]) for m in response.json()["data"]] == [(tagged, "sofia.moves")]
    usage = json.loads(response.headers["x-business-use-case-usage"])[ig_sim.ig_user_id][0]
    assert usage["type"] == "instagram" and "call_count" in json.loads(response.headers["x-app-usage"])


def test_an_injected_rate_limit_answers_429_with_the_time_to_regain_access(ig_sim):
    ig_sim.inject("rate_limit", path="/media", reset_in=600)
    limited = get(ig_sim, f"{ig_sim.ig_user_id}/media")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == 4
    usage = json.loads(limited.headers["x-business-use-case-usage"])[ig_sim.ig_user_id][0]
    assert (usage["call_count"], usage["estimated_time_to_regain_access"]) == (100, 10)
    assert get(ig_sim, f"{ig_sim.ig_user_id}/media").status_code == 200  # one-shot


def test_a_revoked_token_answers_error_190(ig_sim):
    ig_sim.revoke()
    error = get(ig_sim, f"{ig_sim.ig_user_id}/media").json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (190, 460, "OAuthException")


def test_malformed_item_damages_the_first_item_only(ig_sim):
    media = ig_sim.media("post")
    ig_sim.comment(media, "maria.lopez", "first", created_at=NOW - timedelta(minutes=2))
    ig_sim.comment(media, "kei_trails", "second", created_at=NOW - timedelta(minutes=1))
    ig_sim.inject("malformed_item", path="/comments")
    first, second = get(ig_sim, f"{media}/comments").json()["data"]
    assert first["text"] == {"unexpected": "shape"} and "timestamp" not in first and first["id"]
    assert second["text"] == "second" and "timestamp" in second


def test_the_demo_seed_has_a_complaint_thread_a_question_a_tag_and_a_dm(ig_sim):
    seed_demo(ig_sim)
    media = get(ig_sim, f"{ig_sim.ig_user_id}/media").json()["data"]
    comments = get(ig_sim, f"{media[0]['id']}/comments").json()["data"]
    assert [c["username"] for c in comments] == ["maria.lopez", "kei_trails"]
    assert len(get(ig_sim, f"{comments[0]['id']}/replies").json()["data"]) == 1
    assert len(get(ig_sim, f"{ig_sim.ig_user_id}/tags").json()["data"]) == 1
    assert len(get(ig_sim, f"{ig_sim.page_id}/conversations", platform="instagram").json()["data"]) == 1
