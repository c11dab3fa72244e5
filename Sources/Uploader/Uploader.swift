/// # Uploader
///
/// The laptop's side of the network: libcurl through the `CCurl` module, with request bodies
/// streamed from the store (`CURLOPT_READFUNCTION`) and responses streamed into the protocol
/// decoder (`CURLOPT_WRITEFUNCTION`), never whole in memory. Curl types never appear in this
/// module's public API.
///
/// - ``CurlTransfer``: one blocking transfer (timeouts, TLS with a CA file or pinning, gzip,
///   proxies from the environment), with stable error codes.
/// - ``SyncSession``: one sync of a replica with the central endpoint; its decisions (batches,
///   retries with exponential backoff and jitter, Retry-After, when to stop) are the pure
///   ``SyncSession/StateMachine``.
public enum UploaderModule {}
