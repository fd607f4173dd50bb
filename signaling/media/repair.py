"""Start-up repair of the recordings a crash left unfinished.

A recording is indexed in state `recording` as soon as its file exists
(media/recorder.py). A server killed hard (`SIGKILL`, power, OOM) leaves
such rows behind, with files that end mid-cluster and have no cues and no
duration. At start-up — after the session writer replayed its journal, before
the engine closes the sessions the crash left open — each of them is
remuxed: its packets are read with PyAV until the file ends or fails, written
into a new, well-formed WebM (cues, duration) beside it, and that file
replaces the partial one. The row is then indexed again with the true
duration and size, in state `repaired`, or `failed` when nothing decodable
was left (the file, if any, is kept as it was).

No transcoding: packets are copied as they are. Only rows whose file lies in
this server's recordings directory are touched (another node's live
recordings are not ours to repair).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import av

from .recorder import FAILED, REPAIRED, RecordingResult

logger = logging.getLogger(__name__)

TEMP_SUFFIX = ".repair"  # `<name>.webm.repair`: not a `*.webm`, so retention never mistakes it for a recording


def repair_file(path: Path | str) -> RecordingResult:
    """Remux `path` into a well-formed WebM in place; state `repaired`, or `failed` (file untouched)."""
    path = Path(path)
    temp = path.with_name(path.name + TEMP_SUFFIX)
    counts = {"audio": 0, "video": 0}
    end = 0.0
    try:
        source = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, EOFError) as exc:  # missing, empty, or not even a header
        logger.warning("recording %s cannot be repaired: %s", path.name, exc)
        return _failed(path)
    try:
        wanted = [s for s in source.streams if s.type in counts]
        if not wanted:
            return _failed(path)
        target = av.open(str(temp), mode="w", format="webm")
        try:
            outputs = {s.index: target.add_stream_from_template(s) for s in wanted}
            try:
                for packet in source.demux(wanted):
                    if packet.size == 0 or packet.pts is None or packet.is_corrupt:
                        continue  # the demuxer's end-of-stream packets; a damaged block
                    kind = packet.stream.type
                    stop = packet.pts + ((packet.duration or 0) if kind == "audio" else 0)
                    stop_s = float(stop * packet.time_base)
                    packet.stream = outputs[packet.stream.index]
                    target.mux(packet)
                    counts[kind] += 1
                    end = max(end, stop_s)
            except (av.FFmpegError, OSError, EOFError) as exc:  # the cut a crash left: keep what came before
                logger.info("recording %s: read stopped at %.3f s (%s)", path.name, end, exc)
        finally:
            target.close()  # writes the cues and the duration
    except (av.FFmpegError, OSError, ValueError) as exc:
        logger.warning("recording %s cannot be repaired: %s", path.name, exc)
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        return _failed(path)
    finally:
        source.close()
    if not any(counts.values()):
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        return _failed(path)
    with contextlib.suppress(OSError):
        os.chmod(temp, path.stat().st_mode & 0o777)  # the mode the recorder gave the file
    with open(temp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(temp, path)
    return RecordingResult(
        path=str(path), duration_s=round(end, 3), size=path.stat().st_size,
        video_frames=counts["video"], audio_frames=counts["audio"], state=REPAIRED,
    )


def _failed(path: Path) -> RecordingResult:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return RecordingResult(path=str(path), duration_s=0.0, size=size, video_frames=0, audio_frames=0, state=FAILED)


async def repair_recordings(store: Any, writer: Any, directory: Path) -> list[RecordingResult]:
    """Repair every recording left in state `recording` under `directory`, and index the outcome
    through the session writer (`writer.recording`). Returns what was done, in order."""
    directory = Path(directory).resolve()
    found = [r for r in await store.unfinished_recordings() if _inside(r["path"], directory)]
    done: list[RecordingResult] = []
    for row in found:
        started = time.perf_counter()
        result = await asyncio.to_thread(repair_file, row["path"])
        writer.recording(row["session_id"], row["party"], result.path, result.duration_s, result.size,
                         datetime.now(timezone.utc), state=result.state)
        logger.warning("recording %s left by a crash: %s, %.1f s, %d bytes (%.0f ms)", Path(result.path).name,
                       result.state, result.duration_s, result.size, (time.perf_counter() - started) * 1000)
        done.append(result)
    return done


def _inside(path: str, directory: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(directory)
    except (OSError, ValueError):
        return False
