//! The fuzz corpora (`fuzz/seeds/<target>/`, `fuzz/corpus/<target>/`) replayed through
//! the same decoders and assertions as the cargo-fuzz targets in `fuzz/fuzz_targets/`,
//! on stable Rust. See `fuzz/README.md`.
//!
//! The hand-made seeds are built by `seeds()`; `IMBRIDGE_WRITE_SEEDS=1 cargo test
//! -p imbridge --test fuzz_corpus` rewrites them.

use std::fs;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine};
use flate2::{write::GzEncoder, Compression};
use imbridge::fuzzing::{decode_push, CONTENT_TYPE_TEXT};
use imbridge::fuzzing::{gunzip, gzip, InflateError, MAX_INFLATED_BYTES};
use imbridge::fuzzing::{DecodeError, Response};
use imbridge::fuzzing::{MsgData, PullMsgs, PushMessages};
use prost::Message as _;

/// One fuzz target's check: panics when the input shows a bug.
type Check = fn(&[u8]);

/// The targets of `fuzz/fuzz_targets/`, by name.
const TARGETS: [(&str, Check); 3] = [
    ("envelope", envelope),
    ("gzip", gzip_target),
    ("push", push),
];

/// The `envelope` target: never panics.
fn envelope(data: &[u8]) {
    let _ = Response::decode(data);
}

/// The `gzip` target: output within the limit, and gzip round-trips.
fn gzip_target(data: &[u8]) {
    if let Ok(out) = gunzip(data, MAX_INFLATED_BYTES) {
        assert!(
            out.len() <= MAX_INFLATED_BYTES,
            "gunzip returned {} bytes, limit {MAX_INFLATED_BYTES}",
            out.len()
        );
    }
    if data.len() <= MAX_INFLATED_BYTES {
        let z = gzip(data);
        assert_eq!(
            gunzip(&z, MAX_INFLATED_BYTES).as_deref(),
            Ok(data),
            "gzip round trip"
        );
    }
}

