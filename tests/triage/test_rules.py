"""Rules from config.yaml sit on top of whatever the model says, and every rule that fires is a reason."""

from __future__ import annotations

from bot.config import parse_config
from bot.triage.decision import Triage, TriageInput
from bot.triage.rules import Rules


def model_says(**fields) -> Triage:
    """A model's decision before the rules: an answerable question unless told otherwise."""
    decision = dict(
        language="en",
        category="question",
        sentiment="neutral",
        needs_response=True,
        mode="proactive",
        level="self_service",
        priority=0.0,
        reasons=["model: level self_service (0.90)"],
        confidences={"level": 0.9, "needs_response": 0.9, "mode": 0.6, "category": 0.9},
    )
    decision.update(fields)
    return Triage(**decision)


def rules(**triage) -> Rules:
    config = parse_config({"brand": {"handles": ["@acme", "@acmesupport"]}, "triage": triage})
    return Rules(config.triage, config.brand.handles)


def test_unambiguous_money_and_security_phrases_move_the_mention_to_private_in_both_languages():
    for text, keyword in (
        ("@acme you charged me twice for the same order", "charged me twice"),
        ("@acme me habéis cobrado dos veces el mismo pedido", "me habéis cobrado dos veces"),
        ("@acme someone used my card in another country", "someone used my card"),
        ("@acme me han hackeado la cuenta", "me han hackeado"),
    ):
        triage = rules().apply(TriageInput(id="1", text=text), model_says())
        assert triage.level == "private" and triage.needs_response is True, text
        assert f"rule: keyword '{keyword}' → private" in triage.reasons
        assert triage.confidences["level"] == 1.0


def test_a_word_alone_is_left_to_the_model():
    for text in ("@acme which cards do you accept?", "@acme how long do refunds take?", "@acme ¿aceptáis tarjeta?"):
        triage = rules().apply(TriageInput(id="1", text=text), model_says())
        assert triage.level == "self_service", text
        assert not any(reason.startswith("rule: keyword") for reason in triage.reasons)


def test_a_card_number_an_iban_or_a_phone_number_in_a_mention_makes_it_private():
    for text, kind in (
        ("@acme my card 4539 1488 0343 6467 was charged", "a payment card number"),
        ("@acme mi IBAN es ES91 2100 0418 4502 0005 1332, ¿por qué no llega?", "an IBAN"),
        ("@acme call me on +44 7911 123456 please", "a phone number"),
    ):
        triage = rules().apply(TriageInput(id="1", text=text), model_says())
        assert triage.level == "private" and triage.needs_response is True, text
        assert f"rule: the mention contains {kind} → private" in triage.reasons


def test_a_keyword_matches_whole_words_only():
    triage = rules().apply(TriageInput(id="1", text="@acme billboard on 5th street is great"), model_says())
    assert triage.level == "self_service"
    assert not any("keyword" in reason for reason in triage.reasons)


def test_a_regex_rule_from_config_fires_and_says_which_pattern():
    custom = rules(level_rules=[{"level": "investigate", "patterns": [r"\border\s*#?\d{5,}"]}])
    triage = custom.apply(TriageInput(id="1", text="@acme order #12345 is missing"), model_says())
    assert triage.level == "investigate"
    assert r"rule: pattern /\border\s*#?\d{5,}/ → investigate" in triage.reasons, triage.reasons


def test_a_rule_never_lowers_the_level_the_model_chose():
    custom = rules(level_rules=[{"level": "self_service", "keywords": ["help"]}])
    triage = custom.apply(
        TriageInput(id="1", text="@acme help, the outage is still on"), model_says(level="investigate")
    )
    assert triage.level == "investigate"


def test_spam_is_monitored_whatever_the_model_thought():
    triage = rules().apply(TriageInput(id="1", text="FREE FOLLOWERS for @acme fans"), model_says(level="investigate"))
    assert (triage.category, triage.level, triage.needs_response) == ("other", "monitor", False)
    assert "rule: spam pattern → monitor, no response" in triage.reasons


def test_a_vip_author_is_always_answered():
    triage = rules(vip_authors=["@bigjournalist"]).apply(
        TriageInput(id="1", text="Acme is ok I guess", author="BigJournalist"),
        model_says(category="other", needs_response=False, level="monitor"),
    )
    assert triage.needs_response is True and triage.level == "investigate"
    assert "rule: VIP author @bigjournalist → always answered" in triage.reasons


def test_a_mention_addressed_to_the_brand_is_reactive_and_one_about_it_proactive():
    addressed = rules().apply(TriageInput(id="1", text="hi there", addressed_to_brand=True), model_says())
    assert addressed.mode == "reactive" and "rule: addressed to the brand → reactive" in addressed.reasons
    handle = rules().apply(TriageInput(id="2", text="thanks @AcmeSupport!"), model_says())
    assert handle.mode == "reactive" and "rule: names a brand handle → reactive" in handle.reasons
    about = rules().apply(TriageInput(id="3", text="anyone tried acme?", addressed_to_brand=False), model_says())
    assert about.mode == "proactive"
    assert "rule: talks about the brand without addressing it → proactive" in about.reasons


def test_without_any_signal_the_models_mode_stands():
    triage = rules().apply(
        TriageInput(id="1", text="my order never came"), model_says(mode="reactive", category="complaint")
    )
    assert triage.mode == "reactive"
    assert not any(reason.startswith("rule: ") and "reactive" in reason for reason in triage.reasons)


def test_proactive_praise_is_monitored_but_a_proactive_question_the_brand_can_answer_is_not():
    praise = rules().apply(
        TriageInput(id="1", text="acme coffee is the best", addressed_to_brand=False), model_says(category="praise")
    )
    assert praise.level == "monitor" and praise.needs_response is False
    assert "rule: proactive praise with nothing to solve → monitor" in praise.reasons
    question = rules().apply(
        TriageInput(id="2", text="anyone know if acme ships to Chile?", addressed_to_brand=False), model_says()
    )
    assert question.level == "self_service" and question.needs_response is True


def test_rules_override_the_real_model_too(tmp_path):
    from bot.triage.build import build_triager

    triager = build_triager(parse_config({"data_dir": str(tmp_path)}))
    plain, double, general = triager.triage(
        [
            TriageInput(id="1", text="@acme do you have a store in Valencia?"),
            TriageInput(id="2", text="@acme do you have a store in Valencia? you charged me twice there yesterday"),
            TriageInput(id="3", text="@acme do you have a store in Valencia? can I pay there by card?"),
        ]
    )
    assert plain.level == "self_service" and general.level == "self_service"
    assert double.level == "private"
    assert any(
        reason.startswith("rule: keyword 'charged me twice'") or reason.startswith("model: level private")
        for reason in double.reasons
    )
    assert any(reason.startswith("model: level ") for reason in double.reasons)
