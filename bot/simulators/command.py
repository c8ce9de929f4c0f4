"""`python -m bot simulate`: run the fake X, Graph and Instagram APIs locally for trying the service."""

from __future__ import annotations

import threading
import time

import click

from bot.simulators import FACEBOOK_ENV, X_ENV, GraphSimulator, InstagramSimulator, XSimulator
from bot.simulators.facebook import seed_demo as seed_facebook
from bot.simulators.instagram import seed_demo as seed_instagram
from bot.simulators.x import seed_demo as seed_x


def _config_snippet(x_sim: XSimulator, graph_sim: GraphSimulator, ig_sim: InstagramSimulator) -> str:
    return f"""accounts:
  - name: sim-x
    platform: x
    user_id: "{x_sim.brand_user_id}"
    handle: "@acme"
    api_base_url: {x_sim.url}
    bearer_token_env: SIM_X_BEARER_TOKEN
    consumer_key_env: SIM_X_CONSUMER_KEY
    consumer_secret_env: SIM_X_CONSUMER_SECRET
    access_token_env: SIM_X_ACCESS_TOKEN
    access_token_secret_env: SIM_X_ACCESS_TOKEN_SECRET
    search_queries: ["acme -is:retweet"]
    poll_interval_seconds: 5
  - name: sim-facebook
    platform: facebook
    page_id: "{graph_sim.page_id}"
    handle: "{graph_sim.page_name}"
    api_base_url: {graph_sim.url}
    access_token_env: SIM_FB_PAGE_TOKEN
    app_secret_env: SIM_FB_APP_SECRET
    poll_interval_seconds: 5
  - name: sim-instagram
    platform: instagram
    ig_user_id: "{ig_sim.ig_user_id}"
    page_id: "{ig_sim.page_id}"
    handle: "@{ig_sim.username}"
    api_base_url: {ig_sim.url}
    access_token_env: SIM_FB_PAGE_TOKEN
    app_secret_env: SIM_FB_APP_SECRET
    poll_interval_seconds: 5"""


@click.command("simulate")
@click.option("--x-port", type=int, default=8701, show_default=True, help="Port of the fake X API (0: any free port).")
@click.option(
    "--graph-port", type=int, default=8702, show_default=True, help="Port of the fake Graph API (0: any free port)."
)
@click.option(
    "--instagram-port",
    type=int,
    default=8703,
    show_default=True,
    help="Port of the fake Instagram Graph API (0: any free port).",
)
@click.option("--seed/--empty", default=True, show_default=True, help="Start with a few demo conversations.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: until Ctrl-C).")
def simulate(x_port: int, graph_port: int, instagram_port: int, seed: bool, duration: float | None) -> None:
    """Run local fake X (API v2), Graph and Instagram API servers on 127.0.0.1 and print what they receive."""
    x_sim = XSimulator().start(port=x_port)
    graph_sim = GraphSimulator().start(port=graph_port)
    ig_sim = InstagramSimulator().start(port=instagram_port)
    if seed:
        seed_x(x_sim)
        seed_facebook(graph_sim)
        seed_instagram(ig_sim)
    click.echo(f"X API simulator:         {x_sim.url}")
    click.echo(f"Graph API simulator:     {graph_sim.url}")
    click.echo(f"Instagram API simulator: {ig_sim.url}")
    click.echo("\nSet these in the environment of the service (the simulators accept only these tokens):")
    for name, value in {**X_ENV, **FACEBOOK_ENV}.items():
        click.echo(f"  export {name}={value}")
    click.echo("\nand add these accounts to config.yaml:\n")
    click.echo(_config_snippet(x_sim, graph_sim, ig_sim))
    click.echo("\nWaiting; replies appear below as the service posts them (Ctrl-C to stop).")
    stop = threading.Event()
    shown = {id(x_sim): 0, id(graph_sim): 0, id(ig_sim): 0}
    deadline = time.monotonic() + duration if duration else None
    try:
        while not stop.wait(0.5):
            for sim, label in ((x_sim, "X"), (graph_sim, "Facebook"), (ig_sim, "Instagram")):
                with sim.lock:
                    new = sim.posted[shown[id(sim)] :]
                    shown[id(sim)] += len(new)
                for record in new:
                    where = (
                        record.get("in_reply_to_tweet_id")
                        or record.get("on")
                        or record.get("comment_id")
                        or record.get("recipient_id")
                        or ""
                    )
                    click.echo(f"[{label}] {record['kind']} {record.get('id')} -> {where}: {record.get('text', '')}")
            if deadline and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        x_sim.stop()
        graph_sim.stop()
        ig_sim.stop()
