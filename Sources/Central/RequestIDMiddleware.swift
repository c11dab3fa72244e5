import HTTPTypes
public import Hummingbird
import LineProtocol
import Logging

/// Names each request the centre answers (`X-Request-Id`, ``LineProtocol/SyncContract/requestIDHeader``):
/// the request's own id when it is well formed
/// (``LineProtocol/SyncContract/isWellFormedRequestID(_:)``: `edt sync` sends one per request),
/// else a new random one. The id is the request's ``CentralRoutes/requestID`` while it is handled
/// and the metadata value `request-id` (``CentralRoutes/requestIDMetadataKey``) of the router's
/// logger for it, so every line logged while handling the request carries it; and it goes into
/// the answer's `X-Request-Id` header, refusals and errors included.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let name = Self.headerName
        let id = Self.requestID(name.flatMap { request.headers[$0] })
        var context = context
        context.logger[metadataKey: CentralRoutes.requestIDMetadataKey] = .string(id)
        var response: Response
        do {
            response = try await CentralRoutes.$requestID.withValue(id) { try await next(request, context) }
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        if let name { response.headers[name] = id }
        return response
    }

    /// The id of a request whose `X-Request-Id` header is `given`: as given when it is well
    /// formed, else a new random one.
    public static func requestID(_ given: String?) -> String {
        if let given, SyncContract.isWellFormedRequestID(given) { return given }
        return SyncContract.randomRequestID()
    }

    /// `X-Request-Id` as an HTTP field name (a valid one: never nil).
    static var headerName: HTTPField.Name? { HTTPField.Name(SyncContract.requestIDHeader) }
}
