// `Sendable` for the generated value types on Swift 5.10 compilers.
//
// UniFFI 0.32 declares these conformances itself, but only under `#if compiler(>=6)`. Every type
// below is a struct or an enum whose stored values are strings, integers, booleans, optionals or
// other types of this list: copies share nothing, so crossing tasks and threads is safe.
// (`@unchecked` only because a conformance declared outside the type's own file must say so.)
//
// Already `Sendable` without help: `ImError` (every `Error` is), `ImManager` (the generated class is
// `@unchecked Sendable`: each call clones a handle to a thread-safe Rust object), and the
// `ImListener` protocol (it refines `Sendable`). This layer's own types are `Sendable` too:
// `ImSession` and `ImBinding` guard their mutable state with locks, `ConnectionEvent` and
// `EventDelivery` are plain values.

#if !compiler(>=6)
extension ImConfig: @unchecked Sendable {}
extension Platform: @unchecked Sendable {}
extension LogLevel: @unchecked Sendable {}
extension SessionState: @unchecked Sendable {}
extension LoginStatus: @unchecked Sendable {}
extension ConnectionState: @unchecked Sendable {}
extension StateReason: @unchecked Sendable {}
extension UserInfo: @unchecked Sendable {}
extension Message: @unchecked Sendable {}
#endif
