"""The network quality classifier, its hysteresis, the freeze rule and the session log's summary
(media/quality.py): pure code, driven with made-up samples and a fake clock."""

from __future__ import annotations

import pytest

from signaling.media.quality import (
    FAIR, GOOD, IMPROVE_AFTER, POOR, THRESHOLDS, WORSEN_AFTER, Direction, FreezeWatch, LevelTracker, Sample,
    call_level, classify, sample_record, summarize,
)


def sample(rtt=20, loss_in=0.0, loss_out=0.0, jitter_in=5.0, jitter_out=5.0, seconds=2.0, frozen=0.0) -> Sample:
    return Sample(seconds=seconds, rtt_ms=rtt,
                  inbound=Direction(loss_pct=loss_in, jitter_ms=jitter_in, kbps=800, fps=30),
                  outbound=Direction(loss_pct=loss_out, jitter_ms=jitter_out, kbps=700, fps=29),
                  frozen_s=frozen)


@pytest.mark.parametrize("figures, expected", [
    ({}, (GOOD, None)),
    ({"rtt": 299}, (GOOD, None)),
    ({"rtt": 300}, (FAIR, "in")),  # RTT belongs to both directions: a tie blames the party's sending
    ({"rtt": 800}, (POOR, "in")),
    ({"loss_in": 1.99}, (GOOD, None)),
    ({"loss_in": 2.0}, (FAIR, "in")),
    ({"loss_out": 10.0}, (POOR, "out")),
    ({"jitter_out": 30.0}, (FAIR, "out")),
    ({"jitter_in": 100.0, "loss_out": 3.0}, (POOR, "in")),  # the worst figure sets the level
    ({"rtt": 400, "loss_out": 5.0}, (FAIR, "out")),  # both fair: the direction whose own figures are worse
])
def test_classify_uses_the_documented_thresholds_and_names_the_weak_direction(figures, expected):
    assert classify(sample(**figures)) == expected


def test_thresholds_are_the_documented_ones():
    # docs/media.md and docs/administration.md quote these: change them together.
    assert THRESHOLDS == {"rtt_ms": (300, 800), "loss_pct": (2, 10), "jitter_ms": (30, 100)}


def test_unknown_figures_do_not_count():
    empty = Sample(seconds=2.0)
    assert classify(empty) == (GOOD, None)
    assert empty.loss_pct is None and empty.jitter_ms is None


def test_worse_direction_figures():
    s = sample(loss_in=1.0, loss_out=4.0, jitter_in=12.0, jitter_out=3.0)
    assert s.loss_pct == 4.0 and s.jitter_ms == 12.0


def levels(tracker: LevelTracker, samples: list[Sample]) -> list[str]:
    return [tracker.update(s)[0] for s in samples]


def test_the_first_sample_sets_the_level_at_once():
    assert levels(LevelTracker(), [sample(loss_out=20)]) == [POOR]


def test_one_bad_sample_does_not_change_the_level():
    good, bad = sample(), sample(loss_in=30)
    assert levels(LevelTracker(), [good, bad, good, bad, good, bad, good]) == [GOOD] * 7


def test_worse_after_two_samples_in_a_row_at_the_milder_of_them():
    t = LevelTracker()
    assert levels(t, [sample(), sample(loss_in=30), sample(loss_in=5)]) == [GOOD, GOOD, FAIR]
    assert WORSEN_AFTER == 2
    assert levels(t, [sample(loss_in=30), sample(loss_in=30)]) == [FAIR, POOR]


def test_better_only_after_three_clearly_better_samples():
    t = LevelTracker()
    levels(t, [sample(loss_in=20)])
    assert IMPROVE_AFTER == 3
    assert levels(t, [sample(), sample(), sample()]) == [POOR, POOR, GOOD]


def test_hovering_at_a_threshold_does_not_flap():
    t = LevelTracker()
    # Loss around the 2 % threshold: 1.8 % is below it but not clearly (< 0.8 x 2 %).
    hovering = [sample(loss_in=v) for v in (2.2, 2.1, 1.8, 2.3, 1.9, 1.7, 2.0, 1.8, 1.9, 1.8)]
    assert levels(t, hovering) == [FAIR] * 10
    assert levels(t, [sample(loss_in=1.0)] * 3) == [FAIR, FAIR, GOOD]


def test_an_interrupted_run_starts_again():
    t = LevelTracker()
    levels(t, [sample(loss_in=20)])
    assert levels(t, [sample(), sample(), sample(loss_in=20), sample(), sample()]) == [POOR] * 5
    assert levels(t, [sample()]) == [GOOD]


def test_the_direction_is_none_when_good_and_follows_the_figures():
    t = LevelTracker()
    assert t.update(sample(loss_out=20)) == (POOR, "out")
    t.update(sample(loss_in=20))
    assert t.update(sample(loss_in=20)) == (POOR, "in")
    for _ in range(3):
        level, direction = t.update(sample())
    assert (level, direction) == (GOOD, None)


