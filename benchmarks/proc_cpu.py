"""CPU seconds a process tree has used, from ``/proc`` (Linux): for the store benchmark's split
of a trial's CPU between the database, the tracking server and the workers."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[str, int, float, float] | None:
    """(command name, parent pid, own CPU seconds, reaped children's CPU seconds)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # after the name: state, ppid, ..., utime (14th field of the file), stime, cutime, cstime
    own = (int(fields[11]) + int(fields[12])) / TICK
    reaped = (int(fields[13]) + int(fields[14])) / TICK
    return name, int(fields[1]), own, reaped


def _cmdline(pid: str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def tree_seconds(is_root: Callable[[str, str, list[str]], bool]) -> float:
    """CPU seconds of every process tree whose root ``is_root(pid, name, argv)`` picks: each
    live process's own time plus what its children used before they ended (a PostgreSQL
    backend that served a closed connection counts through the postmaster)."""
    stats = {pid: s for pid in os.listdir("/proc") if pid.isdigit() if (s := _stat(pid))}
    children: dict[int, list[str]] = {}
    for pid, (_, parent, _, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    roots = [pid for pid, (name, _, _, _) in stats.items() if is_root(pid, name, _cmdline(pid))]
    total, seen = 0.0, set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        _, _, own, reaped = stats[pid]
        total += own + reaped
        todo += children.get(int(pid), [])
    return total


def postgres(pid: str, name: str, argv: list[str]) -> bool:
    """PostgreSQL's postmaster (its backends are its children)."""
    del pid
    return name == "postgres" and not any(part.startswith("postgres:") for part in argv)


def listening_on(port: int) -> Callable[[str, str, list[str]], bool]:
    """The process started with ``--port <port>`` (the mlflow server; its workers are its
    children)."""

    def match(pid: str, name: str, argv: list[str]) -> bool:
        del pid, name
        return any(a == "--port" and b == str(port) for a, b in itertools.pairwise(argv))

    return match


def process(root: int) -> Callable[[str, str, list[str]], bool]:
    """The process ``root`` (and its children)."""
    return lambda pid, name, argv: pid == str(root)
