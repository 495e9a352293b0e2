"""How a drill pauses, resumes, kills and restarts Redis: shell commands on a staging box
(docker compose by default), or a private `redis-server` in the tests (scripts/redis_server.py
has the same four methods but restart)."""

from __future__ import annotations

import argparse
import shlex
import subprocess
from typing import Protocol


class RedisControl(Protocol):
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def kill(self) -> None: ...


class CommandControl:
    """Each action is a shell command (`--pause-cmd` …); an empty restart command skips it."""

    def __init__(self, pause: str, resume: str, kill: str, restart: str = "") -> None:
        self.commands = {"pause": pause, "resume": resume, "kill": kill, "restart": restart}

    def _run(self, action: str) -> None:
        command = self.commands[action]
        if command:
            subprocess.run(shlex.split(command), check=True, timeout=60)

    def pause(self) -> None:
        self._run("pause")

    def resume(self) -> None:
        self._run("resume")

    def kill(self) -> None:
        self._run("kill")

    def restart(self) -> None:
        self._run("restart")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pause-cmd", default="docker compose pause redis")
    parser.add_argument("--resume-cmd", default="docker compose unpause redis")
    parser.add_argument("--kill-cmd", default="docker compose kill redis")
    parser.add_argument("--restart-cmd", default="docker compose start redis")


def from_arguments(args: argparse.Namespace) -> CommandControl:
    return CommandControl(args.pause_cmd, args.resume_cmd, args.kill_cmd, args.restart_cmd)
