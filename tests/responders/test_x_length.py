"""Counting a reply's length the way X does: 280 weighted characters, every link 23."""

from __future__ import annotations

from responders.x import X_MAX_LENGTH, fits_on_x, x_length


def test_plain_latin_text_counts_one_per_character():
    assert x_length("Sorry to hear that, María!") == 26
    assert fits_on_x("a" * 280) and not fits_on_x("a" * 281)


def test_every_link_counts_23_however_long_it_is():
    short = "Help: https://acme.example/a"
    long = "Help: https://help.acme.example/articles/12345-how-to-export-your-invoices-to-csv?utm_source=x"
    assert x_length(short) == x_length(long) == 6 + 23
    assert x_length("See acme.com.") == 4 + 23 + 1  # a bare domain is a link too; the full stop is not


def test_cjk_and_emoji_count_two():
    assert x_length("日本語") == 6
    assert x_length("Thanks 👍") == 7 + 2
    assert x_length("👍🏽") == 2 and x_length("👨‍👩‍👧") == 2 and x_length("🇪🇸") == 2


def test_a_reply_with_a_link_fits_where_its_raw_length_would_not():
    text = "We're sorry! " + "x" * 230 + " https://help.acme.example/" + "y" * 60
    assert len(text) > X_MAX_LENGTH and fits_on_x(text)
