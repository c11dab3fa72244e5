/// # Central
///
/// The central endpoint that EDT laptops sync with.
///
/// - ``CentralStorage`` is what the endpoint keeps: enrolled devices, every authority's cases
///   (one merged record per case, each change numbered in one sequence), and who may see what.
///   ``SQLiteCentralStorage`` is the embedded backend.
/// - ``SyncService`` answers one sync request: it stores only verified parts of the device's
///   `push` stream (``PushReader``: what a `+SUM` checkpoint or `END` verified), each record
///   durably before acknowledging it, and replies with what changed since the device's cursor
///   for the authorities the device serves.
/// - ``PushPipeline`` stores a push's verified segments while the rest arrives, in structured
///   concurrency: its ``PushPipeline/run(_:)`` feeds segments from the body-reading loop to
///   child tasks that read and check each beside the others, and one writer (a child task too)
///   stores them in stream order, every segment ready when it is free in one transaction. At
///   most a few segments wait for the writer: beyond that, reading the body waits.
/// - ``DeviceAuthenticator`` checks the signed `Authorization` header of each request.
/// - ``CentralRoutes`` are the HTTP routes (`POST /v1/sync`, `GET /health`) on a Hummingbird
///   router; ``CentralServer`` serves them (Hummingbird) until SIGTERM or SIGINT, holding every
///   connection to the deadlines of ``ConnectionLimits`` (headers, idle, a stalled body or
///   answer) and at most its number of connections open at once, so stalled connections cannot
///   crowd out `GET /health` or a sync. A body's stall clock stops while the centre is not
///   reading it (the writer busy, above).
///
/// This module never imports the uploader: the centre only answers.
public enum CentralModule {}
