"""A call of several parties: each receives the others' audio, camera and screen as separate streams.

SFU-style forwarding (docs/media.md, "Several parties in one call"): every
received slot of a party is a :class:`~.relay.Tap`; each receiver that may
get it adds one packet sink that pushes the same encoded frames to one of the
receiver leg's :class:`~.relay.OutputTrack`. Nothing is mixed, decoded or
encoded, and a slot whose codecs differ between the two legs is left out (a
call never transcodes). Keyframe requests from a receiver go to the sender's
tap, and a keyframe is asked for whenever a video link is made.

Who receives whom (the audience) is the engine's: :meth:`Call.set` takes the
parties' legs and, per receiver, the set of parties it receives. This module
only decides *where* on the receiver's leg each sender goes:

- each (receiver, sender) pair gets a *group* of the receiver's transceivers:
  audio, camera (``video``) and, while the sender shares its screen,
  ``screen``. A group stays with its sender until the sender leaves the call,
  so switching the audience (consult <-> conference) is only a switch;
- a caller's or specialist's leg gives its own m-lines (audio 0, video 0, and
  its receiving 3rd m-line for a screen) to the first sender, as a bridge
  does; a supervisor's leg keeps the monitor layout (the caller on audio 0 /
  video 0 / video 2, the first specialist on audio 1 / video 1 / video 3).
  Any other sender goes on m-lines the leg adds when asked with
  ``rtc:renegotiate`` (``on_renegotiate``); when the sender on the own
  m-lines leaves, the earliest other one moves onto them;
- which transceiver (mid) carries whom is :meth:`Call.mids`, for
  ``call:participants``; ``on_layout(party)`` says when it changed.

A party is recorded (its microphone and camera, one file per party for the
whole session) while a caller or specialist receives it: not a caller held in
a consult (even if a supervisor listens), a supervisor only while heard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .aiortc_hooks import EncodedFrame
from .leg import Leg, SlotKey
from .recorder import Recorder
from .relay import OutputTrack, Tap

logger = logging.getLogger(__name__)

CALLER, SPECIALIST, SUPERVISOR = "caller", "specialist", "supervisor"
KINDS = ("audio", "video", "screen")  # the parts of a group, in allocation order
MID_FIELDS = {"audio": "audio_mid", "video": "video_mid", "screen": "screen_mid"}
# The own m-lines a receiver gives away first: a participant's to its first sender (any role);
# a supervisor's in the monitor layout, by the sender's role.
_OWN_PARTICIPANT = ({"audio": ("audio", 0), "video": ("video", 0), "screen": ("video", 1)}, None)
_OWN_SUPERVISOR = (
    ({"audio": ("audio", 0), "video": ("video", 0), "screen": ("video", 2)}, CALLER),
    ({"audio": ("audio", 1), "video": ("video", 1), "screen": ("video", 3)}, SPECIALIST),
)
# Recording party names by role: the first of each role, then numbered (recordings.party is 16 characters).
_RECORDING_NAMES = {CALLER: ("caller",), SPECIALIST: ("specialist", "back_office"), SUPERVISOR: ("supervisor",)}

Group = dict[str, SlotKey]
Layout = Callable[[str], None]
Renegotiate = Callable[[str, dict[str, int]], None]


def role_of(party_id: str) -> str:
    """The role a party id names: ``caller``, ``specialist:ID``, ``supervisor:ID``."""
    prefix = party_id.split(":", 1)[0]
    return prefix if prefix in (CALLER, SUPERVISOR) else SPECIALIST


def sendable_outputs(leg: Leg) -> dict[SlotKey, OutputTrack]:
    """The leg's outputs whose m-line the far end receives (not a screen share it only sends)."""
    return {
        key: out for key, out in leg.outputs().items()
        if out.transceiver is not None and out.transceiver.currentDirection in ("sendrecv", "sendonly")
    }


def party_inputs(leg: Leg) -> dict[str, Tap]:
    """A party's microphone, camera and screen share (its first sending video m-line after the camera)."""
    inputs = leg.inputs()
    found: dict[str, Tap] = {}
    if ("audio", 0) in inputs:
        found["audio"] = inputs[("audio", 0)]
    if ("video", 0) in inputs:
        found["video"] = inputs[("video", 0)]
    screens = sorted(key for key in inputs if key[0] == "video" and key[1] > 0)
    if screens:
        found["screen"] = inputs[screens[0]]
    return found


