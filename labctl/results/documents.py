"""The keys of every JSON document labctl prints or stores, declared once.

docs/json.md says what each field means; this module says which fields exist, so the contract
tests (tests/test_contracts.py) can check real output against it without an engine, and a
renamed or forgotten key fails a test instead of a reader's script. ``SCHEMAS`` maps each
``schema`` value to its declaration. ``NotRequired`` marks a key that only some runs carry (an
``id`` once saved, ``stop_seconds`` unless kept running). ``dict[str, Any]`` marks a part whose
keys depend on the machine (runtime facts) or the lesson (answers), so they are not declared.

The head builders at the end make the parts every producer shares (``document_head``,
``server_facts``, ``add_between_engines``), so each document's common fields are built in one
place, next to their declaration.
"""

import datetime as dt
from typing import TYPE_CHECKING, Any, NotRequired, Optional, TypedDict

if TYPE_CHECKING:
    from labctl.runtime.base import BuildInfo, Instance, Runtime
    from labctl.servers import Server

# -- common parts ---------------------------------------------------------------------------


class Summary(TypedDict):
    count: int
    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    p50_low: float
    p50_high: float


class Series(TypedDict):
    unit: str
    samples: int
    non_2xx: int
    errors: int
    summary: Optional[Summary]
    phases_p50: Optional[dict[str, float]]   # None when no request succeeded
    totals_us: list[int]          # every successful sample, for the report's plots


class Host(TypedDict):
    cpu: str
    cores: Optional[int]
    cores_usable: int
    os: str
    python: str
    libcurl: str
    labctl_version: str
    source_revision: str


class LimitsPart(TypedDict):
    cpus: float
    memory_mb: int
    cpuset: Optional[str]


class ServerFacts(TypedDict):
    name: str
    language: str
    framework: str
    framework_version: str
    processes: Any
    concurrency: str


class PathPart(TypedDict):
    kind: str
    description: str


class Check(TypedDict):
    check: str
    status: str
    reason: str


class Verification(TypedDict):
    server: str
    status: str
    checks: list[Check]


class EngineFacts(TypedDict):
    """One Docker engine of a two-engine run (``--client-context``)."""

    endpoint: str
    remote: bool
    machine: str
    context: Optional[str]
    source: str
    measure_on_engine: bool
    name: Optional[str]             # the engine machine's host name, as the engine reports it
    id: Optional[str]
    version: Optional[str]
    api_version: Optional[str]
    os: Optional[str]
    cpus: Optional[int]


class BetweenEngines(TypedDict):
    """Present only when the client ran on another engine than the servers."""

    note: str                       # the sentence: the figures include the network between them
    server_address: str             # where the servers published their ports
    server_address_from: str        # how labctl chose that address
    same_engine: bool               # both contexts lead to one engine (the same engine ID)
    server_engine: EngineFacts
    client_engine: EngineFacts


# -- labctl run -----------------------------------------------------------------------------


class ClientFacts(TypedDict):
    """What a measuring client says of itself (``measure.clients``)."""

    client: str
    where: str                      # "in labctl's own process on this machine" or next to it
    engine: NotRequired[str]        # the engine's machine, when the probe ran there
    libcurl: NotRequired[Optional[str]]
    image: NotRequired[Optional[str]]


class ProbePart(ClientFacts):
    samples: int
    warmup_discarded: int
    modes: dict[str, str]
    cpus: Optional[str]


class OneShotSeries(TypedDict):
    """The curl reference series as a whole (labctl/measure/oneshot.py): what ran, or why it did not."""

    client: str                     # "curl, one process per request"
    measured: bool
    why_not: Optional[str]          # e.g. "no curl program on this machine's PATH"
    curl: Optional[str]             # "curl 7.88.1"
    samples: int
    warmup_discarded: int
    command: str                    # one sample's command, with URL in place of the address
    where: str
    cpus: Optional[str]


class GapPhase(TypedDict):
    phase: str                      # connect, connect to first byte, first byte to end
    one_shot_us: float
    new_connection_us: float
    extra_us: float


