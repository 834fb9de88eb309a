#if canImport(Network)
import Foundation
import Network

extension ImSession {
    /// Opt-in: feeds the device's network path (`NWPathMonitor`) into `networkChanged`: no
    /// usable path → imbridge stops dialing (no battery burnt); a path again → it redials at
    /// once with its backoff reset. imbridge assumes a network until told otherwise, so only
    /// changes are reported (and a missing network at the start).
    ///
    /// - Returns: the binding; the session keeps it, `cancel()` stops the monitor.
    @discardableResult
    public func bindNetworkPath() -> ImBinding {
        let manager = self.manager
        let monitor = NWPathMonitor()
        let reported = Locked<Bool?>(nil)
        monitor.pathUpdateHandler = { path in
            let available = path.status == .satisfied
            let changed = reported.withLock { last -> Bool in
                let previous = last
                last = available
                guard let previous else { return !available }
                return previous != available
            }
            if changed {
                // Only fails once the manager is shut down: nothing to tell then.
                try? manager.networkChanged(available: available)
            }
        }
        monitor.start(queue: DispatchQueue(label: "io.imbridge.network-path"))
        let box = UncheckedSendable(value: monitor)
        return keep(ImBinding { box.value.cancel() })
    }
}
#endif
