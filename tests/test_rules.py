"""Rules from config.yaml sit on top of whatever the model says, and every rule that fires is a reason."""
from __future__ import annotations

from bot.config import parse_config
from bot.rules import Rules
from bot.triage import Triage, TriageInput


def model_says(**fields) -> Triage:
    """A model's decision before the rules: an answerable question unless told otherwise."""
    decision = dict(language="en", category="question", sentiment="neutral", needs_response=True, mode="proactive",
                    level="self_service", priority=0.0, reasons=["model: level self_service (0.90)"],
                    confidences={"level": 0.9, "needs_response": 0.9, "mode": 0.6, "category": 0.9})
    decision.update(fields)
    return Triage(**decision)


def rules(**triage) -> Rules:
    config = parse_config({"brand": {"handles": ["@acme", "@acmesupport"]}, "triage": triage})
    return Rules(config.triage, config.brand.handles)


def test_billing_words_in_english_and_spanish_move_the_mention_to_private():
    for text, keyword in (("@acme why is my bill so high this month?", "bill"),
                          ("@acme ¿por qué la factura es tan alta?", "factura"),
                          ("@acme I forgot my PASSWORD", "password"),
                          ("@acme me cobraron dos veces", "cobraron")):
        triage = rules().apply(TriageInput(id="1", text=text), model_says())
        assert triage.level == "private" and triage.needs_response is True
        assert f"rule: keyword '{keyword}' → private" in triage.reasons
        assert triage.confidences["level"] == 1.0


def test_a_keyword_matches_whole_words_only():
    triage = rules().apply(TriageInput(id="1", text="@acme billboard on 5th street is great"), model_says())
    assert triage.level == "self_service"
    assert not any("keyword" in reason for reason in triage.reasons)


def test_a_regex_rule_from_config_fires_and_says_which_pattern():
    custom = rules(level_rules=[{"level": "investigate", "patterns": [r"\border\s*#?\d{5,}"]}])
    triage = custom.apply(TriageInput(id="1", text="@acme order #123456 is missing"), model_says())
    assert triage.level == "investigate"
    assert r"rule: pattern /\border\s*#?\d{5,}/ → investigate" in triage.reasons


def test_a_rule_never_lowers_the_level_the_model_chose():
    custom = rules(level_rules=[{"level": "self_service", "keywords": ["help"]}])
    triage = custom.apply(TriageInput(id="1", text="@acme help, the outage is still on"), model_says(level="investigate"))
    assert triage.level == "investigate"


def test_spam_is_monitored_whatever_the_model_thought():
    triage = rules().apply(TriageInput(id="1", text="FREE FOLLOWERS for @acme fans"), model_says(level="investigate"))
    assert (triage.category, triage.level, triage.needs_response) == ("other", "monitor", False)
    assert "rule: spam pattern → monitor, no response" in triage.reasons


def test_a_vip_author_is_always_answered():
    triage = rules(vip_authors=["@bigjournalist"]).apply(
        TriageInput(id="1", text="Acme is ok I guess", author="BigJournalist"),
        model_says(category="other", needs_response=False, level="monitor"))
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
    triage = rules().apply(TriageInput(id="1", text="my order never came"), model_says(mode="reactive", category="complaint"))
    assert triage.mode == "reactive"
    assert not any(reason.startswith("rule: ") and "reactive" in reason for reason in triage.reasons)


def test_a_proactive_question_with_nothing_to_solve_is_monitored():
    triage = rules().apply(TriageInput(id="1", text="is acme any good?", addressed_to_brand=False), model_says())
    assert triage.level == "monitor" and triage.needs_response is False
    assert "rule: proactive question with nothing to solve → monitor" in triage.reasons


def test_rules_override_the_real_model_too(tmp_path):
    from bot.triage import build_triager

    triager = build_triager(parse_config({"data_dir": str(tmp_path)}))
    # The model alone calls the payment question self-service; the 'card' keyword raises it. (A declined card is
    # private for the model itself, and a rule never records a level it does not raise.)
    plain, billing, declined = triager.triage([
        TriageInput(id="1", text="@acme do you have a store in Valencia?"),
        TriageInput(id="2", text="@acme do you have a store in Valencia? can I pay there by card?"),
        TriageInput(id="3", text="@acme do you have a store in Valencia? my card was declined")])
    assert plain.level == "self_service"
    assert billing.level == "private" and declined.level == "private"
    assert "rule: keyword 'card' → private" in billing.reasons
    assert any(reason.startswith("model: level ") for reason in billing.reasons)