class OneShotGap(TypedDict):
    path: str
    one_shot_p50_us: float
    new_connection_p50_us: float
    client_cold_start_us: float     # the difference of the two medians
    ratio: Optional[float]
    second_request_p50_us: Optional[float]
    phases: list[GapPhase]          # differences of medians: they add up to the difference


class RunOneShot(OneShotSeries):
    endpoints: dict[str, Series]    # path → the first request of each process; {} if none
    second_request: dict[str, Series]   # path → the same processes' second new connection
    gap: Optional[OneShotGap]
    reading: list[str]
    expect: str                     # what the reproduce-by-hand command should print


class SingleServerHead(TypedDict):
    """The fields every single-server document (run, load) starts with (``document_head``)."""

    schema: str
    id: NotRequired[str]
    created: str
    server: ServerFacts
    runtime: dict[str, Any]
    build: dict[str, Any]
    limits: LimitsPart
    path: PathPart
    url: str


class RunDocument(SingleServerHead):
    cold_start_ms: float
    cold_start_note: NotRequired[str]   # set when timed on a remote engine's clock
    verification: Verification
    probe: ProbePart
    endpoints: dict[str, dict[str, Series]]
    one_shot_curl: NotRequired[RunOneShot]   # absent only in results saved before it existed
    curl: str
    kept_running: bool
    host: Host
    stop_seconds: NotRequired[float]
    between_engines: NotRequired[BetweenEngines]


# -- labctl load ----------------------------------------------------------------------------


class GeneratorPart(TypedDict):
    name: str
    version: Optional[str]
    where: str
    description: str
    cpuset: Optional[str]
    command: Optional[list[str]]
    by_hand: Optional[list[str]]


class LoadPart(TypedDict):
    generator: GeneratorPart
    target_url: str
    path: str
    loop: str
    loop_description: str
    rate: Optional[float]
    keepalive: bool
    connections: int
    threads: int
    duration_s: float
    measured_duration_s: float
    warmup_s: float
    timeout_s: float
    requests: int
    requests_per_s: float
    bytes_read: Optional[int]
    latency_us: dict[str, Optional[float]]
    percentiles: str
    errors: dict[str, int]
    socket_errors: int
    non_2xx: int
    non_2xx_definition: str
    open_loop: Optional[dict[str, Any]]
    flagged: bool
    reasons: list[str]
    all_failed: bool
    notes: list[str]


class CpusPart(TypedDict):
    server: Optional[str]
    client: Optional[str]
    separated: bool


class LoadDocument(SingleServerHead):
    cpus: CpusPart
    load: LoadPart
    generator_image: Optional[dict[str, Any]]
    flagged: bool
    host: Host
    stop_seconds: NotRequired[float]
    between_engines: NotRequired[BetweenEngines]


# -- labctl compare -------------------------------------------------------------------------


class ColdStart(TypedDict):
    median: float
    samples: list[float]
    note: NotRequired[str]          # set when timed on a remote engine's clock


class CompareFigures(TypedDict, total=False):
    """What was measured of one server in a compare, when it was (``CompareEntry``)."""

    latency: dict[str, dict[str, Series]]
    one_shot_curl: dict[str, Series]   # path → series, when measured
    load: LoadPart


class CompareEntry(ServerFacts, CompareFigures):
    build: dict[str, Any]
    path: NotRequired[PathPart]
    limits: NotRequired[LimitsPart]
    verification: Verification
    measured: bool
    idle_memory_bytes: NotRequired[Optional[int]]
    cold_start_ms: ColdStart


class CompareParameters(TypedDict):
    samples: int
    warmup_discarded: int
    cold_starts: int
    paths: list[str]
    modes: dict[str, str]
    interleaved: bool
    block: int
    probe: str
    probe_where: str
    probe_cpus: Optional[str]
    load: Optional[dict[str, Any]]
    one_shot_curl: NotRequired[Optional[OneShotSeries]]   # null when nothing was measurable
    idle_memory_after_s: NotRequired[float]   # seconds after the first 200 on /health


