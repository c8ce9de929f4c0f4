"""Reloading config.yaml in a running daemon: on SIGHUP, or when the file changes.

A file that does not load (bad YAML, an unknown key, a wrong value) changes nothing: the daemon keeps the config
it runs with and reports the error (log, /healthz, metrics). A good file is applied to the running service: pollers
and their schedules, triage rules, drafting, approval, outbox, SLA and logging settings take effect on the next
step; settings that only a restart can change (the database, the worker's name, the console's address) are named
in the log.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from bot.runtime import logs
from bot.triage.build import build_triager

log = logging.getLogger(__name__)
RESTART_ONLY = ("data_dir", "storage", "daemon.worker_name", "daemon.metrics_host", "daemon.metrics_port", "console")


def needs_restart(old: Config, new: Config) -> list[str]:
    """The settings that differ between two configs and that only a restart applies."""
    changed = []
    for path in RESTART_ONLY:
        before: object = old
        after: object = new
        for part in path.split("."):
            before, after = getattr(before, part, None), getattr(after, part, None)
        if before != after:
            changed.append(path)
    return changed


class Reloader:
    """Watches one config file and hands each good new version to apply(); keeps the old one on errors."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        current: Config,
        apply: Callable[[Config], None],
        on_result: Callable[[str], None] | None = None,
    ):
        self.path = Path(path) if path else DEFAULT_CONFIG_PATH
        self.current = current
        self.apply = apply
        self.on_result = on_result or (lambda _result: None)
        self.requested = threading.Event()
        self.last_error: str | None = None
        self.loaded_at = datetime.now(UTC)
        self._stamp = self._file_stamp()
        self._lock = threading.Lock()

    def _file_stamp(self) -> tuple[float, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime, stat.st_size

    def request(self) -> None:
        """Ask for a reload at the next check (safe to call from a signal handler)."""
        self.requested.set()

    def check(self, watch_file: bool = True) -> bool | None:
        """Reload when asked to or when the file changed: True applied, False kept the old config, None nothing to do."""
        stamp = self._file_stamp()
        changed = watch_file and stamp is not None and stamp != self._stamp
        if not (self.requested.is_set() or changed):
            return None
        self.requested.clear()
        self._stamp = stamp
        return self.reload()

    def reload(self) -> bool:
        """Load the file now; apply it when it is valid, keep the running config when it is not."""
        with self._lock:
            try:
                new = load_config(self.path)
            except ConfigError as error:
                self.last_error = str(error) if str(self.path) in str(error) else f"{self.path}: {error}"
                log.error("config reload failed, still running with the previous config: %s", self.last_error)
                self.on_result("error")
                return False
            restart = needs_restart(self.current, new)
            try:
                self.apply(new)
            except Exception as error:  # noqa: BLE001 - a config that loads but cannot be applied is kept out
                self.last_error = f"{self.path}: could not apply it: {error}"
                log.exception("config reload failed, still running with the previous config")
                self.on_result("error")
                return False
            self.current = new
            self.last_error = None
            self.loaded_at = datetime.now(UTC)
            log.info("config reloaded from %s", self.path)
            if restart:
                log.warning(
                    "config: %s changed; restart the daemon to apply %s",
                    ", ".join(restart),
                    "it" if len(restart) == 1 else "them",
                )
            self.on_result("ok")
            return True

    def report(self) -> dict[str, Any]:
        """For /healthz: the file, when it was last applied, and the last error if the newest version is bad."""
        return {
            "path": str(self.path),
            "loaded_at": self.loaded_at.isoformat(timespec="seconds"),
            "error": self.last_error,
        }


def apply_to_service(service, new: Config) -> None:
    """Point the running service's parts at a new config; rebuilds pollers, and the triager when its section changed."""

    old = service.config
    if new.triage != old.triage:
        triager = build_triager(new, new.triage.model_dir)  # built first: a failure leaves everything as it was
    else:
        triager = None
    service.apply_config(new, triager)
    if new.logging != old.logging:
        logs.setup(new.logging)
