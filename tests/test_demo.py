"""The demo a newcomer runs: the bundled scenario through the simulated X and Facebook, replies landing in threads."""

from __future__ import annotations

import re

import yaml
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.config import DEFAULT_CONFIG_PATH, load_config
from bot.console.server import free_port
from bot.storage.models import Mention


def demo_config(tmp_path, database_url):
    """The bundled config.yaml with the data folder, database and simulator ports of this test."""
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    x_port, graph_port, instagram_port = free_port(), free_port(), free_port()
    data["data_dir"] = str(tmp_path / "data")
    data["storage"] = {"url": database_url, "url_env": None}
    data["simulators"].update({"x_port": x_port, "graph_port": graph_port, "instagram_port": instagram_port})
    data["accounts"][0]["api_base_url"] = f"http://127.0.0.1:{x_port}"
    data["accounts"][1]["api_base_url"] = f"http://127.0.0.1:{graph_port}"
    data["accounts"][2]["api_base_url"] = f"http://127.0.0.1:{instagram_port}"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_demo_fetches_the_whole_scenario_through_the_simulated_platforms_and_leaves_drafts(tmp_path, database_url):
    path = demo_config(tmp_path, database_url)

    result = CliRunner().invoke(main, ["--config", str(path), "demo", "--once"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    found = re.search(r"(\d+) mentions → (\d+) cases, (\d+) drafts waiting", result.output)
    assert found, result.output
    mentions, cases, drafts = map(int, found.groups())
    assert mentions == 79 and cases >= 30 and drafts >= 20
    # the burst of outage complaints at the end of the scenario opens one incident, shown in one line
    assert len(re.findall(r"^Incident #\d+ \(\w+, open\): outage reports about .*internet", result.output, re.M)) == 1
    # the hours-old mentions' SLA alerts make one summary line, not one line each
    assert len(re.findall(r"^SLA: \d+ breach\(es\) and \d+ warning\(s\) on the bundled", result.output, re.M)) == 1
    assert "log in as demo with password" in result.output

    from bot.runtime.service import Service

    service = Service(load_config(path))
    with service.factory() as session:
        platforms = set(session.scalars(select(Mention.platform)))
        streams = set(session.scalars(select(Mention.stream)))
    assert platforms == {"x", "facebook", "instagram"}
    assert {"mentions", "search", "direct_messages", "comments", "messenger", "tags"} <= streams
    _the_demo_saved_replies_fit_its_drafts(service)
    service.engine.dispose()


def _the_demo_saved_replies_fit_its_drafts(service):
    """Both example saved replies exist in English and Spanish, and one fits a waiting acknowledgement."""
    from bot.casework import macros
    from bot.storage.db import transaction
    from bot.storage.models import Draft, Macro

    with transaction(service.factory) as session:
        assert {tuple(row) for row in session.execute(select(Macro.name, Macro.language))} == {
            ("still-on-it", "en"),
            ("still-on-it", "es"),
            ("all-sorted", "en"),
            ("all-sorted", "es"),
        }
        draft = session.scalar(select(Draft).where(Draft.status == "pending", Draft.kind == "acknowledgement").limit(1))
        filled = macros.apply_macro(
            session, service.config, service.renderer, draft.id, "still-on-it", "test", service.clock.now()
        )
        assert f"#{filled.case_id}" in filled.text and "{{" not in filled.text
        assert [c["name"] for c in filled.checks if not c["ok"]] == []
        session.rollback()


def test_an_approved_demo_reply_lands_in_the_simulated_x_thread(tmp_path, database_url):
    from bot.runtime.service import Service
    from bot.simulators.embedded import EmbeddedSimulators
    from bot.storage.models import Draft

    path = demo_config(tmp_path, database_url)
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(path), "demo", "--once"]).exit_code == 0
    config = load_config(path)
    service = Service(config)
    with service.factory() as session:
        draft = session.scalar(
            select(Draft)
            .join(Mention, Draft.mention_id == Mention.id)
            .where(Draft.status == "pending", Draft.kind == "acknowledgement", Mention.platform == "x")
            .order_by(Draft.priority.desc())
        )
        answered = draft.mention.platform_id
    service.engine.dispose()

    simulators = EmbeddedSimulators(config).start()  # the same seeded ids: the platform the demo read
    try:
        result = runner.invoke(main, ["--config", str(path), "approve", str(draft.id)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        [posted] = simulators.x.brand_posts()
        assert posted["in_reply_to_tweet_id"] == answered
        assert posted["text"] == draft.text
        assert simulators.new_posts()[0].startswith("[X simulator] tweet")
    finally:
        simulators.stop()