class PathCheck(TypedDict):
    rule: str
    connect_p50_us: dict[str, float]   # server → median TCP connect on new connections
    slow: list[str]                    # servers whose path was slow: not ranked on new connections


class Analysis(TypedDict):
    ratios: dict[str, dict[str, Any]]
    ties: list[dict[str, Any]]
    reading: list[str]
    path_check: NotRequired[PathCheck]   # absent when nothing was measured


class CompareDocument(TypedDict):
    schema: str
    id: NotRequired[str]
    created: str
    runtime: dict[str, Any]
    host: Host
    limits: LimitsPart
    parameters: CompareParameters
    servers: dict[str, CompareEntry]
    analysis: Analysis
    between_engines: NotRequired[BetweenEngines]


# -- labctl lab bottleneck ------------------------------------------------------------------


class Prediction(TypedDict):
    requests_per_s: Optional[float]
    latency_ms: Optional[float]
    formula: str
    why: str


class MeasuredStep(TypedDict):
    requests_per_s: float
    latency_p50_ms: Optional[float]
    latency_p99_ms: Optional[float]
    socket_errors: int
    non_2xx: int
    flagged: bool
    reasons: list[str]


class ServerTiming(TypedDict):
    status: int
    server_timing_ms: dict[str, float]
    x_timing_ms: Optional[float]


class LabFields(TypedDict):
    """What every lab command adds to its lab's document (docs/json.md)."""

    versions_vs_lesson: NotRequired[dict[str, Any]]   # the lesson, and servers whose version differs


class LabStep(TypedDict):
    step: str
    title: str
    path: str
    prediction: Prediction
    measured: MeasuredStep
    gap: Optional[float]
    agrees: Optional[bool]
    sentence: str
    server_timing: ServerTiming
    load: LoadPart


class LabServer(ServerFacts):
    blocking_unit: str
    limits: LimitsPart
    path: PathPart
    steps: list[LabStep]


class LabParameters(TypedDict):
    connections: int
    duration_s: float
    delay_ms: float
    tolerance: float
    loop: str
    keepalive: bool


class LabDocument(LabFields):
    schema: str
    id: NotRequired[str]
    created: str
    runtime: dict[str, Any]
    host: Host
    parameters: LabParameters
    limits: LimitsPart
    servers: dict[str, LabServer]


# -- labctl lab edge-cases, slow-clients, shutdown ------------------------------------------


class JudgedPrediction(TypedDict):
    column: str
    row: str
    predicted: str
    correct: bool


class YourPredictions(TypedDict):
    judged: list[JudgedPrediction]
    right: int
    total: int
    score: Optional[float]
    not_measured: list[str]


class EdgeCase(TypedDict):
    number: int
    key: str
    title: str
    level: str
    requirement: str
    reference: str
    why: str
    allowed: list[str]
    must_close: bool
    request: str


class EdgeOutcome(TypedDict):
    """What one case did to one server (``edgecases.run_case``; the proxy lab reads it too)."""

    outcome: str
    statuses: list[int]
    connection: str
    connection_close_header: bool
    timed_out: bool
    seconds: float
    malformed: NotRequired[str]
    continue_before_body: NotRequired[Optional[bool]]
    in_order: NotRequired[bool]
    breaks_must: Optional[str]


class EdgeOutcomeExtras(TypedDict, total=False):
    """The keys of an ``EdgeOutcome`` only some cases carry, gathered before the cell is built."""

    malformed: str
    continue_before_body: Optional[bool]
    in_order: bool


class EdgeCell(EdgeOutcome):
    predicted: Optional[str]
    prediction_holds: Optional[bool]


class EdgeServer(ServerFacts):
    column: str
    path: PathPart
    cells: dict[str, EdgeCell]
    parser_requested: NotRequired[Optional[str]]
    parser_reported: NotRequired[Optional[str]]


class EdgeParameters(TypedDict):
    python_parser: str
    continue_wait_s: float
    big_header_bytes: int
    trickle_bytes: int
    connection: str


