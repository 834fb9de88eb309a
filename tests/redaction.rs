//! A token never appears in a log line, an error, an event text or a Debug string.

mod common;

use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use imbridge::ImError;
use imbridge_devserver::Faults;

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", record.target(), record.args()));
    }
    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static C: OnceLock<&'static Capture> = OnceLock::new();
    C.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(c).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        c
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_stay_out_of_logs_errors_and_debug_output() {
    let logs = capture();
    let server = server().await;
    let cfg = config(&server);
    let (m, rec) = manager(cfg.clone());

    let good = server.user_token("alice", 2);
    let mut texts: Vec<String> = Vec::new();

    // A login that works, a kick, an expired token, a malformed token, a dead server.
    m.login("alice".into(), good.clone(), None).await.unwrap();
    assert!(server.wait_online("alice", 1, WAIT).await);
    server.force_logout("alice", 2);
    rec.wait_for("kicked", |e| *e == Ev::Kicked).await;
    let expired = server.user_token("alice", 2);
    server.advance_clock(std::time::Duration::from_secs(91 * 86_400));
    let e1 = m
        .login("alice".into(), expired.clone(), None)
        .await
        .unwrap_err();
    let malformed = "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln".to_owned();
    let e2 = m
        .login("alice".into(), malformed.clone(), None)
        .await
        .unwrap_err();
    server.set_faults(Faults {
        dial_error: Some((1505, format!("echoing {malformed}"))),
        ..Faults::default()
    });
    let e3 = m
        .login("alice".into(), malformed.clone(), None)
        .await
        .unwrap_err();
    for e in [&e1, &e2, &e3] {
        texts.push(format!("{e}"));
        texts.push(format!("{e:?}"));
    }
    assert!(matches!(e3, ImError::TokenInvalid { .. }));
    texts.push(format!("{cfg:?}"));
    texts.extend(rec.all().iter().map(|e| format!("{e:?}")));
    texts.extend(logs.0.lock().unwrap().iter().cloned());
    assert!(
        logs.0
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("imbridge")),
        "the SDK logged something at trace level"
    );
    for secret in [&good, &expired, &malformed] {
        for t in &texts {
            assert!(!t.contains(secret.as_str()), "token leaked in: {t}");
        }
    }
    drop(m);
    let _ = Arc::new(());
}
