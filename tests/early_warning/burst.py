"""An outage burst taken through the real pipeline (classifier, cases, drafts) after a generated quiet history."""

from __future__ import annotations

from datetime import timedelta

from bot.early_warning import buckets, job
from tests.early_warning.stream import Writer, steady
from tests.harness import Desk

COMPLAINTS = (
    "@acme internet down in the whole neighbourhood since 7am",
    "@acme is the internet down? nothing loads at home",
    "@acme internet outage again, no connection in the entire street",
    "@acme my internet is down and so is my neighbour's, what is going on",
    "@acme internet not working anywhere in town, is there an outage?",
    "@acme whole area has no internet, service down for hours",
)
ACTIONS = {
    "minor": {"raise_priority": 0.2, "acknowledgement": True, "group": True},
    "major": {"raise_priority": 0.2, "acknowledgement": True, "group": True},
}


def outage_desk(tmp_path, database_url, triager) -> Desk:
    """A desk whose early warning acknowledges every incident's new cases and raises their priority by 0.2."""
    return Desk(tmp_path, database_url, triager=triager, early_warning={"actions": ACTIONS})


def quiet_history(desk: Desk, hours: int = 6) -> None:
    """Hours of ordinary, generated stream before now, rolled up."""
    now = desk.clock.now()
    with desk.session() as session:
        Writer(session, "brand").write(session, steady(now - timedelta(hours=hours), now, base=0.3))
    with desk.session() as session:
        buckets.fill(session, desk.config, now + timedelta(hours=1))


def burst(desk: Desk, count: int = 12) -> list[str]:
    """`count` outage complaints from different customers, 30 seconds apart, through the pipeline."""
    ids = []
    for n in range(count):
        desk.clock.advance(seconds=30)
        ids.append(desk.mention(COMPLAINTS[n % len(COMPLAINTS)] + f" ({n})", author=f"@customer{n}"))
    desk.poll()
    return ids


def detect(desk: Desk) -> job.Outcome:
    """One detection run now."""
    return job.run(desk.service)