class EdgeBroken(TypedDict):
    case: int
    column: str
    why: str


class EdgeWrong(TypedDict):
    case: int
    column: str
    predicted: str
    measured: str


class EdgeSummary(TypedDict):
    musts_broken: list[EdgeBroken]
    predictions_wrong: list[EdgeWrong]
    rows_that_differ: list[int]


class EdgeCasesDocument(LabFields):
    schema: str
    id: NotRequired[str]
    created: str
    runtime: dict[str, Any]
    host: Host
    parameters: EdgeParameters
    limits: LimitsPart
    cases: list[EdgeCase]
    servers: dict[str, EdgeServer]
    summary: EdgeSummary
    your_predictions: NotRequired[YourPredictions]


class SlowConnection(TypedDict):
    index: int
    how: str
    after_s: Optional[float]
    bytes_sent: NotRequired[int]
    by_reset: NotRequired[bool]
    status: NotRequired[int]
    error: NotRequired[str]


class NormalClient(TypedDict):
    requests: int
    answered: int
    statuses: dict[str, int]
    errors: int
    error_kinds: list[str]
    latency_p50_ms: Optional[float]
    latency_max_ms: Optional[float]


class CutTimes(TypedDict):
    min: float
    median: float
    max: float


class SlowSummary(TypedDict):
    ended_by: dict[str, int]
    cut: int
    cut_after_s: Optional[CutTimes]


class SlowPrediction(TypedDict):
    how: str
    after_s: Optional[float]


class SlowMeasured(TypedDict):
    """One run's measurement (``slowclients.measure_run``), before the lab adds the rest."""

    normal_before: NormalClient
    normal_during: NormalClient
    connections: list[SlowConnection]
    summary: SlowSummary


class SlowRun(SlowMeasured):
    env: dict[str, str]
    server_still_running: bool
    how: str
    after_s: Optional[float]
    predicted: Optional[SlowPrediction]
    prediction_holds: Optional[bool]


class SlowServer(ServerFacts):
    runs: dict[str, SlowRun]
    path: PathPart


class SlowParameters(TypedDict):
    connections: int
    interval_s: float
    window_s: float
    normal_every_s: float
    normal_timeout_s: float
    baseline_s: NotRequired[float]      # the normal client alone first (2 s before it was kept)
    defaults_env: str
    cut_tolerance_s: float
    normal_client: str


class SlowClientsDocument(LabFields):
    schema: str
    id: NotRequired[str]
    created: str
    runtime: dict[str, Any]
    host: Host
    parameters: SlowParameters
    limits: LimitsPart
    servers: dict[str, SlowServer]
    your_predictions: NotRequired[YourPredictions]


class InFlight(TypedDict):
    outcome: str
    ended_after_sigterm_s: Optional[float]


class IdleConnection(TypedDict):
    index: int
    how: str
    after_sigterm_s: Optional[float]


class SteadyBefore(TypedDict):
    requests: int
    answered: int


class SteadyClient(TypedDict):
    before_stop: SteadyBefore
    after_sigterm: dict[str, int]
    last_answered_after_sigterm_s: Optional[float]


class StopPrediction(TypedDict):
    stop_s: float
    in_flight: str


class StopMeasured(TypedDict):
    """One stop, measured (``shutdown.measure_stop``), before the lab adds the rest."""

    stop_seconds: float
    in_flight: list[InFlight]
    in_flight_completed: int
    in_flight_verdict: str
    idle: list[IdleConnection]
    steady: SteadyClient


class StopRun(StopMeasured):
    env: dict[str, str]
    predicted: StopPrediction
    prediction_holds: bool


class StopServer(ServerFacts):
    runs: dict[str, StopRun]


class StopParameters(TypedDict):
    idle_connections: int
    in_flight: int
    in_flight_wait_ms: int
    stop_after_s: float
    grace_s: float
    steady_every_s: float
    off_env: str
    stop_tolerance_s: float
    stop: str


