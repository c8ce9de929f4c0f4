"""Leases: one daemon polls each account at a time; a dead daemon's lease is taken over once it expires."""

from __future__ import annotations

from bot.coordination.leases import Leases, poll_lease


def leases_for(desk, owner: str, seconds: float = 30) -> Leases:
    leases = Leases(desk.service.factory, desk.clock, owner, seconds)
    leases.want(poll_lease("brand"))
    return leases


def test_one_daemon_at_a_time_holds_an_accounts_polling(desk):
    first, second = leases_for(desk, "first"), leases_for(desk, "second")
    assert first.renew() == {"poll:brand": True}
    assert second.renew() == {"poll:brand": False}
    assert first.holds("poll:brand") and not second.holds("poll:brand")

    desk.clock.advance(seconds=20)  # the holder renews in time: it keeps it
    assert first.renew() == {"poll:brand": True}
    desk.clock.advance(seconds=20)
    assert second.renew() == {"poll:brand": False}


def test_a_dead_holders_lease_is_taken_over_after_it_expires(desk):
    first, second = leases_for(desk, "first"), leases_for(desk, "second")
    first.renew()
    desk.clock.advance(seconds=29)  # the first daemon died right after renewing
    assert second.renew() == {"poll:brand": False}
    desk.clock.advance(seconds=2)
    assert second.renew() == {"poll:brand": True}
    assert second.holds("poll:brand")
    # the first daemon, had it only been paused, no longer counts itself as holder (safety margin) nor can renew
    assert not first.holds("poll:brand")
    assert first.renew() == {"poll:brand": False}


def test_a_holder_stops_counting_on_its_lease_before_anyone_else_may_take_it(desk):
    first, second = leases_for(desk, "first", seconds=10), leases_for(desk, "second", seconds=10)
    first.renew()
    desk.clock.advance(seconds=8.5)  # renewals failed (database blip): past the safety margin, it stands down
    assert not first.holds("poll:brand")
    assert second.renew() == {"poll:brand": False}  # and nobody else has it yet: no overlap


def test_a_clean_stop_hands_the_lease_over_at_once(desk):
    first, second = leases_for(desk, "first"), leases_for(desk, "second")
    first.renew()
    first.release_all()
    assert second.renew() == {"poll:brand": True}
    assert second.holders() == {"poll:brand": "second"}
