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
/// - ``PushPipeline`` stores a push's verified segments while the rest arrives: each read and
///   checked on a task of its own, all stored by one writer in stream order, every segment
///   ready when it is free in one transaction.
/// - ``DeviceAuthenticator`` checks the signed `Authorization` header of each request.
/// - ``CentralServer`` serves all this over HTTP (Hummingbird) until SIGTERM or SIGINT.
///
/// This module never imports the uploader: the centre only answers.
public enum CentralModule {}