class ShutdownDocument(LabFields):
    schema: str
    id: NotRequired[str]
    created: str
    runtime: dict[str, Any]
    host: Host
    parameters: StopParameters
    limits: LimitsPart
    servers: dict[str, StopServer]
    your_predictions: NotRequired[YourPredictions]


# -- labctl lab overload --------------------------------------------------------------------


class OverloadParameters(TypedDict):
    path: str
    default_items: int
    calibration_band_rps: list[float]
    target_capacity_rps: float
    fractions: list[float]
    step_s: float
    capacity_s: float
    warmup_s: float
    timeout_s: float
    shed_env: str
    quick: bool
    capacity_connections: int
    collapse_goodput: float
    bounded_p99: float
    timing_out_share: float
    goodput_tolerance: float


class OverloadCapacity(TypedDict):
    requests_per_s: float
    connections: int
    items: int                    # the cost per request the closed loop asked for
    path: str                     # /report, with ?items=N when not the default
    load: dict[str, Any]          # the closed-loop run, as labctl.load/1's result


class KernelQueue(TypedDict):
    samples: int
    every_s: float
    unread_requests_median: float
    unread_requests_max: int
    accept_queue_median: float
    accept_queue_max: int


class OverloadPrediction(TypedDict):
    utilisation: float
    goodput_rps: float
    p99_ms: float
    in_system: Optional[float]
    verdict: str
    timeout_crossed_after_s: Optional[float]


class OverloadStep(TypedDict):
    fraction: float
    connections: int
    offered_rps: float
    scheduled: Optional[int]
    sent: Optional[int]
    achieved_rps: float
    goodput_rps: float
    goodput_fraction: Optional[float]
    ok_2xx: int
    shed_503: int
    other_status: int
    timeouts: int
    errors: int
    p50_ms: Optional[float]
    p99_ms: Optional[float]
    generator_limited: bool
    in_system_littles_law: Optional[float]
    kernel_queue: Optional[KernelQueue]
    drained_after_s: float
    predicted: OverloadPrediction
    prediction_misses: list[str]
    load: dict[str, Any]          # the open-loop run, as labctl.load/1's result


class OverloadRun(TypedDict):
    env: dict[str, str]
    steps: list[OverloadStep]


class OverloadTop(TypedDict):
    fraction: float
    goodput_rps: float
    goodput_fraction: Optional[float]
    p99_ms: Optional[float]
    shed_503: int
    timeouts: int
    generator_limited: bool
    verdict: str


class OverloadServer(ServerFacts):
    capacity: OverloadCapacity
    capacity_at_default_items: Optional[OverloadCapacity]   # when the cost was calibrated
    service_ms: Optional[float]
    runs: dict[str, OverloadRun]
    top_step: dict[str, OverloadTop]
    seconds: float


class OverloadDocument(TypedDict):
    schema: str
    id: NotRequired[str]
    created: str
    runtime: dict[str, Any]
    host: Host
    parameters: OverloadParameters
    limits: LimitsPart
    servers: dict[str, OverloadServer]
    your_predictions: NotRequired[YourPredictions]


# -- labctl lab profile -----------------------------------------------------------------------


class ProfileParameters(TypedDict):
    path: str
    connections: int
    load_s: float
    warmup_s: float
    rate_hz: int
    profile_env: str
    loop: str
    keepalive: bool
    share_tolerance: float


class ProfilerPart(TypedDict):
    name: str
    format: str
    route: str
    rate_hz: int
    how: str
    seconds: int
    by_hand: str


class ProfileLoad(TypedDict):
    requests_per_s: float
    latency_p50_ms: Optional[float]
    latency_p99_ms: Optional[float]
    failed: int
    duration_s: float


class ProfileLoads(TypedDict):
    before: ProfileLoad
    sampling: ProfileLoad
    after: ProfileLoad


class ProfileOverhead(TypedDict):
    without_rps: float
    with_rps: float
    cost: Optional[float]
    noise: Optional[float]
    beyond_noise: Optional[bool]


class TopFunction(TypedDict):
    function: str
    samples: int
    share: float
    layer: str


