//! Shared by the benches: the dev gateway as a separate process.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

/// The dev gateway as a separate process; killed on drop.
pub struct ServerProcess {
    child: Child,
    pub ws: String,
    pub api: String,
}

impl ServerProcess {
    pub fn start() -> ServerProcess {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> ServerProcess {
        let bin = std::env::var("IMBRIDGE_DEVSERVER")
            .unwrap_or("target/release/imbridge-devserver".into());
        let mut child = Command::new(&bin)
            .args([
                "--ws-port",
                "0",
                "--api-port",
                "0",
                "--log-level",
                "warn",
                "--exit-on-stdin-eof",
            ])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{bin}: {e} (build it: cargo build --release -p imbridge-devserver)")
            });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut ws, mut api) = (String::new(), String::new());
        while ws.is_empty() || api.is_empty() {
            let line = lines.next().expect("devserver output").unwrap();
            if let Some(v) = line.strip_prefix("ws_addr=") {
                ws = v.into();
            }
            if let Some(v) = line.strip_prefix("api_addr=") {
                api = v.into();
            }
        }
        ServerProcess { child, ws, api }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The benches named on the command line (flags such as cargo's `--bench` ignored), in the
/// order of `all`: `all` when asked for `all`, `default` when none is named.
pub fn chosen<'a>(all: &[&'a str], default: &[&'a str]) -> Vec<&'a str> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if args.is_empty() {
        default.to_vec()
    } else if args.iter().any(|a| a == "all") {
        all.to_vec()
    } else {
        all.iter()
            .copied()
            .filter(|b| args.iter().any(|a| a == b))
            .collect()
    }
}
