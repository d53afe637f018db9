"""The keys of every JSON document labctl prints or stores, declared once.

docs/json.md says what each field means; this module says which fields exist, so the contract
tests (tests/test_contracts.py) can check real output against it without an engine, and a
renamed or forgotten key fails a test instead of a reader's script. ``SCHEMAS`` maps each
``schema`` value to its declaration. ``NotRequired`` marks a key that only some runs carry (an
``id`` once saved, ``stop_seconds`` unless kept running). ``dict[str, Any]`` marks a part whose
keys depend on the machine (runtime facts) or the lesson (answers), so they are not declared.
"""


from typing import Any, NotRequired, Optional, TypedDict

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
    phases_p50: dict[str, Optional[float]]
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


# -- labctl run -----------------------------------------------------------------------------


class ProbePart(TypedDict):
    client: str
    samples: int
    warmup_discarded: int
    modes: dict[str, str]
    cpus: Optional[str]


class RunDocument(TypedDict):
    schema: str
    id: NotRequired[str]
    created: str
    server: ServerFacts
    runtime: dict[str, Any]
    build: dict[str, Any]
    limits: LimitsPart
    path: PathPart
    url: str
    cold_start_ms: float
    verification: Verification
    probe: ProbePart
    endpoints: dict[str, dict[str, Series]]
    curl: str
    kept_running: bool
    host: Host
    stop_seconds: NotRequired[float]


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


class LoadDocument(TypedDict):
    schema: str
    id: NotRequired[str]
    created: str
    server: ServerFacts
    runtime: dict[str, Any]
    build: dict[str, Any]
    limits: LimitsPart
    path: PathPart
    url: str
    cpus: CpusPart
    load: LoadPart
    generator_image: Optional[dict[str, Any]]
    flagged: bool
    host: Host
    stop_seconds: NotRequired[float]


# -- labctl compare -------------------------------------------------------------------------


class ColdStart(TypedDict):
    median: float
    samples: list[float]


class CompareEntry(ServerFacts):
    build: dict[str, Any]
    path: NotRequired[PathPart]
    limits: NotRequired[LimitsPart]
    verification: Verification
    measured: bool
    idle_memory_bytes: NotRequired[Optional[int]]
    latency: NotRequired[dict[str, dict[str, Series]]]
    cold_start_ms: ColdStart
    load: NotRequired[LoadPart]


class CompareParameters(TypedDict):
    samples: int
    warmup_discarded: int
    cold_starts: int
    paths: list[str]
    modes: dict[str, str]
    interleaved: bool
    block: int
    probe: str
    probe_cpus: Optional[str]
    load: Optional[dict[str, Any]]


class Analysis(TypedDict):
    ratios: dict[str, dict[str, Any]]
    ties: list[dict[str, Any]]
    reading: list[str]


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


class LabDocument(TypedDict):
    schema: str
    id: NotRequired[str]
    created: str
    runtime: dict[str, Any]
    host: Host
    parameters: LabParameters
    limits: LimitsPart
    servers: dict[str, LabServer]


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
    servers: list[Verification]


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
    runtime: NotRequired[str]
    servers: NotRequired[list[str]]
    unreadable: NotRequired[bool]


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


class LessonsDocument(TypedDict):
    schema: str
    lessons: list[LessonStatusRow]
    due_now: int


class CheckedLesson(TypedDict):
    id: str
    file: str
    prompts: int
    items: int


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


class NextDocument(TypedDict):
    schema: str
    due_now: int
    next_review: Optional[str]
    action: str
    lesson: Optional[str]
    command: str
    commands: list[str]
    why: str


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


# Every schema labctl writes, with its declaration: docs/json.md has one section for each.
SCHEMAS: dict[str, type] = {
    "labctl.run/1": RunDocument,
    "labctl.compare/1": CompareDocument,
    "labctl.load/1": LoadDocument,
    "labctl.lab.bottleneck/1": LabDocument,
    "labctl.servers/1": ServersDocument,
    "labctl.verify/1": VerifyDocument,
    "labctl.doctor/1": DoctorDocument,
    "labctl.results/1": ResultsDocument,
    "labctl.diff/1": DiffDocument,
    "labctl.lessons/1": LessonsDocument,
    "labctl.lessons.check/1": LessonsCheckDocument,
    "labctl.next/1": NextDocument,
    "labctl.quiz.grade/1": QuizGradeDocument,
}