class TopFunctions(TypedDict):
    self: list[TopFunction]
    total: list[TopFunction]
    handler_total: list[TopFunction]


class ProfileSummary(TypedDict):
    samples: int
    stacks: int
    layers: dict[str, float]
    dominant: str
    top: TopFunctions
    frame_layers: dict[str, str]


class ProfileServer(ServerFacts):
    profiler: ProfilerPart
    loads: ProfileLoads
    overhead: ProfileOverhead
    profile: ProfileSummary
    folded: dict[str, int]
    predicted_dominant: Optional[str]
    prediction_holds: Optional[bool]
    path: PathPart


class ProfileDocument(LabFields):
    schema: str
    id: NotRequired[str]
    created: str
    runtime: dict[str, Any]
    host: Host
    parameters: ProfileParameters
    limits: LimitsPart
    servers: dict[str, ProfileServer]
    your_predictions: NotRequired[YourPredictions]


# -- labctl lab proxy ------------------------------------------------------------------------


class HopSeries(TypedDict):
    requests: int
    not_200: int
    p50_us: int
    p99_us: int
    p99_is_max: bool


class HopPart(TypedDict):
    latency_us: dict[str, dict[str, HopSeries]]        # path → client connection → figures
    upstream_connections: dict[str, dict[str, int]]   # nginx variant → client connection
    upstream_per_1000: dict[str, dict[str, float]]
    requests_per_series: int
    counted_by: str


class OddRow(TypedDict):
    direct: str
    direct_connection: str
    through_nginx: str
    through_connection: str
    nginx: str                   # refused | rewritten | unchanged
    disagree: bool


class OddPart(TypedDict):
    rows: dict[str, OddRow]
    counts: dict[str, int]
    disagree: list[int]


class ProxySlowRun(TypedDict):
    client_header_timeout_s: int
    summary: SlowSummary
    how: str
    after_s: Optional[float]
    normal_before: NormalClient
    normal_during: NormalClient
    server_accepted: int
    server_accepted_from_attack: int


class RestartTiming(TypedDict):
    stop_s: float
    down_s: float


class SteadyCounts(TypedDict):
    """What the steady client through nginx saw during restarts (``proxy.SteadyLoad``)."""

    requests: int
    answered_200: int
    failed: int
    outcomes: dict[str, int]


class RestartMeasured(SteadyCounts):
    restarts: list[RestartTiming]


class RestartRun(RestartMeasured):
    config: str


class ProxyParts(TypedDict, total=False):
    """The parts of a server's proxy entry, each there when its part of the lab ran."""

    hop: HopPart
    odd: OddPart
    slowloris: dict[str, ProxySlowRun]
    restarts: dict[str, RestartRun]


class ProxyServer(ServerFacts, ProxyParts):
    path: PathPart
    prediction_holds: dict[str, bool]


class ForwardedRequest(TypedDict):
    request_line: str
    headers: list[str]
    body: str


class ForwardedRow(TypedDict):
    forwarded: bool
    requests: list[ForwardedRequest]
    rewrites: list[str]


class NginxPart(TypedDict):
    version: str
    source: str
    binary: Optional[str]
    limits: dict[str, Any]


class ProxyParameters(TypedDict):
    requests_per_series: int
    slow_connections: int
    slow_window_s: float
    slow_baseline_s: NotRequired[float]  # (2 s before it was kept)
    tightened_client_header_timeout_s: int
    steady_client: str
    grace_s: float
    parts: list[str]
    upstream_keepalive: int
    after_restart: str


class ProxyCase(TypedDict):
    number: int
    key: str
    title: str


class ProxyDocument(LabFields):
    schema: str
    id: NotRequired[str]
    created: str
    runtime: dict[str, Any]
    host: Host
    nginx: NginxPart
    parameters: ProxyParameters
    limits: LimitsPart
    predicted: dict[str, dict[str, Any]]
    forwarded: Optional[dict[str, ForwardedRow]]
    cases: list[ProxyCase]
    servers: dict[str, ProxyServer]
    your_predictions: NotRequired[YourPredictions]