@dataclass(eq=False)
class _Party:
    id: str
    role: str
    order: int  # when it joined the call: senders are placed in this order
    leg: Leg | None = None
    own: frozenset[SlotKey] | None = None  # the leg's m-lines when first seen (its own, not added ones)
    groups: dict[str, Group] = field(default_factory=dict)  # sender id -> where it goes on this leg
    asked: tuple[int, int] = (0, 0)  # audio, video m-lines asked for and not added yet
    asked_at: int = -1  # how many outputs the leg had when asked
    mids: dict[str, dict[str, str]] = field(default_factory=dict)  # last told (on_layout)
    media_reported: bool = False


class Call:
    """The media of one session with any number of parties (see the module notes).

    `recorder(party_name)` gives the recorder of a party (None: not recorded);
    `take(leg)` is called once for a leg that becomes a party (the plane
    detaches any bridge or monitor of it). Callbacks: `on_media(party_id)`
    once per party, when forwarded media first reaches its connected leg;
    `on_renegotiate(party_id, {"audio": n, "video": m})` when its leg needs
    that many more receiving m-lines; `on_layout(party_id)` when
    :meth:`mids` of that party changed.
    """

    def __init__(
        self,
        session_id: str,
        *,
        recorder: Callable[[str], Recorder | None] | None = None,
        take: Callable[[Leg], None] | None = None,
        on_media: Callable[[str], None] | None = None,
        on_renegotiate: Renegotiate | None = None,
        on_layout: Layout | None = None,
    ) -> None:
        self.session_id = session_id
        self._recorder = recorder
        self._take = take
        self.on_media = on_media
        self.on_renegotiate = on_renegotiate
        self.on_layout = on_layout
        self._parties: dict[str, _Party] = {}
        self._receives: dict[str, frozenset[str]] = {}
        self._audio_only: frozenset[str] = frozenset()
        self._joined = 0
        self._names: dict[str, str] = {}  # party id -> recording party name, for the whole session
        self._links: dict[tuple[str, SlotKey], tuple[Tap, OutputTrack]] = {}  # (receiver, its output key)
        self._recording: dict[tuple[str, str], Tap] = {}  # (party, kind) -> tap recorded
        self._watched: set[Leg] = set()
        self._closed = False
        self._syncing = False
        self.forwarded: dict[tuple[str, SlotKey], int] = {}

    # -- the engine's side ----------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def parties(self) -> dict[str, Leg | None]:
        return {pid: p.leg for pid, p in self._parties.items()}

    def involves(self, leg: Leg) -> bool:
        return any(p.leg is leg for p in self._parties.values())

    def set(
        self,
        parties: Mapping[str, Leg | None],
        receives: Mapping[str, Iterable[str]],
        *,
        audio_only: Iterable[str] = (),
    ) -> None:
        """The whole picture: every party's leg, whom each receives, whose video goes nowhere.

        Idempotent. A party left out leaves the call (its transceivers on the
        others' legs become free); a party given another leg (a replaced one)
        keeps its place and its recording.
        """
        if self._closed:
            return
        for pid in [pid for pid in self._parties if pid not in parties]:
            self._drop(pid)
        for pid, leg in parties.items():
            party = self._parties.get(pid)
            if party is None:
                party = self._parties[pid] = _Party(pid, role_of(pid), self._joined)
                self._joined += 1
                self._name(party)
            if leg is not party.leg:
                self._use_leg(party, leg)
        self._receives = {pid: frozenset(s for s in senders if s != pid and s in self._parties)
                          for pid, senders in receives.items() if pid in self._parties}
        self._audio_only = frozenset(audio_only)
        self._sync()

    def mids(self, receiver_id: str) -> dict[str, dict[str, str]]:
        """Which of the receiver's transceivers carries each party it receives now, by mid."""
        party = self._parties.get(receiver_id)
        if party is None or party.leg is None or party.leg.closed:
            return {}
        outputs = party.leg.outputs()
        out: dict[str, dict[str, str]] = {}
        for sender, group in party.groups.items():
            if sender not in self._receives.get(receiver_id, ()):
                continue
            fields = {}
            for kind, key in group.items():
                output = outputs.get(key)
                if output is not None and output.transceiver is not None and output.transceiver.mid is not None \
                        and self._allowed(sender, kind):
                    fields[MID_FIELDS[kind]] = output.transceiver.mid
            if fields:
                out[sender] = fields
        return out

    def party_names(self) -> dict[str, str]:
        """Party id -> the name its recording is filed under (`<session>-<name>.webm`)."""
        return dict(self._names)

    def links(self) -> dict[str, str]:
        """What is linked, e.g. {"caller video1": "specialist:7 video"} (tests, debugging)."""
        out = {}
        for (receiver, key), (tap, _) in self._links.items():
            sender, kind = self._source_of(tap)
            out[f"{receiver} {key[0]}{key[1]}"] = f"{sender} {kind}"
        return out

    def forget(self, leg: Leg) -> None:
        """A party's leg closed: its links go; the party keeps its place until :meth:`set` says otherwise."""
        for party in self._parties.values():
            if party.leg is leg:
                self._use_leg(party, None)
        self._sync()

    def detach(self) -> None:
        """Stop forwarding and recording (idempotent); the legs stay open and fall silent."""
        if self._closed:
            return
        self._closed = True
        for leg in self._watched:
            leg.unwatch(self._sync)
        self._watched.clear()
        for link in list(self._links):
            self._unlink(link)
        for (pid, kind), tap in self._recording.items():
            tap.remove_sink((self, "record", kind))
        self._recording.clear()

    async def close(self) -> None:
        self.detach()

    # -- parties ------------------------------------------------------------------------

    def _name(self, party: _Party) -> None:
        """Give a new party its recording name: the first name of its role not used yet, then numbered."""
        if party.id in self._names:
            return
        used = set(self._names.values())
        names = _RECORDING_NAMES[party.role]
        for name in names:
            if name not in used:
                self._names[party.id] = name
                return
        n = 2
        while f"{names[-1]}_{n}" in used:
            n += 1
        self._names[party.id] = f"{names[-1]}_{n}"

    def _use_leg(self, party: _Party, leg: Leg | None) -> None:
        old = party.leg
        if old is not None and old in self._watched and not any(
                p.leg is old for p in self._parties.values() if p is not party):
            old.unwatch(self._sync)
            self._watched.discard(old)
        self._unlink_where(lambda receiver, tap: receiver == party.id or self._source_of(tap)[0] == party.id)
        party.leg = leg
        party.own = None
        party.groups.clear()
        party.asked, party.asked_at = (0, 0), -1
        party.media_reported = False
        if leg is not None and leg not in self._watched:
            if self._take is not None:
                self._take(leg)
            leg.watch(self._sync)
            self._watched.add(leg)

    def _drop(self, pid: str) -> None:
        party = self._parties[pid]
        self._use_leg(party, None)
        del self._parties[pid]
        for other in self._parties.values():
            other.groups.pop(pid, None)
        for kind in KINDS:
            tap = self._recording.pop((pid, kind), None)
            if tap is not None:
                tap.remove_sink((self, "record", kind))

    def _source_of(self, tap: Tap) -> tuple[str, str]:
        for party in self._parties.values():
            if party.leg is not None:
                for kind, t in party_inputs(party.leg).items():
                    if t is tap:
                        return party.id, kind
        return "?", "?"

    def _allowed(self, sender: str, kind: str) -> bool:
        return kind == "audio" or sender not in self._audio_only

    # -- placing senders on each receiver's leg --------------------------------------

    def _sync(self) -> None:
        if self._closed or self._syncing:
            return
        self._syncing = True
        try:
            inputs = {pid: party_inputs(p.leg) for pid, p in self._parties.items()
                      if p.leg is not None and not p.leg.closed}
            asks: list[tuple[str, dict[str, int]]] = []
            for receiver in self._parties.values():
                if receiver.leg is None or receiver.leg.closed:
                    continue
                outputs = sendable_outputs(receiver.leg)
                if receiver.own is None and receiver.leg.outputs():
                    receiver.own = frozenset(receiver.leg.outputs())
                if receiver.own is None:
                    continue  # not negotiated yet: nothing to place on, nothing to ask for
                short = self._place(receiver, outputs, inputs)
                ask = self._ask(receiver, len(receiver.leg.outputs()), short)
                if ask is not None:
                    asks.append((receiver.id, ask))
                self._link_receiver(receiver, outputs, inputs)
            self._sync_recording(inputs)
        finally:
            self._syncing = False
        for pid, ask in asks:
            self._callback(self.on_renegotiate, pid, ask)
        self._report_layouts()

    def _wanted_kinds(self, receiver: _Party, sender: str, inputs: dict[str, dict[str, Tap]]) -> list[str]:
        """What of `sender` reaches `receiver` now."""
        if sender not in self._receives.get(receiver.id, ()) or sender not in inputs:
            return []
        return [kind for kind in KINDS if kind in inputs[sender] and self._allowed(sender, kind)]

    def _placed_kinds(self, receiver: _Party, sender: _Party, inputs: dict[str, dict[str, Tap]]) -> list[str]:
        """What of `sender` gets transceivers on `receiver`'s leg: what it receives now, and between the
        caller and specialists everything (so that a consult turning into a conference is only a switch)."""
        if receiver.role != SUPERVISOR and sender.role != SUPERVISOR and sender.id in inputs:
            return [kind for kind in KINDS if kind in inputs[sender.id]]
        return self._wanted_kinds(receiver, sender.id, inputs)

    def _own_groups(self, receiver: _Party) -> tuple[tuple[Group, str | None], ...]:
        if receiver.own is None:
            return ()
        template = _OWN_SUPERVISOR if receiver.role == SUPERVISOR else (_OWN_PARTICIPANT,)
        return tuple(({k: key for k, key in group.items() if key in receiver.own}, role)
                     for group, role in template)

    def _place(self, receiver: _Party, outputs: dict[SlotKey, OutputTrack],
               inputs: dict[str, dict[str, Tap]]) -> tuple[int, int]:
        """Give each sender the receiver wants a group of its transceivers; return what is missing (audio, video)."""
        groups = receiver.groups
        for sender in list(groups):  # forget transceivers the leg no longer has (never: m-lines stay)
            groups[sender] = {k: key for k, key in groups[sender].items() if key in outputs}
        own = self._own_groups(receiver)
        own_keys = {key for group, _ in own for key in group.values()}
        senders = sorted((p for p in self._parties.values() if p.id != receiver.id), key=lambda p: p.order)
        wanted = {p.id: self._placed_kinds(receiver, p, inputs) for p in senders}
        # An own group nobody holds goes to the earliest sender that fits it (moving it off added m-lines).
        for template, role in own:
            if not template or any(key in template.values() for g in groups.values() for key in g.values()):
                continue
            for p in senders:
                if (role is None or p.role == role) and wanted[p.id] and not self._holds_own(groups.get(p.id), own_keys):
                    groups[p.id] = {k: template[k] for k in wanted[p.id] if k in template and template[k] in outputs}
                    break
        # A sender on an own group gets the rest of it when it has more to send (a screen share begun).
        for template, _ in own:
            holder = next((p for p in senders if self._holds_own(groups.get(p.id), set(template.values()))), None)
            if holder is None:
                continue
            used = {key for g in groups.values() for key in g.values()}
            for kind in wanted[holder.id]:
                key = template.get(kind)
                if kind not in groups[holder.id] and key in outputs and key not in used:
                    groups[holder.id][kind] = key
        used = {key for g in groups.values() for key in g.values()}
        free = {kind: sorted(k for k in outputs if k[0] == kind and k not in used and k not in own_keys)
                for kind in ("audio", "video")}
        missing = {"audio": 0, "video": 0}
        for p in senders:
            group = groups.setdefault(p.id, {})
            for kind in wanted[p.id]:
                if kind in group:
                    continue
                media = "audio" if kind == "audio" else "video"
                if free[media]:
                    group[kind] = free[media].pop(0)
                else:
                    missing[media] += 1
            if not group:
                del groups[p.id]
        return missing["audio"], missing["video"]

    @staticmethod
    def _holds_own(group: Group | None, own_keys: set[SlotKey]) -> bool:
        return bool(group) and any(key in own_keys for key in group.values())

    def _ask(self, receiver: _Party, outputs: int, short: tuple[int, int]) -> dict[str, int] | None:
        """What to ask the receiver's leg for, once per shortage (again after its next offer)."""
        if outputs != receiver.asked_at:
            receiver.asked, receiver.asked_at = (0, 0), outputs
        audio, video = (max(0, want - asked) for want, asked in zip(short, receiver.asked))
        if not audio and not video:
            return None
        receiver.asked = (receiver.asked[0] + audio, receiver.asked[1] + video)
        return {"audio": audio, "video": video}

    # -- links ------------------------------------------------------------------------

    def _link_receiver(self, receiver: _Party, outputs: dict[SlotKey, OutputTrack],
                       inputs: dict[str, dict[str, Tap]]) -> None:
        wanted: dict[SlotKey, tuple[Tap, OutputTrack]] = {}
        for sender, group in receiver.groups.items():
            kinds = set(self._wanted_kinds(receiver, sender, inputs))
            for kind, key in group.items():
                tap, output = inputs.get(sender, {}).get(kind), outputs.get(key)
                if kind not in kinds or tap is None or output is None:
                    continue
                mime = tap.mime_negotiated
                if mime is None or mime != output.mime_negotiated:
                    continue  # never transcoded in a call
                wanted[key] = (tap, output)
        for link in [link for link in self._links if link[0] == receiver.id and
                     wanted.get(link[1]) != self._links[link]]:
            self._unlink(link)
        for key, (tap, output) in wanted.items():
            if (receiver.id, key) not in self._links:
                self._link(receiver, key, tap, output)

    def _link(self, receiver: _Party, key: SlotKey, tap: Tap, output: OutputTrack) -> None:
        want = output.mime_negotiated
        link = (receiver.id, key)
        self.forwarded.setdefault(link, 0)
        leg = receiver.leg

        def forward(frame: EncodedFrame) -> None:
            if frame.mime == want:
                output.push(frame, tap)
                self.forwarded[link] += 1
                if not receiver.media_reported and leg is not None and leg.state == "connected":
                    receiver.media_reported = True
                    self._callback(self.on_media, receiver.id)

        tap.add_sink((self, link), forward)
        output.upstream = tap  # the receiver's keyframe requests go to the sender
        tap.request_keyframe(force=True)  # the first picture at once
        self._links[link] = (tap, output)

    def _unlink(self, link: tuple[str, SlotKey]) -> None:
        tap, output = self._links.pop(link)
        tap.remove_sink((self, link))
        output.clear()

    def _unlink_where(self, which: Callable[[str, Tap], bool]) -> None:
        for link in [link for link, (tap, _) in self._links.items() if which(link[0], tap)]:
            self._unlink(link)

    # -- recording --------------------------------------------------------------------

    def _sync_recording(self, inputs: dict[str, dict[str, Tap]]) -> None:
        # Heard by a caller or specialist (a listening supervisor does not make a held caller recorded).
        heard = {self._source_of_link(tap, inputs) for (receiver, _), (tap, _) in self._links.items()
                 if self._parties[receiver].role != SUPERVISOR}
        for pid, party in self._parties.items():
            recorder = self._recorder(self._names[pid]) if self._recorder is not None and pid in heard else None
            for kind in ("audio", "video"):
                tap = inputs.get(pid, {}).get(kind) if recorder is not None else None
                old = self._recording.get((pid, kind))
                if tap is old:
                    continue
                if old is not None:
                    old.remove_sink((self, "record", kind))
                    del self._recording[(pid, kind)]
                if tap is not None and recorder is not None:
                    tap.add_sink((self, "record", kind), _record(recorder, kind, tap))
                    self._recording[(pid, kind)] = tap
                    tap.request_keyframe()

    @staticmethod
    def _source_of_link(tap: Tap, inputs: dict[str, dict[str, Tap]]) -> str | None:
        return next((pid for pid, taps in inputs.items() if tap in taps.values()), None)

    # -- callbacks --------------------------------------------------------------------

    def _report_layouts(self) -> None:
        for pid, party in list(self._parties.items()):
            mids = self.mids(pid)
            if mids != party.mids:
                party.mids = mids
                self._callback(self.on_layout, pid)

    @staticmethod
    def _callback(callback: Callable[..., None] | None, *args: object) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            logger.exception("call callback failed")

    def __repr__(self) -> str:
        return f"<Call {self.session_id[:8]} parties={list(self._parties)} links={len(self._links)}>"


def _record(recorder: Recorder, kind: str, tap: Tap) -> Callable[[EncodedFrame], None]:
    def record(frame: EncodedFrame) -> None:
        recorder.write(kind, tap, frame)

    return record
