"""The simulators running inside the service's own process, for the demo: seeded, started, echoed, stopped."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.config import PROJECT_ROOT, Config
from bot.errors import UserError
from bot.simulators import FACEBOOK_ENV, X_ENV
from bot.simulators.facebook import GraphSimulator
from bot.simulators.instagram import InstagramSimulator
from bot.simulators.scenario import seed
from bot.simulators.x import XSimulator

log = logging.getLogger(__name__)
# Fixed first ids make seeding repeatable: a restarted demo posts the same ids, which storage already has.
FIRST_X_ID = 1790000000000000000
FIRST_GRAPH_ID = 5000000
FIRST_INSTAGRAM_ID = 17900000000000000


def use_simulator_tokens(config: Config) -> None:
    """Give the simulators' accounts their (public, made-up) tokens when the config runs simulators."""
    if config.simulators.enabled:
        for name, value in {**X_ENV, **FACEBOOK_ENV}.items():
            os.environ.setdefault(name, value)


def scenario_path(config: Config) -> Path | None:
    """The scenario file the simulators start with, if any."""
    if not config.simulators.scenario:
        return None
    path = Path(config.simulators.scenario)
    return path if path.is_absolute() else PROJECT_ROOT / path


class EmbeddedSimulators:
    """Fake X, Facebook and Instagram APIs on loopback, seeded with the scenario, with a log of what the brand posted."""

    def __init__(self, config: Config, now=None):
        self.config = config
        self.now = now
        self.x: XSimulator | None = None
        self.graph: GraphSimulator | None = None
        self.instagram: InstagramSimulator | None = None
        self._shown = {"X": 0, "Facebook": 0, "Instagram": 0}

    def start(self) -> EmbeddedSimulators:
        """Start the three servers and post the scenario on them."""
        settings = self.config.simulators
        ports = f"{settings.x_port}/{settings.graph_port}/{settings.instagram_port}"
        try:
            self.x = x = XSimulator(first_id=FIRST_X_ID).start(settings.host, settings.x_port)
            self.graph = graph = GraphSimulator(first_id=FIRST_GRAPH_ID).start(settings.host, settings.graph_port)
            self.instagram = instagram = InstagramSimulator(first_id=FIRST_INSTAGRAM_ID).start(
                settings.host, settings.instagram_port
            )
        except OSError as exc:
            self.stop()
            raise UserError(
                f"cannot start the simulators on {settings.host}:{ports} ({exc.strerror}): is another "
                "demo or daemon running? Stop it or change simulators.x_port, graph_port and "
                "instagram_port"
            ) from None
        path = scenario_path(self.config)
        if path is not None:
            counts = seed(x, graph, path, self.now or x.clock(), instagram_sim=instagram)
            log.info(
                "simulators seeded with %d X, %d Facebook and %d Instagram messages from %s",
                counts["x"],
                counts["facebook"],
                counts["instagram"],
                path.name,
            )
        log.info(
            "X API simulator on %s, Graph API simulator on %s, Instagram simulator on %s",
            x.url,
            graph.url,
            instagram.url,
        )
        return self

    def stop(self) -> None:
        """Stop the servers."""
        for simulator in (self.x, self.graph, self.instagram):
            if simulator is not None:
                simulator.stop()

    def new_posts(self) -> list[str]:
        """One line per message the brand posted since the last call: what a newcomer watches land."""
        lines: list[str] = []
        for simulator, label in ((self.x, "X"), (self.graph, "Facebook"), (self.instagram, "Instagram")):
            if simulator is None:
                continue
            with simulator.lock:
                records = list(simulator.posted[self._shown[label] :])
            self._shown[label] += len(records)
            for record in records:
                where = (
                    record.get("in_reply_to_tweet_id")
                    or record.get("on")
                    or record.get("comment_id")
                    or record.get("recipient_id")
                    or ""
                )
                lines.append(
                    f"[{label} simulator] {record['kind']} {record.get('id')} → {where}: {record.get('text', '')}"
                )
        return lines
