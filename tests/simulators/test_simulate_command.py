"""`python -m bot simulate` starts the fake APIs and tells a newcomer how to point the service at them."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main


def test_simulate_prints_the_servers_the_secrets_to_export_and_the_accounts_to_configure():
    result = CliRunner().invoke(
        main, ["simulate", "--x-port", "0", "--graph-port", "0", "--instagram-port", "0", "--duration", "0.1"]
    )
    assert result.exit_code == 0, result.output
    assert "X API simulator:         http://127.0.0.1:" in result.output
    assert "Instagram API simulator: http://127.0.0.1:" in result.output and "platform: instagram" in result.output
    assert "export SIM_X_BEARER_TOKEN=sim-bearer" in result.output
    assert "platform: facebook" in result.output and "api_base_url: http://127.0.0.1:" in result.output
