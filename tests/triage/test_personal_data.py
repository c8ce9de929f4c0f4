"""Phone numbers in a mention: found in every country's format, however short its numbering plan, and never
taken from the few digits most mentions carry."""

from bot.triage.personal_data import phone_numbers

REGIONS = ["US", "ES", "GB", "MX"]


def test_the_shortest_numbers_of_any_country_are_still_found_with_their_country_code():
    assert phone_numbers("call the office on +683 4002 please", REGIONS) == ["+6834002"]  # Niue: 4 digits
    assert phone_numbers("call the office on +683 4002 please", []) == ["+6834002"]


def test_national_formats_of_the_configured_regions_are_found():
    assert phone_numbers("mi móvil es el 612 34 56 78, llamadme", REGIONS) == ["+34612345678"]
    assert phone_numbers("ring me on 020 7946 0958 after six", REGIONS) == ["+442079460958"]


def test_a_mention_with_a_few_digits_has_no_phone_number():
    assert phone_numbers("order 4471 arrived 2 days late, 3rd time", REGIONS) == []
    assert phone_numbers("no digits here at all", REGIONS) == []
