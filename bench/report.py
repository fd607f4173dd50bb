"""What the benchmarks share: the machine they ran on and the sections of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def os_name() -> str:
    """The distribution, e.g. `Debian GNU/Linux 12 (bookworm)` (the kernel's name without one)."""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def machine() -> str:
    return (f"{platform.node() or 'host'}: {os.cpu_count()} cores ({cpu_model()}), {os_name()}, "
            f"Python {platform.python_version()}")


def write_section(path: Path, title: str, body: str) -> None:
    """Replace (or append) the `## title` section of the benchmarks document.

    Only the figures live in a benchmark's section; put the reading of them in
    a section of its own, or the next run replaces it.
    """
    text = path.read_text() if path.exists() else "# Benchmarks\n\nFigures measured on this project's machines; each section says how.\n"
    header = f"## {title}\n"
    start = text.find(header)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + header + "\n" + body
    else:
        end = text.find("\n## ", start + len(header))
        end = len(text) if end == -1 else end + 1
        text = text[:start] + header + "\n" + body + ("\n" if end < len(text) else "") + text[end:]
    path.write_text(text)
