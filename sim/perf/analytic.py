"""Closed-form models of checkpointed jobs under exponential failures.

Pure functions, kept beside the simulator so tests can hold one against the other where the
theory's assumptions hold: exponential failures at rate 1/M, a fixed checkpoint cost C, a fixed
recovery R (detection + restart + restore) during which failures can also strike and restart it.
Times in seconds.
"""

from __future__ import annotations

import math


def young_interval_s(checkpoint_s: float, mtbf_s: float) -> float:
    """Young (1974): T = sqrt(2 C M)."""
    return math.sqrt(2.0 * checkpoint_s * mtbf_s)


def daly_interval_s(checkpoint_s: float, mtbf_s: float) -> float:
    """Daly (2006), higher-order optimum:
    T = sqrt(2CM) [1 + (1/3) sqrt(C/(2M)) + C/(18M)] - C for C < 2M, else T = M."""
    c, m = checkpoint_s, mtbf_s
    if c >= 2.0 * m:
        return m
    return math.sqrt(2.0 * c * m) * (1.0 + math.sqrt(c / (2.0 * m)) / 3.0 + c / (18.0 * m)) - c


def expected_segment_time_s(
    work_s: float, checkpoint_s: float, recovery_s: float, mtbf_s: float
) -> float:
    """Expected wall-clock time to finish ``work_s`` of training and its checkpoint.

    Renewal argument (Daly 2006, eq. 10 for one segment): the segment of length X = work + C is
    retried until it runs failure-free; each failure costs the time up to it plus a recovery R that
    is itself retried if a failure strikes during it. E[T] = M e^(R/M) (e^(X/M) - 1).
    """
    x = work_s + checkpoint_s
    return mtbf_s * math.exp(recovery_s / mtbf_s) * math.expm1(x / mtbf_s)


def expected_job_time_s(
    work_s: float, interval_s: float, checkpoint_s: float, recovery_s: float, mtbf_s: float
) -> float:
    """Expected wall-clock time of a job of ``work_s`` checkpointed every ``interval_s`` of work;
    the last, shorter segment also ends with a checkpoint."""
    full, last = divmod(work_s, interval_s)
    total = full * expected_segment_time_s(interval_s, checkpoint_s, recovery_s, mtbf_s)
    if last > 0:
        total += expected_segment_time_s(last, checkpoint_s, recovery_s, mtbf_s)
    return total


def first_order_ettr(
    interval_s: float, checkpoint_s: float, recovery_s: float, mtbf_s: float
) -> float:
    """First-order effective training time ratio: the checkpoint overhead C/(T+C), and per failure
    (one every M) a recovery R plus on average half a segment of lost work (T+C)/2."""
    checkpoint_share = interval_s / (interval_s + checkpoint_s)
    failure_share = 1.0 - (recovery_s + (interval_s + checkpoint_s) / 2.0) / mtbf_s
    return checkpoint_share * failure_share


def mttf_of_servers_s(servers: int, server_mttf_s: float) -> float:
    """Mean time to the first failure among ``servers`` independent exponential servers: M / N."""
    return server_mttf_s / servers


def lossless_job_time_s(
    work_s: float, job_rate_per_s: float, recovery_s: float, *, fail_during_recovery: bool
) -> float:
    """Expected wall time of ``work_s`` of training when a failure loses no work and costs a fixed
    ``recovery_s`` (exponential failures at ``job_rate_per_s``). If failures also strike during
    recovery and start it over, a recovery takes (e^(rR) - 1) / r on average, and the whole job
    W e^(rR); if they do not, W (1 + r R)."""
    if fail_during_recovery:
        return work_s * math.exp(job_rate_per_s * recovery_s)
    return work_s * (1.0 + job_rate_per_s * recovery_s)
