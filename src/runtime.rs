//! The one tokio runtime shared by every manager in the process.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// The shared multi-thread runtime, created on first use (threads named
/// `imbridge-rt`; listener callbacks run on its blocking pool). Building it fails
/// only if the OS refuses threads; the resulting panic is caught at the FFI
/// boundary and reported as `Internal`.
pub fn get() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
        Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("imbridge-rt")
            .enable_all()
            .build()
            .expect("the OS refused to start the imbridge runtime threads")
    })
}
