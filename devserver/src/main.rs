//! `imbridge-devserver`: runs the dev gateway standalone (see `--help`).

use std::io::Write;
use std::process::ExitCode;

use imbridge_devserver::cli::{self, CliCommand, CliOptions};
use imbridge_devserver::{DevServer, TlsIdentity};

/// Logs to stderr, one line per record.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let _ = writeln!(
                std::io::stderr().lock(),
                "[{} {}] {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

fn main() -> ExitCode {
    let opts = match cli::parse_args(std::env::args().skip(1)) {
        Ok(CliCommand::Help) => {
            print!("{}", cli::HELP);
            return ExitCode::SUCCESS;
        }
        Ok(CliCommand::Run(opts)) => *opts,
        Err(e) => {
            eprintln!("imbridge-devserver: {e}\nTry 'imbridge-devserver --help'.");
            return ExitCode::from(2);
        }
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(opts.log_level);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("imbridge-devserver: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imbridge-devserver: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut opts: CliOptions) -> Result<(), String> {
    if let (Some(cert), Some(key)) = (&opts.tls_cert, &opts.tls_key) {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        };
        opts.config.tls = Some(TlsIdentity {
            cert_chain_pem: read(cert)?,
            private_key_pem: read(key)?,
        });
    }
    // Install the signal handlers before the address lines are printed: a script may send
    // SIGTERM as soon as it has read them.
    let stop_signal = stop_signal();
    let server = DevServer::start(opts.config)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ws_addr={}", server.ws_addr());
        let _ = writeln!(out, "api_addr={}", server.api_addr());
        let _ = out.flush();
    }
    let stdin_eof = async {
        if !opts.exit_on_stdin_eof {
            return std::future::pending::<()>().await;
        }
        // A plain thread: a blocked stdin read must never hold up the exit.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 1024];
            while let Ok(n) = std::io::Read::read(&mut stdin, &mut buf) {
                if n == 0 {
                    break;
                }
            }
            let _ = tx.send(());
        });
        let _ = rx.await;
    };
    tokio::select! {
        name = stop_signal => log::info!("{name}: stopping"),
        _ = stdin_eof => log::info!("stdin closed: stopping"),
    }
    drop(server);
    Ok(())
}

/// Resolves with the signal's name on SIGTERM or SIGINT (Ctrl-C). The handlers are installed
/// when this is called, not when it is first polled.
#[cfg(unix)]
fn stop_signal() -> impl std::future::Future<Output = &'static str> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn recv(s: Option<Signal>) {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            _ = recv(term) => "SIGTERM",
            _ = recv(int) => "Ctrl-C",
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> impl std::future::Future<Output = &'static str> {
    async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
