"""A replay Hub: a local HTTP server that answers like the Hugging Face Hub API.

Why: the real Hub is unreachable from our machines and CI, yet openbrief must be
tested with the real ``huggingface_hub.HfApi`` client (never a mock). This
server serves recorded or hand-made model records with the Hub's own JSON
shapes, query semantics, pagination and error signalling, so that
``HfApi(endpoint=hub.url, token=False)`` works unchanged. It can also inject
faults (rate limits, 5xx, stalls, broken bodies, dropped connections) to test
resilience.

Data
----
Records are dicts in the Hub's ``/api/models`` shape (``id``, ``author``,
``createdAt`` ending in ``Z``, ``downloads``, ``downloadsAllTime``, ``likes``,
``pipeline_tag``, ``library_name``, ``tags``, ``baseModels``, ``safetensors``,
``gated`` ...). Fields missing from a record stay missing in every answer:
nothing is ever turned into 0, and odd values (a negative or huge count, a
fraction, a date that does not parse) are served as they are, so that a client
can be tested on them; sorting puts values that are no number or date last,
like missing ones. The one Hub invariant filled in is
``private: false`` (every replayed repo is public), plus ``modelId`` (= ``id``)
where the Hub sends it.

``data`` is a JSON Lines file, a folder of ``YYYY-MM-DD.jsonl`` files, a list of
dicts, or a ``{day: [records]}`` mapping. With days, ``/@YYYY-MM-DD/api/...``
serves that day and the bare ``/api/...`` serves the newest day; an unknown day
is a 404 with a JSON error. Bad data raises :class:`ReplayDataError` (a
``ValueError``) naming the file and line.

Routes
------
``GET /api/models``
    ``author`` (namespace, case-insensitive), ``search`` (case-insensitive
    substring of the id), ``filter`` (repeatable, ANDed, exact match on a tag,
    the pipeline tag, the library name, or a ``base_model:ORG/NAME`` /
    ``base_model:RELATION:ORG/NAME`` tag, also derived from ``baseModels``),
    ``pipeline_tag``, ``sort`` (downloads|likes|createdAt|lastModified|
    trendingScore; always descending, missing values last, ties by id;
    without ``sort`` the data's own order), ``direction`` (only ``-1``),
    ``limit`` (a cap on the total, over all pages; the client stops there too), ``expand`` (repeatable;
    only ``_id``, ``id`` and the asked fields come back), ``full``,
    ``cardData``, ``config`` (each rejected with ``expand``, as the Hub does).
    An unknown ``expand`` value is a 400 for the whole request. ``baseModels``,
    ``childrenModelCount`` and ``usedStorage`` are single-model properties:
    the Hub refuses them on the listing (huggingface_hub PR #3182; the 2.4
    ``list_models`` docstring omits them), so the replay answers 400 too.
    Parameters the replay does not implement (``gated``, ``apps``,
    ``num_parameters``...) get a 400 rather than being silently ignored.
    Without expand an item holds the Hub's default listing fields
    (``_id, id, likes, trendingScore, private, downloads, tags, pipeline_tag,
    library_name, createdAt, modelId``; no ``author``, like the Hub).
    Pages hold ``page_size`` items (1,000 by default, the Hub's cap); the next page is announced in
    ``Link: <ABSOLUTE-URL>; rel="next"`` carrying every original parameter
    plus an opaque ``cursor``.
``GET /api/models/{org}/{name}[/revision/{rev}]``
    The whole record plus ``childrenModelCount``
    (``{"finetune", "adapter", "quantized", "merge"}``: direct children in the
    same data set, from their ``baseModels``, else their
    ``base_model:RELATION:...`` tags). Honours ``expand``. Ids match exactly
    (case-sensitive). Unknown id: 404, ``X-Error-Code: RepoNotFound``,
    ``{"error": "Repository not found"}`` (the client raises
    ``RepositoryNotFoundError``). The revision is accepted and ignored.

Requests are served concurrently, each in its own thread; ``latency`` (seconds;
``--latency-ms`` on the command line) delays every answer, as the Hub's round trip
does. Every request is appended to ``requests`` as a :class:`ServedRequest` (with
the ``time.monotonic()`` it arrived) and, when a log stream is given, written to it
as one line.

Fault spec grammar
------------------
A fault rule is ``ROUTE:WHEN:ACTION[:OPTION]...``::

    ROUTE   models | model_info | any
    WHEN    *            every request on the route
            N            the Nth request on the route (1-based; retries count)
            N-M          requests N to M
            page=N       every request for page N of a listing (retries of that
            page=N-M     page match again: add times=K to make it transient)
    ACTION  429 | 500 | 502 | 503 | 504
            stall=S      wait S seconds (float), then answer normally
            truncate     half the body, with the full Content-Length
            truncate=close  half the body, no Content-Length, then close
            malformed    200 with a body that is not valid JSON
            drop         close the connection without any response
    OPTION  times=K          fire at most K times
            retry-after=N    429 only: header Retry-After: N
            ratelimit=N      429 only: header RateLimit: "api";r=0;t=N
                             (+ RateLimit-Policy), as the Hub sends

A 429 without option carries no header. Examples::

    models:page=2:429:retry-after=1:times=1
    model_info:1:500
    models:*:stall=5
    models:1-3:503
    any:2:drop

Several rules may be given; each counts the requests on its own route, and the
first rule that fires on a request decides it.

Command line
------------
``openbrief replay-hub DATA [--port N] [--page-size N] [--fault SPEC ...] [--latency-ms MS]``
(via :func:`add_arguments` and :func:`run`), or
``python -m openbrief.replay DATA ...``. The first printed line is exactly
``serving on http://127.0.0.1:PORT``; it runs until SIGINT or SIGTERM.


The package: :mod:`.catalog` (records and the listing logic), :mod:`.faults` (the fault
grammar), :mod:`.server` (the HTTP server and its command line), :mod:`.recordings` (converters
of recorded Hub data) and :mod:`.synthetic` (the demo's synthetic Hub).

May import: nothing else of openbrief but openbrief.errors: it is a data source of its own.
"""
from openbrief.replay.catalog import (
    Catalog,
    DEFAULT_LIST_FIELDS,
    DEFAULT_PAGE_SIZE,
    EXPAND_PROPERTIES,
    HubError,
    MODEL_INFO_ONLY_EXPAND,
    RELATIONS,
    ReplayDataError,
    SORT_KEYS,
    effective_tags,
    load_records,
    parent_links,
    sort_records,
)
from openbrief.replay.faults import (
    FaultBook,
    FaultRule,
    parse_fault,
)
from openbrief.replay.server import (
    ReplayHub,
    ServedRequest,
    add_arguments,
    main,
    run,
    serve,
)

__all__ = [
    "Catalog",
    "DEFAULT_LIST_FIELDS",
    "DEFAULT_PAGE_SIZE",
    "EXPAND_PROPERTIES",
    "FaultBook",
    "FaultRule",
    "HubError",
    "MODEL_INFO_ONLY_EXPAND",
    "RELATIONS",
    "ReplayDataError",
    "ReplayHub",
    "SORT_KEYS",
    "ServedRequest",
    "add_arguments",
    "effective_tags",
    "load_records",
    "main",
    "parent_links",
    "parse_fault",
    "run",
    "serve",
    "sort_records",
]