# -- labctl servers, verify, doctor ---------------------------------------------------------


class ServerRow(TypedDict):
    name: str
    aliases: list[str]
    language: str
    framework: str
    framework_version: str
    source: str
    base_image: str
    image: Optional[dict[str, Any]]
    concurrency: str


class ServersDocument(TypedDict):
    schema: str
    servers: list[ServerRow]
    engine: str


class VerifyDocument(TypedDict):
    schema: str
    runtime: str
    checked_from: str
    servers: list[Verification]
    between_engines: NotRequired[BetweenEngines]


class DoctorItem(TypedDict):
    name: str
    status: str
    detail: str
    fix: Optional[str]


class DoctorDocument(TypedDict):
    schema: str
    sections: dict[str, list[DoctorItem]]
    can_run: dict[str, list[str]]
    default_runtime: str
    auto_would_use: str
    anything_runs: bool


# -- labctl results -------------------------------------------------------------------------


class ResultEntry(TypedDict):
    id: str
    kind: str
    created: str
    runtime: str
    servers: list[str]


class ResultsDocument(TypedDict):
    schema: str
    results: list[ResultEntry]


class DiffDocument(TypedDict):
    schema: str
    a: Optional[str]
    b: Optional[str]
    context: list[dict[str, Any]]
    warnings: list[str]
    latency: list[dict[str, Any]]
    load: list[dict[str, Any]]
    only_in_one: list[str]


# -- lessons and the quiz -------------------------------------------------------------------


class LessonStatusRow(TypedDict):
    id: str
    title: str
    order: int
    summary: str
    status: str
    studied: int
    questions: int
    prompts: int
    items: int
    due_now: int
    last_score: Optional[float]
    next_due: Optional[str]
    exercises: list["ExerciseState"]


class ExerciseState(TypedDict):
    name: str
    status: str                      # not started | started | passed


class LessonsDocument(TypedDict):
    schema: str
    lessons: list[LessonStatusRow]
    due_now: int


class CheckedLesson(TypedDict):
    id: str
    file: str
    prompts: int
    items: int
    ok: bool                         # no fault from the check rules (lessons/FORMAT.md, "Rules")
    kinds: dict[str, int]            # items per kind: choice, true_false, numeric
    skills: dict[str, int]           # items per skill: recall, predict, explain, apply


class LessonFault(TypedDict):
    file: str
    field: Optional[str]
    problem: str
    message: str


class LessonsCheckDocument(TypedDict):
    schema: str
    directory: str
    ok: bool
    lessons: list[CheckedLesson]
    faults: list[LessonFault]
    warnings: list[LessonFault]      # e.g. a question repeated in another lesson; do not fail


class NextAdvice(TypedDict):
    """What `labctl next` advises (learning/menu.py's ``advice``): its document less the schema."""
    due_now: int
    next_review: Optional[str]
    action: str
    lesson: Optional[str]
    exercise: NotRequired[str]       # action "exercise" only
    command: str
    commands: list[str]
    why: str


class NextDocument(NextAdvice):
    schema: str
    skipped: NotRequired[str]        # with --skip: the exercise passed over


class GradedItem(TypedDict):
    id: str
    kind: str
    status: str
    correct: bool
    given: Any
    understood_as: Any
    expected: Any
    message: NotRequired[str]
    explanation: NotRequired[str]


class QuizGradeDocument(TypedDict):
    schema: str
    lesson: str
    score: float
    correct: int
    total: int
    pass_mark: float
    passed: bool
    items: list[GradedItem]
    unknown_ids: list[str]
    prompts_not_graded: list[str]


# -- exercises ------------------------------------------------------------------------------


class ExerciseRow(TypedDict):
    name: str
    title: str
    base: str
    lesson: str
    check: str
    status: str
    workspace: Optional[str]


class ExercisesDocument(TypedDict):
    schema: str
    exercises: list[ExerciseRow]


