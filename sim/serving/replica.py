"""One serving replica under continuous batching, on the SimPy clock.

Each iteration runs one decode token for every running request plus prefill chunks of waiting
prompts up to ``max_batched_tokens`` (iteration-level scheduling, as vLLM and SGLang do). A request
is admitted when the KV cache has room for its prompt; when a running batch fills the cache, the
newest request is preempted and later recomputed (vLLM's default).

Events follow changes of the batch, not tokens: while no prompt is being prefilled, the decode
steps up to the next change (a request finishing, the cache filling) are one timeout of closed-form
length (``DecodeRun``). An arrival that could join cuts the run at the end of the step under way.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import simpy

from sim.perf.inference import DecodeRun, StepModel


@dataclass(eq=False, slots=True)
class Request:
    """One request and what happened to it (times in seconds from the start)."""

    index: int
    arrival_s: float
    prompt: int
    output: int
    first_token_s: float = math.nan
    finish_s: float = math.nan
    replica: int = -1
    generated: int = 0  # output tokens when it last joined a batch (kept across a preemption)
    to_prefill: int = (
        0  # tokens this attempt must put in the cache: prompt, plus output if recomputed
    )
    prefilled: int = 0
    preemptions: int = 0
    retries: int = 0
    dropped: bool = False
    klass: int = 0  # a mixed fleet's request class (index into mix.classes)
    priority: int = 0  # its class's: it waits ahead of requests of lower priority

    def start(self) -> None:
        self.to_prefill = self.prompt + self.generated
        self.prefilled = 0


@dataclass(slots=True)
class _Running:
    request: Request
    target: int  # the replica's decode count at which the request has its last token
    offset: int  # cached tokens minus the replica's decode count
    joined: int  # the replica's decode count when it joined the batch


@dataclass
class Replica:
    """A replica's queue, batch and cache; ``done`` is called with each finished request."""

    index: int
    env: simpy.Environment
    model: StepModel
    kv_tokens: int
    max_batch: int
    max_batched_tokens: int
    done: Callable[[Request], None]
    up: bool = True
    busy_s: float = 0.0
    load: int = 0  # requests held (waiting, prefilling or running): the router reads it per arrival
    waiting: deque[Request] = field(default_factory=deque)
    prefilling: list[Request] = field(default_factory=list)
    running: dict[int, _Running] = field(default_factory=dict)  # by request index, oldest first
    _targets: list[tuple[int, int]] = field(default_factory=list)  # heap of (target, request index)
    _decoded: int = 0  # decode steps taken
    _offsets: int = 0  # sum of the running requests' offsets
    _reserved: int = 0  # cache reserved for the prompts being prefilled
    _wake: simpy.Event | None = None
    _started_s: float = 0.0
    _run: DecodeRun | None = None  # the decode run under way, if any
    _run_steps: int = 0

    def submit(self, request: Request) -> None:
        request.replica = self.index
        request.start()
        if self.waiting and self.waiting[-1].priority < request.priority:  # ahead of lower ones
            ahead = next(i for i, r in enumerate(self.waiting) if r.priority < request.priority)
            self.waiting.insert(ahead, request)
        else:
            self.waiting.append(request)
        self.load += 1
        if self._wake is None:
            self._next()
        elif self._run is not None and self._admissible():
            self._cut_run()

    def fail(self) -> list[Request]:
        """Stop: the requests it held, oldest first; its cache and batch are gone."""
        if self._wake is not None:
            self.busy_s += self.env.now - self._started_s
        held = [r.request for r in self.running.values()] + self.prefilling + list(self.waiting)
        self.waiting.clear()
        self.prefilling.clear()
        self.running.clear()
        self._targets.clear()
        self._offsets = self._reserved = self.load = 0
        self._wake, self._run, self.up = None, None, False
        return held

    def recover(self) -> None:
        self.up = True

    # The scheduler: one pending wake-up, the end of an iteration or of a decode run.

    def _context(self) -> int:
        return self._offsets + len(self.running) * self._decoded

    def _free(self) -> int:
        return self.kv_tokens - self._reserved - self._context()

    def _admissible(self) -> bool:
        if not self.waiting or len(self.running) + len(self.prefilling) >= self.max_batch:
            return False
        # room for the prompt and for one more token of every request, the new one included
        return self.waiting[0].to_prefill + len(self.running) + 1 <= self._free()

    def _next(self) -> None:
        self._wake = self._run = None
        if not self.up:
            return
        while self.running and self._free() < len(self.running):  # no room for one more token
            self._preempt()
        while self._admissible():
            request = self.waiting.popleft()
            self._reserved += request.to_prefill
            self.prefilling.append(request)
        if self.prefilling:
            self._mixed_step()
        elif self.running:
            self._decode_run()

    def _mixed_step(self) -> None:
        decode, budget = len(self.running), self.max_batched_tokens - len(self.running)
        chunks, tokens, pairs, cached = [], 0, 0.0, 0
        for request in self.prefilling:
            if budget <= 0:
                break
            n = min(request.to_prefill - request.prefilled, budget)
            pairs += n * (request.prefilled + n / 2.0)  # causal: each attends to those before it
            cached += request.prefilled
            chunks.append((request, n))
            tokens, budget = tokens + n, budget - n
        seconds = self.model.step_s(decode, self._context(), tokens, pairs, cached)
        self._sleep(seconds, lambda: self._end_mixed(chunks, decode))

    def _end_mixed(self, chunks: list[tuple[Request, int]], decode: int) -> None:
        if decode:
            self._decoded += 1
        for request, n in chunks:
            request.prefilled += n
            if request.prefilled == request.to_prefill:
                self.prefilling.remove(request)
                self._reserved -= request.to_prefill
                self._first_token(request)
        self._finish_due()
        self._next()

    def _first_token(self, request: Request) -> None:
        """Prefill ends with a token: the first of the reply (or the next, after a preemption)."""
        if math.isnan(request.first_token_s):
            request.first_token_s = self.env.now
        request.generated += 1
        left = request.output - request.generated
        if left <= 0:
            self._complete(request)
            return
        offset = request.to_prefill - self._decoded
        target = self._decoded + left
        self.running[request.index] = _Running(request, target, offset, self._decoded)
        self._offsets += offset
        heapq.heappush(self._targets, (target, request.index))

    def _current(self, target: int, index: int) -> bool:
        """Whether a heap entry is live (not left behind by a preemption)."""
        running = self.running.get(index)
        return running is not None and running.target == target

    def _decode_run(self) -> None:
        batch = len(self.running)
        while not self._current(*self._targets[0]):
            heapq.heappop(self._targets)
        to_finish = self._targets[0][0] - self._decoded
        steps = min(to_finish, self._free() // batch)  # _next left room for one step at least
        run = self.model.decode_run(batch, self._context())
        self._sleep(run.duration_s(steps), self._end_run)
        self._run, self._run_steps = run, steps

    def _cut_run(self) -> None:
        """End the decode run under way at the end of its current step, so a request can join."""
        assert self._run is not None
        done = self._run.steps_within(self.env.now - self._started_s)
        if done + 1 >= self._run_steps:
            return
        started, run = self._started_s, self._run
        self._run_steps = done + 1
        self._sleep(started + run.duration_s(done + 1) - self.env.now, self._end_run)
        self._started_s, self._run = started, run  # busy from the run's start

    def _end_run(self) -> None:
        self._decoded += self._run_steps
        self._finish_due()
        self._next()

    def _finish_due(self) -> None:
        """Complete the running requests whose last token came with this step."""
        while self._targets and self._targets[0][0] <= self._decoded:
            target, index = heapq.heappop(self._targets)
            if self._current(target, index):
                running = self.running.pop(index)
                self._offsets -= running.offset
                self._complete(running.request)

    def _preempt(self) -> None:
        """Free the newest running request's cache; it will be prefilled again, replies so far
        included (recomputation)."""
        index = next(reversed(self.running))
        running = self.running.pop(index)
        self._offsets -= running.offset
        request = running.request
        request.generated += self._decoded - running.joined
        request.preemptions += 1
        request.start()
        self.waiting.appendleft(request)

    def _complete(self, request: Request) -> None:
        request.finish_s = self.env.now
        self.load -= 1
        self.done(request)

    def _sleep(self, seconds: float, then: Callable[[], None]) -> None:
        wake = self.env.timeout(seconds)
        self._wake, self._started_s = wake, self.env.now

        def woken(event: simpy.Event) -> None:
            if event is self._wake:
                self.busy_s += self.env.now - self._started_s
                then()

        wake.callbacks.append(woken)