# -- freezes --------------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def frames(watch: FreezeWatch, clock: Clock, n: int, interval: float) -> None:
    for _ in range(n):
        clock.now += interval
        watch.frame()


def test_freeze_is_a_gap_longer_than_three_mean_intervals_or_mean_plus_150_ms():
    clock = Clock()
    watch = FreezeWatch(clock)
    frames(watch, clock, 60, 1 / 30)  # 30 fps: the limit is mean + 150 ms (183 ms)
    frames(watch, clock, 1, 0.17)
    assert watch.freezes == 0
    frames(watch, clock, 1, 0.25)
    assert watch.freezes == 1 and watch.frozen_total() == pytest.approx(0.25)
    frames(watch, clock, 30, 1 / 30)
    assert watch.freezes == 1


def test_a_lower_frame_rate_soon_stops_counting_as_freezes():
    clock = Clock()
    watch = FreezeWatch(clock)
    frames(watch, clock, 40, 1.0)  # a camera turned off still sends a black frame a second
    assert watch.freezes == 0
    frames(watch, clock, 60, 1 / 30)
    frames(watch, clock, 10, 1.0)  # 30 fps, then one a second: the first few gaps are freezes
    counted = watch.freezes
    assert 1 <= counted <= 10
    frames(watch, clock, 20, 1.0)
    assert watch.freezes == counted  # the mean has caught up: a steady 1 fps is not frozen


def test_an_ongoing_freeze_counts_before_the_video_comes_back():
    clock = Clock()
    watch = FreezeWatch(clock)
    frames(watch, clock, 30, 1 / 30)
    clock.now += 1.5
    assert watch.frozen_total() == pytest.approx(1.5)  # video stopped: frozen so far
    assert watch.freezes == 0
    watch.frame()
    assert watch.freezes == 1 and watch.frozen_total() == pytest.approx(1.5)


def test_no_video_is_not_a_freeze():
    clock = Clock()
    watch = FreezeWatch(clock)
    clock.now += 60
    assert watch.frozen_total() == 0 and watch.freezes == 0


# -- the summary ------------------------------------------------------------------------------------

def records(levels_and_samples: list[tuple[str, str | None, Sample]], party: str = "caller") -> list[dict]:
    return [sample_record(f"2026-12-03T10:00:{i:02d}", party, s, level, direction)
            for i, (level, direction, s) in enumerate(levels_and_samples)]


def test_summary_of_no_samples_is_none():
    assert summarize([]) is None
    assert call_level([None, None]) is None


def test_summary_figures():
    rows = records([(GOOD, None, sample(rtt=20 + i)) for i in range(18)]
                   + [(POOR, "out", sample(rtt=900, loss_out=15.0, frozen=1.0))] * 2)
    rows[-1]["freezes"] = 1
    s = summarize(rows)
    assert s["samples"] == 20 and s["seconds"] == 40.0
    assert s["share"] == {GOOD: 0.9, FAIR: 0.0, POOR: 0.1}
    assert s["level"] == GOOD  # poor in 10 % of its samples: under the 20 % that makes it poor
    assert s["rtt_ms"] == {"p50": 29, "p95": 900, "max": 900}
    assert s["loss_pct"]["max"] == 15.0 and s["loss_out_pct"] == 1.5 and s["loss_in_pct"] == 0.0
    assert s["kbps_in"] == {"mean": 800, "min": 800} and s["kbps_out"]["mean"] == 700
    assert s["fps"] == 30 and s["fps_out"] == 29
    assert s["freezes"] == 1 and s["frozen_s"] == 2.0
    assert s["weak"] == "out"


@pytest.mark.parametrize("poor, fair, expected", [
    (4, 0, POOR),  # 20 % of 20 samples poor: a poor party, a poor call
    (3, 0, GOOD),  # 15 % poor, nothing else: under both shares
    (3, 1, FAIR),  # fair or poor in 20 %
    (0, 4, FAIR),
    (0, 3, GOOD),
])
def test_summary_level_from_shares(poor, fair, expected):
    rows = records([(POOR, "in", sample(loss_in=20))] * poor + [(FAIR, "in", sample(loss_in=5))] * fair
                   + [(GOOD, None, sample())] * (20 - poor - fair))
    assert summarize(rows)["level"] == expected


def test_call_level_is_the_worse_party():
    good = summarize(records([(GOOD, None, sample())]))
    poor = summarize(records([(POOR, "in", sample(loss_in=30))]))
    assert call_level([good, None]) == GOOD
    assert call_level([good, poor]) == POOR


def test_sample_record_holds_every_quality_samples_column():
    from signaling.store.models import QualitySample

    row = sample_record("2026-12-03T10:00:00", "specialist", sample(), GOOD, None)
    assert set(QualitySample.COLUMNS) <= set(row)