/// The `push` target: never panics.
fn push(data: &[u8]) {
    let _ = decode_push(data);
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every regular file of `fuzz/<kind>/<target>/`, sorted; the directory must not be empty.
fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(kind).join(target);
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no inputs", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

/// Runs every seed and corpus input of `target` through `check`, naming every input that panics.
fn replay(target: &str, check: Check) {
    let mut failed = Vec::new();
    let mut count = 0;
    for kind in ["seeds", "corpus"] {
        for (path, bytes) in inputs(kind, target) {
            count += 1;
            if catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {count} inputs panicked: {failed:#?}",
        failed.len()
    );
}

#[test]
fn envelope_corpus_never_panics() {
    replay("envelope", envelope);
}

#[test]
fn gzip_corpus_stays_within_the_limit_and_round_trips() {
    replay("gzip", gzip_target);
}

#[test]
fn push_corpus_never_panics() {
    replay("push", push);
}

/// Kept crash inputs (`fuzz/artifacts-kept/<target>/`), if any, must no longer panic.
#[test]
fn kept_artifacts_no_longer_panic() {
    for (target, check) in TARGETS {
        let dir = fuzz_dir().join("artifacts-kept").join(target);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.map(|e| e.expect("directory entry").path()) {
            if path.is_file() {
                let bytes = fs::read(&path).expect("read artifact");
                let ok = catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_ok();
                assert!(ok, "{target}: {} still panics", path.display());
            }
        }
    }
}

// ---- The hand-made seeds ----

/// the payload examples of docs/protocol.md: a 1001 reply.
const GET_NEWEST_SEQ_REPLY: &str = r#"{"reqIdentifier":1001,"msgIncr":"u1_1","operationID":"op-1","errCode":0,"errMsg":"","data":"CgwKCHNpX3UxX3UyEAU="}"#;
/// A 2002 kick: `data` is `null`.
const KICK: &str =
    r#"{"reqIdentifier":2002,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":null}"#;
/// A 2003 reply: `data` is `""`.
const LOGOUT_REPLY: &str =
    r#"{"reqIdentifier":2003,"msgIncr":"x","operationID":"o","errCode":0,"errMsg":"","data":""}"#;
/// A server error with the free-form `errDlt` (not read) and no `data`.
const ERROR_REPLY: &str = r#"{"reqIdentifier":1001,"msgIncr":"u1_2","operationID":"op-2","errCode":1001,"errMsg":"ArgsError","errDlt":"userID is empty"}"#;

fn text_msg(seq: i64, text: &str) -> MsgData {
    MsgData {
        send_id: "u2".into(),
        recv_id: "u1".into(),
        client_msg_id: format!("c{seq}"),
        server_msg_id: format!("s{seq}"),
        sender_platform_id: 1,
        sender_nickname: "Bob".into(),
        sender_face_url: "https://example.invalid/bob.png".into(),
        session_type: 1,
        msg_from: 100,
        content_type: CONTENT_TYPE_TEXT,
        content: serde_json::json!({ "content": text })
            .to_string()
            .into_bytes(),
        seq,
        send_time: 1_700_000_000_000 + seq,
        create_time: 1_700_000_000_000 + seq,
        status: 2,
        ..Default::default()
    }
}

/// One conversation per map, so the prost encoding does not depend on HashMap order.
fn push_text_and_notification() -> PushMessages {
    let mut push = PushMessages::default();
    push.msgs.insert(
        "si_u1_u2".into(),
        PullMsgs {
            msgs: vec![text_msg(6, "second"), text_msg(5, "first ✓")],
            is_end: true,
            end_seq: 6,
        },
    );
    push.notification_msgs.insert(
        "n_u1_u2".into(),
        PullMsgs {
            msgs: vec![MsgData {
                send_id: "imAdmin".into(),
                recv_id: "u1".into(),
                session_type: 4,
                content_type: 1201,
                content: br#"{"detail":"{\"fromToUserID\":{\"fromUserID\":\"u2\",\"toUserID\":\"u1\"}}"}"#.to_vec(),
                seq: 3,
                send_time: 1_700_000_000_100,
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    push
}

/// A group picture (not text) whose content is not UTF-8, and a text message whose
/// content is not the `{"content":…}` object.
fn push_non_text() -> PushMessages {
    let mut push = PushMessages::default();
    push.msgs.insert(
        "sg_g1".into(),
        PullMsgs {
            msgs: vec![
                MsgData {
                    send_id: "u3".into(),
                    group_id: "g1".into(),
                    session_type: 3,
                    content_type: 102,
                    content: vec![0xff, 0xfe, b'{', 0x80],
                    seq: 1,
                    ..Default::default()
                },
                MsgData {
                    send_id: "u3".into(),
                    group_id: "g1".into(),
                    session_type: 3,
                    content_type: CONTENT_TYPE_TEXT,
                    content: b"plain".to_vec(),
                    seq: 2,
                    ..Default::default()
                },
            ],
            ..Default::default()
        },
    );
    push
}

fn push_envelope(push: &PushMessages) -> String {
    serde_json::json!({
        "reqIdentifier": 2001,
        "msgIncr": "",
        "operationID": "push-1",
        "errCode": 0,
        "errMsg": "",
        "data": STANDARD.encode(push.encode_to_vec()),
    })
    .to_string()
}

/// `len` zero bytes, gzipped as small as flate2 can (about 1 KiB for 1 MiB).
fn gzip_best(len: usize) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(&vec![0; len]).unwrap();
    enc.finish().unwrap()
}

/// Every hand-made seed: (target, file name, bytes).
fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let push1 = push_text_and_notification();
    let push2 = push_non_text();
    let push_json = push_envelope(&push1);
    vec![
        (
            "envelope",
            "seed-1001-reply.json",
            GET_NEWEST_SEQ_REPLY.into(),
        ),
        ("envelope", "seed-2002-kick.json", KICK.into()),
        ("envelope", "seed-2003-reply.json", LOGOUT_REPLY.into()),
        ("envelope", "seed-error-reply.json", ERROR_REPLY.into()),
        ("envelope", "seed-2001-push.json", push_json.clone().into()),
        (
            "envelope",
            "seed-1001-reply.json.gz",
            gzip(GET_NEWEST_SEQ_REPLY.as_bytes()),
        ),
        (
            "gzip",
            "seed-1001-reply.json.gz",
            gzip(GET_NEWEST_SEQ_REPLY.as_bytes()),
        ),
        ("gzip", "seed-2001-push.json.gz", gzip(push_json.as_bytes())),
        ("gzip", "seed-empty.gz", gzip(b"")),
        ("gzip", "seed-2002-kick.json", KICK.into()),
        // Inflates to exactly the limit (Ok), and to one byte past it (TooLarge).
        ("gzip", "seed-at-limit.gz", gzip_best(MAX_INFLATED_BYTES)),
        ("gzip", "seed-bomb.gz", gzip_best(MAX_INFLATED_BYTES + 1)),
        (
            "envelope",
            "seed-bomb.gz",
            gzip_best(MAX_INFLATED_BYTES + 1),
        ),
        (
            "push",
            "seed-text-and-notification.pb",
            push1.encode_to_vec(),
        ),
        ("push", "seed-non-text.pb", push2.encode_to_vec()),
    ]
}

/// The seed files on disk are still what their descriptions say.
#[test]
fn seeds_decode_as_described() {
    let dir = fuzz_dir().join("seeds");
    let read = |target: &str, name: &str| {
        let p = dir.join(target).join(name);
        fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    };

    let r = Response::decode(&read("envelope", "seed-1001-reply.json")).unwrap();
    assert_eq!((r.req_identifier, r.data.len()), (1001, 14));
    let z = Response::decode(&read("envelope", "seed-1001-reply.json.gz")).unwrap();
    assert_eq!(z, r);
    let r = Response::decode(&read("envelope", "seed-2002-kick.json")).unwrap();
    assert_eq!((r.req_identifier, r.data.len()), (2002, 0));
    let r = Response::decode(&read("envelope", "seed-2003-reply.json")).unwrap();
    assert_eq!((r.req_identifier, r.data.len()), (2003, 0));
    let r = Response::decode(&read("envelope", "seed-error-reply.json")).unwrap();
    assert_eq!((r.err_code, r.err_msg.as_str()), (1001, "ArgsError"));
    let r = Response::decode(&read("envelope", "seed-2001-push.json")).unwrap();
    assert_eq!(r.req_identifier, 2001);
    assert_eq!(decode_push(&r.data).unwrap().len(), 3);

    let out = gunzip(&read("gzip", "seed-2001-push.json.gz"), MAX_INFLATED_BYTES).unwrap();
    assert_eq!(Response::decode(&out).unwrap(), r);
    assert_eq!(
        gunzip(&read("gzip", "seed-empty.gz"), MAX_INFLATED_BYTES),
        Ok(Vec::new())
    );
    let at_limit = gunzip(&read("gzip", "seed-at-limit.gz"), MAX_INFLATED_BYTES).unwrap();
    assert_eq!(at_limit.len(), MAX_INFLATED_BYTES);
    assert_eq!(
        gunzip(&read("gzip", "seed-bomb.gz"), MAX_INFLATED_BYTES),
        Err(InflateError::TooLarge)
    );
    assert!(matches!(
        Response::decode(&read("envelope", "seed-bomb.gz")),
        Err(DecodeError::Decompression(_))
    ));

    let msgs = decode_push(&read("push", "seed-text-and-notification.pb")).unwrap();
    let texts: Vec<_> = msgs.iter().map(|m| m.text.as_deref()).collect();
    assert_eq!(texts, [Some("first ✓"), Some("second"), None]);
    assert!(msgs[2].is_notification);
    let msgs = decode_push(&read("push", "seed-non-text.pb")).unwrap();
    assert_eq!(msgs.len(), 2);
    assert!(msgs.iter().all(|m| m.text.is_none()));
}

/// The seed files on disk are exactly what `seeds()` builds. With
/// `IMBRIDGE_WRITE_SEEDS=1` the files are (re)written first.
#[test]
fn seed_files_match_their_generator() {
    let write = std::env::var_os("IMBRIDGE_WRITE_SEEDS").is_some();
    for (target, name, bytes) in seeds() {
        let dir = fuzz_dir().join("seeds").join(target);
        let path = dir.join(name);
        if write {
            fs::create_dir_all(&dir).unwrap();
            fs::write(&path, &bytes).unwrap();
        }
        let on_disk = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        assert!(
            on_disk == bytes,
            "{} differs from its generator",
            path.display()
        );
    }
}