class CheckOutcome(TypedDict):
    kind: str
    expected: str
    measured: str
    passed: bool
    figures: dict[str, Any]          # per kind (docs/json.md)


class AuthoredExercise(TypedDict):
    name: str
    ok: bool
    starter: NotRequired[CheckOutcome]
    solution: NotRequired[CheckOutcome]


class ExercisesCheckDocument(TypedDict):
    schema: str
    ran: bool
    ok: bool
    exercises: list[AuthoredExercise]


class ExerciseCheckDocument(TypedDict):
    schema: str
    exercise: str
    workspace: str
    runtime: dict[str, Any]
    limits: LimitsPart
    check: CheckOutcome
    passed_before: bool


# Every schema labctl writes, with its declaration: docs/json.md has one section for each.
SCHEMAS: dict[str, type] = {
    "labctl.run/1": RunDocument,
    "labctl.compare/1": CompareDocument,
    "labctl.load/1": LoadDocument,
    "labctl.lab.bottleneck/1": LabDocument,
    "labctl.lab.edge-cases/1": EdgeCasesDocument,
    "labctl.lab.slow-clients/1": SlowClientsDocument,
    "labctl.lab.shutdown/1": ShutdownDocument,
    "labctl.lab.overload/1": OverloadDocument,
    "labctl.lab.proxy/1": ProxyDocument,
    "labctl.lab.profile/1": ProfileDocument,
    "labctl.servers/1": ServersDocument,
    "labctl.verify/1": VerifyDocument,
    "labctl.doctor/1": DoctorDocument,
    "labctl.results/1": ResultsDocument,
    "labctl.diff/1": DiffDocument,
    "labctl.lessons/1": LessonsDocument,
    "labctl.lessons.check/1": LessonsCheckDocument,
    "labctl.next/1": NextDocument,
    "labctl.exercises/1": ExercisesDocument,
    "labctl.exercises-check/1": ExercisesCheckDocument,
    "labctl.exercise-check/1": ExerciseCheckDocument,
    "labctl.quiz.grade/1": QuizGradeDocument,
}


# -- head builders: the parts every producer shares -----------------------------------------

def add_between_engines(document: Any, runtime: "Runtime") -> None:
    """With a client on another engine (--client-context): both engines, and the sentence that
    says the figures include the network between them."""
    found = runtime.client_engine
    if found is not None:
        document["between_engines"] = found.as_dict()


class EnginesPart(TypedDict, total=False):
    between_engines: BetweenEngines


def between_engines_part(runtime: "Runtime") -> EnginesPart:
    """``add_between_engines`` as a part to unpack where the key has its place in a document
    built whole: ``{}`` with one engine."""
    part: EnginesPart = {}
    add_between_engines(part, runtime)
    return part


def cold_start_note(instance: "Instance") -> Optional[str]:
    """How a cold start timed on a remote engine differs from one timed here."""
    clock = instance.extra.get("cold_start_clock")
    if clock == "split":
        note = ("from the start request to the first 200 seen by a probe waiting next to the "
                "server (it got the address as the engine started the server)")
    elif clock == "engine":
        note = ("on the engine's clock: from the container's start to the first 200 seen by a "
                "probe next to it")
    else:
        return None
    if instance.extra.get("cold_start_upper_bound"):
        note += " (an upper bound: the server was up before the probe, whose start is included)"
    return note


def document_head(schema: str, runtime: "Runtime", build: "BuildInfo",
                  instance: "Instance") -> SingleServerHead:
    """The fields every single-server document (run, load) starts with."""
    return {
        "schema": schema,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "server": server_facts(instance.server),
        "runtime": runtime.describe(),
        "build": build.as_dict(),
        "limits": instance.limits.as_dict(),
        "path": {"kind": instance.path_kind, "description": instance.path},
        "url": instance.public_url,
    }


def server_facts(server: "Server") -> ServerFacts:
    return {
        "name": server.name,
        "language": server.language,
        "framework": server.framework,
        "framework_version": server.framework_version(),
        "processes": server.processes,
        "concurrency": server.concurrency_model,
    }
