/// # Uploader
///
/// The laptop's side of the network: libcurl through the `CCurl` module, with request bodies
/// streamed from the store (`CURLOPT_READFUNCTION`) and responses streamed into the protocol
/// decoder (`CURLOPT_WRITEFUNCTION`), never whole in memory. Curl types never appear in this
/// module's public API.
///
/// This first part is the transfer itself (``CurlTransfer``); the sync session built on it
/// (open, push, acknowledge, pull, close; retries with backoff) comes with the central endpoint.
public enum UploaderModule {}
