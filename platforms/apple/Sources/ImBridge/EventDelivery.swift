/// Where an `ImSession` turns imbridge's callbacks into stream values.
///
/// imbridge calls its listener one call at a time, in order, on an imbridge thread (never the
/// main thread). Either way the values keep that order, and nothing of a session is yielded
/// after its `logout()` has returned.
public enum EventDelivery: Sendable, Equatable {
    /// Right on the imbridge thread that makes the callback: the lowest latency. A `for await`
    /// loop still resumes on its own executor (a `@MainActor` task resumes on the main actor).
    case immediate
    /// Hopped, in order, onto the main queue (`DispatchQueue.main`, the main actor's executor)
    /// first: every value is yielded on the main thread, between two jobs of the main actor,
    /// never concurrently with UI code. Choose it when the values drive UI state and code on
    /// the main thread must see them in step with its own work. Needs a running main run loop
    /// (any app; XCTest's main thread).
    case mainActor
}
