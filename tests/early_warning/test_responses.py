"""What an incident does to its cases: a higher priority and the prepared acknowledgement, still for a person."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.storage.models import Case, Draft, Incident, IncidentCase
from tests.early_warning.burst import burst, detect, outage_desk, quiet_history


@pytest.fixture(scope="module")
def triager(tmp_path_factory):
    from bot.config import parse_config
    from bot.triage.build import build_triager
    from tests.harness import base_config

    folder = tmp_path_factory.mktemp("triager")
    return build_triager(parse_config(base_config(folder, f"sqlite:///{folder / 'unused.db'}")))


def test_the_cases_of_an_outage_get_a_higher_priority_and_the_incident_acknowledgement(tmp_path, database_url, triager):
    desk = outage_desk(tmp_path, database_url, triager)
    quiet_history(desk)
    ids = burst(desk)
    with desk.session() as session:
        before = {c.id: c.priority for c in session.scalars(select(Case))}
        answered = {d.case_id for d in session.scalars(select(Draft).where(Draft.status == "pending"))}
    outcome = detect(desk)

    assert len(outcome.opened) == 1
    with desk.session() as session:
        incident = session.get(Incident, outcome.opened[0])
        links = list(session.scalars(select(IncidentCase).where(IncidentCase.incident_id == incident.id)))
        burst_cases = {desk.case_of(i).id for i in ids}
        assert incident.metric in ("outage", "negative") and "internet" in incident.topic_name
        assert {link.case_id for link in links} <= burst_cases and len(links) >= 8
        for link in links:
            case = session.get(Case, link.case_id)
            assert case.priority == pytest.approx(min(1.0, before[case.id] + 0.2))
            pending = [d for d in case.drafts if d.status == "pending"]
            if case.id not in answered:  # a complaint only monitored gets no reply from the incident either
                assert pending == [] and not link.acknowledged
                continue
            # one reply waiting per customer: the incident's acknowledgement took the generic one's place
            assert len(pending) == 1 and link.acknowledged
            [draft] = pending
            assert draft.template.endswith("incident_acknowledgement.j2")
            assert "https://status.acme.example/" in draft.text and not draft.auto_approved
            assert all(c["ok"] for c in draft.checks), draft.checks
            assert any(d.status == "superseded" for d in case.drafts)

    # a second run takes in nothing twice and raises no priority again
    again = detect(desk)
    assert again.opened == [] and again.linked == 0
    with desk.session() as session:
        assert {
            c.id: c.priority for c in session.scalars(select(Case)) if c.id in {link.case_id for link in links}
        } == {link.case_id: pytest.approx(min(1.0, before[link.case_id] + 0.2)) for link in links}
        acknowledged = list(session.scalars(select(Draft).where(Draft.template.like("%incident_ack%"))))
        assert len(acknowledged) == len(answered & {link.case_id for link in links}) >= 6
    desk.service.engine.dispose()
