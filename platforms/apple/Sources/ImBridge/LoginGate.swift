/// Which `ImSession.login` call owns the login running in imbridge, and the logout its
/// cancellation started.
///
/// Swift `Task` cancellation does not reach Rust (UniFFI's Swift futures ignore it), so a
/// cancelled login is cancelled the way imbridge's contract offers: a `logout()` while logging
/// in makes that login fail with `LoginCancelled`. The gate makes sure only the call that owns
/// the pending login does that, so cancelling a call that merely got `LoginInProgress` never
/// ends somebody else's login.
final class LoginGate: Sendable {
    private struct State {
        var owner: UInt64?
        var nextTicket: UInt64 = 1
        var cancellingLogout: Task<Void, Never>?
    }

    private let state = Locked(State())

    /// Claims the gate for a new login call; nil when another login call of the session runs.
    func begin() -> UInt64? {
        state.withLock { s -> UInt64? in
            guard s.owner == nil else { return nil }
            let ticket = s.nextTicket
            s.nextTicket &+= 1
            s.owner = ticket
            s.cancellingLogout = nil
            return ticket
        }
    }

    /// Releases the gate (the login call of `ticket` has finished).
    func end(_ ticket: UInt64) {
        state.withLock { s in
            guard s.owner == ticket else { return }
            s.owner = nil
            s.cancellingLogout = nil
        }
    }

    /// From the cancellation handler of `ticket`'s call: starts `startLogout()` once.
    func cancel(_ ticket: UInt64, startLogout: () -> Task<Void, Never>) {
        state.withLock { s in
            guard s.owner == ticket, s.cancellingLogout == nil else { return }
            s.cancellingLogout = startLogout()
        }
    }

    /// The logout the cancellation of `ticket`'s call started, if any.
    func cancellingLogout(_ ticket: UInt64) -> Task<Void, Never>? {
        state.withLock { s in s.owner == ticket ? s.cancellingLogout : nil }
    }
}
