"""The 8086/8088 bus interface unit: prefetch queue, bus cycles and the EU's use of them, clock by clock.

What it owns: the clock-level interplay between the execution unit (EU),
which runs an instruction's microcode, and the bus interface unit (BIU),
which owns the bus and the prefetch queue.  An instruction is described by
its *schedule* (:mod:`sim.cycles.i8086_schedule`): EU clocks, the points at
which the EU takes a byte from the queue, the points at which it asks the
BIU for a memory or I/O transfer, a queue flush (every transfer of control)
and a prefetch suspension.  :func:`run` plays one schedule against a
:class:`BusState` and returns its clock count, the clocks it stalled on the
queue and on the bus, and the state the next instruction starts from.

The rules (from Intel's 8086 and 8088 data sheets for the T-states, and from
the public reverse-engineering of the queue and bus arbitration logic —
reenigne's 8088 cycle-exact notes and the MartyPC emulator's description of
them — re-derived and checked here against real-chip bus traces):

* Every bus cycle is T1 T2 T3 T4 (plus ``wait`` Tw before T4 when wait
  states are configured).  A code fetch takes one word (two bytes) at an
  even address and one byte at an odd one on the 8086; one byte on the
  8088.  A word operand at an odd address is two byte cycles on the 8086;
  every word operand is two byte cycles on the 8088.
* The BIU decides what to run next at T2 of the current cycle: the EU's
  transfer if the EU asked for the bus by then, else a code fetch if the
  queue has room (8086: at most 4 of its 6 bytes in use, so that a word
  fits; 8088: at most 3 of 4) and prefetching is not suspended, else
  nothing.  A decision taken there starts at the next clock after T4.
* A request that arrives later, or while the bus is idle, goes through the
  address pipeline first: T1 follows two clocks after the request, and not
  before two clocks after the last T4 (three for a code fetch).  An EU
  request that arrives after the BIU already committed to a code fetch
  aborts it: the EU's T1 comes three clocks after its request.
* The queue: a byte fetched becomes readable two clocks after its T4.  The
  EU reads one byte per clock and stalls on an empty queue.  A transfer of
  control flushes the queue and starts a fetch from the target at once.
* The 8088 holds back a fetch for three clocks when the queue reaches its
  policy length (3 bytes) during a code fetch.

What it leaves out: DRAM refresh (on a PC, DMA channel 0 steals a bus
cycle every 72 clocks), interrupts and the LOCK/RQ-GT pins.  Wait states
are modelled only as the fixed numbers given (``code``/``data``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Schedule operations (tuples; the first item names the operation).
Q = "q"          # ("q",): take the next instruction byte from the queue (1 clock; stalls on an empty queue)
EU = "eu"        # ("eu", n): n EU clocks
READ = "r"       # ("r", width, odd, io): an EU read; the EU waits for its T4
WRITE = "w"      # ("w", width, odd, io, last): an EU write; the EU waits for T4 (for T3 when last)
FLUSH = "flush"  # ("flush", odd): transfer of control: empty the queue, fetch from the target (odd address?)
SUSP = "susp"    # ("susp",): suspend prefetching (waits for a code fetch under way to end)
CLAIM = "claim"  # ("claim",): the EU will need the bus: no new back-to-back fetch is decided until its transfer


@dataclass(frozen=True)
class BusGeometry:
    """What differs between the 8086 and the 8088."""

    name: str
    queue_size: int      # 6 / 4
    bus_bytes: int       # 2 / 1
    code_wait: int = 0   # wait states per code fetch
    data_wait: int = 0   # wait states per memory/I-O transfer

    @property
    def room_limit(self) -> int:
        """A fetch may be decided while the queue holds at most this many bytes."""
        return self.queue_size - self.bus_bytes


I8086_BUS = BusGeometry("8086", queue_size=6, bus_bytes=2)
I8088_BUS = BusGeometry("8088", queue_size=4, bus_bytes=1)


@dataclass(frozen=True)
class BusState:
    """Everything the next instruction inherits, relative to the clock its first byte is read.

    ``queue``: bytes readable now; ``arrivals``: (clock, bytes) still on
    their way into the queue (clock relative to now); ``fetch_odd``: the
    next code fetch is from an odd address; ``bus_t1``: T1 of the bus cycle
    under way (≤ 0) or None; ``bus_len``: its length in clocks;
    ``bus_code``: it is a code fetch; ``next_t1``/``next_code``: a cycle
    already committed to start then; ``idle_since``: clock of the last T4
    (relative, ≤ 0), for the address-pipeline rule; ``suspended``: prefetch
    suspended.
    """

    queue: int
    arrivals: tuple = ()
    fetch_odd: bool = False
    bus_t1: int | None = None
    bus_len: int = 4
    bus_code: bool = False
    next_t1: int | None = None
    next_code: bool = False
    idle_since: int = -100
    suspended: bool = False


def full_queue(geometry: BusGeometry, ip_odd: bool = False) -> BusState:
    """The state SingleStepTests start from: a full queue (one byte short at an odd IP on the 8086), bus idle."""
    size = geometry.queue_size - (1 if ip_odd and geometry.bus_bytes == 2 else 0)
    return BusState(queue=size, fetch_odd=False)


@dataclass
class Result:
    clocks: int
    queue_wait: int      # clocks the EU stalled on an empty queue
    bus_wait: int        # clocks the EU waited for the bus beyond its own transfers' T-states
    state: BusState
    cycles: list         # (T1 clock, kind 'c'/'r'/'w'/'i'/'o', length) of every bus cycle started


class _Sim:
    """One instruction's clocks: the EU's schedule against the BIU, event by event."""

    def __init__(self, g: BusGeometry, s: BusState):
        self.g = g
        self.queue = s.queue
        self.arrivals = list(s.arrivals)
        self.fetch_odd = s.fetch_odd
        self.bus_t1 = s.bus_t1
        self.bus_len = s.bus_len
        self.bus_code = s.bus_code
        self.next_t1 = s.next_t1
        self.next_code = s.next_code
        self.idle_since = s.idle_since
        self.suspended = s.suspended
        self.now = 0
        self.cycles: list = []
        self.queue_wait = 0
        self.bus_wait = 0
        self.eu_claim: int | None = None   # clock at which the EU asked for the bus
        self.upcoming: int | None = None   # clock of the EU's next transfer request, once its microcode is committed to it
        self.next_b2b = False              # the committed fetch was decided at T3 of a running cycle
        self.aborted = False               # such a fetch was aborted by the EU's claim

    # --- the BIU, advanced to clock `until` ------------------------------------------

    def _fetch_bytes(self) -> int:
        if self.g.bus_bytes == 2 and self.fetch_odd:
            return 1
        return self.g.bus_bytes

    def _in_queue(self, t: int) -> int:
        """Bytes in the queue at clock t, counting every arrival by then."""
        return self.queue + sum(n for at, n in self.arrivals if at <= t)

    def _start(self, t1: int, code: bool, length: int) -> None:
        self.bus_t1, self.bus_code, self.bus_len = t1, code, length
        if code:
            n = self._fetch_bytes()
            self.fetch_odd = not self.fetch_odd if n == 1 else self.fetch_odd
            self.arrivals.append((t1 + length - 1 + 2, n))
            self.cycles.append((t1, "c", length))

    def _room(self, t: int) -> bool:
        inflight = sum(n for at, n in self.arrivals)
        return self.queue + inflight <= self.g.room_limit

    def advance(self, until: int) -> None:
        """Run the BIU's decisions up to and including clock ``until`` (code fetches only; EU cycles are placed by the EU)."""
        while True:
            # Settle arrivals.
            done = [a for a in self.arrivals if a[0] <= self.now]
            if done:
                self.queue += sum(n for _, n in done)
                self.arrivals = [a for a in self.arrivals if a[0] > self.now]
            if self.bus_t1 is not None and self.now >= self.bus_t1 + self.bus_len:
                self.idle_since = self.bus_t1 + self.bus_len - 1
                self.bus_t1 = None
            if self.now >= until:
                return
            if self.bus_t1 is None and self.next_t1 is not None and self.now >= self.next_t1:
                code = self.next_code
                self.next_t1 = None
                self._start(self.now, code, 4 + (self.g.code_wait if code else self.g.data_wait))
            self._decide()
            self.now += 1

    def _decide(self) -> None:
        """The BIU's choice at this clock for the next code fetch (EU cycles are placed by the EU)."""
        t = self.now
        if self.next_t1 is not None or self.suspended or self.eu_claim is not None:
            return
        if self.bus_t1 is not None:
            claimed = self.upcoming is not None and self.upcoming - 2 <= t
            if t == self.bus_t1 + 2 and not claimed and self._room(t):   # T3: back to back after T4
                self.next_t1, self.next_code = self.bus_t1 + self.bus_len, True
                self.next_b2b = True
            return
        if self._room(t):
            self.next_t1 = max(t + 2, self.idle_since + 4)
            self.next_code = True
            self.next_b2b = False

    # --- the EU -------------------------------------------------------------------------

    def take_byte(self) -> None:
        start = self.now
        self.advance(self.now)
        while self.queue == 0:
            if not self.arrivals and self.bus_t1 is None and self.next_t1 is None:
                raise RuntimeError("queue empty and nothing fetching")
            self.advance(self.now + 1)
        self.queue_wait += self.now - start
        self.queue -= 1
        # The read may make room for a fetch at this very clock (decided next clock).
        self.advance(self.now + 1)

    def eu_clocks(self, n: int) -> None:
        self.advance(self.now + n)

    def transfer(self, kind: str, parts: int, last: bool) -> None:
        """An EU transfer of ``parts`` byte/word bus cycles; the EU waits for the last T4 (T3 when ``last``)."""
        request = self.now
        self.advance(request - 1)   # a fetch due to start at this very clock still gives way
        self.now = request
        length = 4 + self.g.data_wait
        for part in range(parts):
            self.eu_claim = request
            if part == 0:
                t1 = self._eu_first_t1(request)
            else:
                t1 = self.bus_t1 + self.bus_len
            self.advance(t1)
            self.next_t1, self.next_code = None, False
            self.bus_t1, self.bus_code, self.bus_len = t1, False, length
            self.cycles.append((t1, kind, length))
            if part == parts - 1:
                self.eu_claim = None
                self.upcoming = None
        end = self.bus_t1 + self.bus_len - (1 if last else 0)
        own = parts * length - (1 if last else 0)
        self.bus_wait += max(0, end - request - own)
        self.advance(end)

    def _eu_first_t1(self, request: int) -> int:
        if self.bus_t1 is not None:
            end = self.bus_t1 + self.bus_len
            if request <= self.bus_t1 + 2:       # asked by T3: straight after T4
                if self.next_t1 is not None and self.next_code:
                    self.next_t1 = None
                return end
            if self.next_t1 is not None and self.next_code:   # the BIU committed to a fetch: abort it
                self.next_t1 = None
                return max(request + 3, end)
            return max(request + 2, end + 2)
        if self.aborted or (self.next_t1 is not None and self.next_code and self.next_b2b
                            and request <= self.next_t1 + 2):
            self.next_t1 = None                               # a fetch decided at T3 is aborted
            self.aborted = False
            return max(request + 3, self.idle_since + 3)
        if self.next_t1 is not None and self.next_code:       # a fetch still in the address pipeline
            committed = self.next_t1
            self.next_t1 = None
            if request == committed - 1:                      # met in the address pipeline: aborted, one clock lost
                return max(request + 3, self.idle_since + 3)
        return max(request + 2, self.idle_since + 3)

    def flush(self, odd: bool) -> None:
        self.advance(self.now)
        self.queue = 0
        self.arrivals = []
        self.fetch_odd = odd
        self.suspended = False
        self.next_t1 = None
        t1 = self.now + 2
        if self.bus_t1 is not None:
            t1 = max(t1, self.bus_t1 + self.bus_len)
            if self.bus_code:   # bytes of a fetch under way are dropped
                pass
        self.next_t1, self.next_code = t1, True

    def suspend(self) -> None:
        self.advance(self.now)
        self.suspended = True
        if self.next_t1 is not None and self.next_code:
            if self.next_t1 > self.now:
                self.next_t1 = None
            else:                       # due this very clock: it goes ahead
                self.advance(self.now + 1)
        if self.bus_t1 is not None and self.bus_code:
            self.advance(self.bus_t1 + self.bus_len - 1)

    def finish(self) -> int:
        """Clock at which the next instruction's first byte is read (RNI)."""
        start = self.now
        self.advance(self.now)
        while self.queue == 0:
            self.advance(self.now + 1)
        self.queue_wait += self.now - start
        return self.now


