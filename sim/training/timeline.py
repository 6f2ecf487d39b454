"""A replicate's time as bucket slices, for its trace.

The ledger is read after every engine event; it books an activity when the activity ends, so
the seconds the buckets gained since the last reading are laid out one after the other (a
recovery before the training it shared a wait with), ending at the reading. A rollback (work
lost to a failure) turns the most recent productive slices into lost work, as the ledger does,
so each bucket's slices sum to that bucket's seconds and all of them to the replicate's wall time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.training.accounting import Bucket, Ledger

# The order buckets gained at one reading were spent in: the engine books a recovery with the
# training that follows it when both are one wait, and the recovery came first.
RECOVERY = (Bucket.DETECTION, Bucket.DIAGNOSIS, Bucket.RESTART, Bucket.RESTORE)
ORDER = (*RECOVERY, *(b for b in Bucket if b not in RECOVERY))


@dataclass
class Slice:
    bucket: Bucket
    start_s: float
    seconds: float


@dataclass
class Timeline:
    """Bucket slices built from successive readings of a ledger."""

    ledger: Ledger
    slices: list[Slice] = field(default_factory=list)
    _last: dict[Bucket, float] = field(default_factory=dict)

    def read(self, now: float) -> None:
        """The ledger books an activity when it ends, so what it gained since the last reading
        ends now: lay it out backwards from ``now``."""
        seconds = self.ledger.seconds
        delta = {b: seconds[b] - self._last.get(b, 0.0) for b in Bucket}
        self._last = dict(seconds)
        rolled_back = max(0.0, -delta[Bucket.PRODUCTIVE])
        if rolled_back:
            self._relabel(rolled_back)
            delta[Bucket.PRODUCTIVE] = 0.0
            delta[Bucket.LOST_WORK] -= rolled_back
        gained = [(b, delta[b]) for b in ORDER if delta[b] > 1e-9]
        start = now - sum(d for _, d in gained)
        for bucket, spent in gained:
            self.slices.append(Slice(bucket, start, spent))
            start += spent

    def _relabel(self, seconds: float) -> None:
        """The last ``seconds`` of productive time become lost work."""
        for index in range(len(self.slices) - 1, -1, -1):
            if seconds <= 1e-9:
                return
            piece = self.slices[index]
            if piece.bucket is not Bucket.PRODUCTIVE:
                continue
            if piece.seconds <= seconds:
                piece.bucket, seconds = Bucket.LOST_WORK, seconds - piece.seconds
            else:  # split: the tail is lost
                piece.seconds -= seconds
                tail = Slice(Bucket.LOST_WORK, piece.start_s + piece.seconds, seconds)
                self.slices.insert(index + 1, tail)
                return
