"""Drafting: templates chosen by kind, language and platform; mention text is data, never template source."""

from __future__ import annotations

import itertools

import pytest

from bot.casework.drafting import TemplateRenderer

KINDS = ("reply", "acknowledgement", "invitation", "private_message", "close", "follow_up")
CATEGORIES = ("complaint", "question", "request", "praise", "suggestion", "other")


def context(language: str, name: str = "Ana Pérez", handle: str | None = "@ana") -> dict:
    return {
        "brand": {
            "name": "Acme",
            "help_url": "https://help.acme.example/",
            "status_url": "https://s.example/",
            "signature": "",
        },
        "customer": {"handle": handle, "name": name, "first_name": name.split()[0]},
        "case": {"id": 7, "reference": "#7"},
        "mention": {
            "category": "complaint",
            "sentiment": "negative",
            "level": "investigate",
            "language": language,
            "platform": "x",
        },
        "eta": {"minutes": 45, "text": "45 minutes" if language == "en" else "45 minutos"},
        "summary": "a technician visits on Monday",
    }


@pytest.mark.parametrize(
    "language, kind, category, platform", list(itertools.product(("en", "es"), KINDS, CATEGORIES, ("x", "facebook")))
)
def test_every_kind_renders_in_both_languages_within_the_platform_limit(language, kind, category, platform):
    name, text = TemplateRenderer().render(kind, language, platform, category, context(language))
    assert name.startswith(f"{language}/")
    assert text and "{{" not in text and "None" not in text
    if kind in ("reply", "acknowledgement", "invitation", "close") and platform == "x":
        assert len(text) <= 280
    if kind == "acknowledgement":
        assert "45" in text


def test_a_hostile_customer_name_is_printed_literally_never_evaluated():
    hostile = "{{ brand.__class__.__mro__ }} {% raw %}"
    _, text = TemplateRenderer().render("private_message", "en", "x", "question", context("en", name=hostile))
    assert "{{" in text  # the name's first word, printed as it is
    assert "<class" not in text


def test_the_mention_text_never_reaches_a_template(desk):
    desk.mention("@acme {{ 7*7 }} {% for x in range(3) %}boom{% endfor %} my internet is down, not working", id="h-1")
    desk.poll()
    [draft] = desk.drafts()
    assert "49" not in draft.text and "boom" not in draft.text


def test_a_missing_template_is_a_clear_error(tmp_path):
    with pytest.raises(LookupError, match="no template for reply in en"):
        TemplateRenderer(tmp_path).render("reply", "en", "x", "question", context("en"))


def test_a_spanish_mention_gets_a_spanish_reply(desk):
    desk.mention("@acme ¿cómo puedo cambiar mi tarifa? gracias", id="es-1", lang="es")
    desk.poll()
    [draft] = desk.drafts()
    assert draft.language == "es"
    assert draft.template.startswith("es/")