def run(schedule, geometry: BusGeometry, state: BusState) -> Result:
    """Play one instruction's schedule from ``state``; the first op is normally the opcode's queue read."""
    sim = _Sim(geometry, state)
    ahead = _request_distances(schedule)
    for index, op in enumerate(schedule):
        kind = op[0]
        if ahead[index] is not None and sim.eu_claim is None:
            sim.upcoming = sim.now + ahead[index]
        if kind == Q:
            sim.take_byte()
        elif kind == EU:
            sim.eu_clocks(op[1])
        elif kind == READ or kind == WRITE:
            _, width, odd, io = op[:4]
            last = kind == WRITE and op[4]
            parts = 2 if width == 2 and (geometry.bus_bytes == 1 or odd) else 1
            letter = ("i" if io else "r") if kind == READ else ("o" if io else "w")
            sim.transfer(letter, parts, last)
        elif kind == FLUSH:
            sim.flush(op[1])
        elif kind == SUSP:
            sim.suspend()
        elif kind == CLAIM:
            pass
        else:
            raise ValueError(f"unknown schedule op {op!r}")
    end = sim.finish()   # the next instruction's first byte is in the queue: its schedule's first op takes it
    state = _rebase(sim, end)
    return Result(end, sim.queue_wait, sim.bus_wait, state, sim.cycles)


def _request_distances(schedule) -> list:
    """For each op, the EU clocks until its next transfer request if only queue reads and EU clocks come
    first (the microcode is then committed to it and the BIU sees the request coming), else None."""
    out: list = [None] * len(schedule)
    distance = None
    for index in range(len(schedule) - 1, -1, -1):
        kind = schedule[index][0]
        if kind in (READ, WRITE):
            distance = 0
            out[index] = None
            continue
        if distance is not None and kind in (Q, EU):
            distance += 1 if kind == Q else schedule[index][1]
            out[index] = distance
        else:
            distance = None
    return out


def _rebase(sim: _Sim, end: int) -> BusState:
    def rel(t):
        return None if t is None else t - end
    return BusState(
        queue=sim.queue,
        arrivals=tuple(sorted((at - end, n) for at, n in sim.arrivals)),
        fetch_odd=sim.fetch_odd,
        bus_t1=rel(sim.bus_t1) if sim.bus_t1 is not None and sim.bus_t1 + sim.bus_len > end else None,
        bus_len=sim.bus_len,
        bus_code=sim.bus_code,
        next_t1=rel(sim.next_t1),
        next_code=sim.next_code,
        idle_since=max(sim.idle_since - end, -8),
        suspended=sim.suspended,
    )
