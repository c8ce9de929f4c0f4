"""`python -m bot`."""

import signal
import sys

from bot.stopping import stop_while_starting

# A SIGTERM that arrives while the modules load (a few seconds) must stop the process as cleanly as one that
# arrives later: installed before anything else is imported; the daemon replaces it once it runs.
signal.signal(signal.SIGTERM, stop_while_starting(sys.argv[1:]))

from bot.cli import main  # noqa: E402 - after the handler, on purpose

main(prog_name="python -m bot")
