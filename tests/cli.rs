//! The `rfmp` program itself, as real processes on loopback: `check server`
//! and `check client`, `--trace`, `--key-log`, and `transcript --pcap`.
//!
//! Each test starts the binary Cargo built (`CARGO_BIN_EXE_rfmp`), reads
//! the port a server chose from its log line, and waits on the processes'
//! output, never on a clock.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The program under test.
fn rfmp() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rfmp"));
    command.env_remove("RFMP_PASSWORD").env("RUST_LOG", "info");
    command
}

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Running {
    /// Wait for the process to end on its own.
    fn wait(&mut self) -> std::process::ExitStatus {
        self.0.wait().expect("the process ends")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines a process writes to standard error, read on a thread: a test
/// waits for the line it needs, for 30 s at most.
struct Lines(mpsc::Receiver<String>);

impl Lines {
    fn of(stderr: ChildStderr) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines(rx)
    }

    /// Every line up to and including the first that contains `needle`.
    fn until(&self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.0.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let found = line.contains(needle);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; saw:\n{}", seen.join("\n")),
            }
        }
    }
}

/// Start `rfmp server` on 127.0.0.1:0 with the TEST-ONLY key, its data in
/// `dir`, and `extra` flags; return it, its port and its log lines.
fn start_server(dir: &Path, key: &Path, extra: &[&str]) -> (Running, u16, Lines) {
    let mut child = rfmp()
        .args(["server", "--host", "127.0.0.1", "--port", "0", "--key"])
        .arg(key)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--receive-dir")
        .arg(dir.join("received"))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rfmp server starts");
    let lines = Lines::of(child.stderr.take().expect("stderr"));
    let server = Running(child);
    let listening = lines.until("rfmp server listening on ");
    let line = listening.last().expect("the line");
    let port = line
        .split("listening on 127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("a port in {line:?}"));
    (server, port, lines)
}

/// The text of `output`'s standard output.
fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_server_passes_a_real_rfmp_server() {
    let (_key_dir, key) = common::private_key_file("TEST-ONLY-server-key.pem");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_server, port, _lines) = start_server(dir.path(), &key, &[]);
    let output = rfmp()
        .args(["check", "server", &format!("127.0.0.1:{port}")])
        .args(["--timeout", "5"])
        .output()
        .expect("rfmp check runs");
    let text = stdout_of(&output);
    let last = text.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed") && !last.starts_with("0 passed"), "{text}");
    assert_eq!(output.status.code(), Some(0), "{text}");
}

/// `rfmp server --profile seed` passes the checks of the seed profile, and
/// `--profile auto` finds the profile from what the server does (no SC).
#[test]
fn check_server_passes_a_real_seed_profile_server_and_auto_finds_it() {
    let (_key_dir, key) = common::private_key_file("TEST-ONLY-server-key.pem");
    let dir = tempfile::tempdir().expect("temporary directory");
    let files = dir.path().join("files");
    let files = files.to_str().expect("a UTF-8 path");
    let (_server, port, _lines) =
        start_server(dir.path(), &key, &["--profile", "seed", "--files-dir", files]);
    for profile in ["seed", "auto"] {
        let output = rfmp()
            .args(["check", "server", &format!("127.0.0.1:{port}")])
            .args(["--timeout", "5", "--profile", profile])
            .output()
            .expect("rfmp check runs");
        let text = stdout_of(&output);
        let last = text.lines().last().unwrap_or_default();
        assert!(
            last.ends_with(" passed, 0 failed") && !last.starts_with("0 passed"),
            "{profile}: {text}"
        );
        assert!(text.contains("skipped"), "{profile}: the SC checks are skipped: {text}");
        assert_eq!(output.status.code(), Some(0), "{profile}: {text}");
    }
}

#[test]
fn check_server_fails_fast_against_a_silent_listener() {
    // Connections complete in the listener's backlog, and nothing answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("127.0.0.1:0");
    let addr = silent.local_addr().expect("address");
    let output = rfmp()
        .args(["check", "server", &addr.to_string()])
        .args(["--timeout", "0.2", "--only", "4.a"])
        .output()
        .expect("rfmp check runs");
    let text = stdout_of(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ 4.a-1"), "{text}");
    assert!(text.lines().last().unwrap_or_default().starts_with("0 passed"), "{text}");
}

#[test]
fn check_lists_its_checks_without_an_address() {
    let output = rfmp().args(["check", "server", "--list"]).output().expect("rfmp check runs");
    let text = stdout_of(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.lines().all(|line| line.starts_with("server ")), "{text}");
    assert!(text.contains("4.a-1"), "{text}");
    let missing = rfmp().args(["check", "server"]).output().expect("rfmp check runs");
    assert_eq!(missing.status.code(), Some(2), "clap refuses a missing address");
}

#[test]
fn check_client_grades_a_real_rfmp_client() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut checker = rfmp()
        .args(["check", "client", "--port", "0", "--clients", "1", "--timeout", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("rfmp check client starts");
    let mut out = BufReader::new(checker.stdout.take().expect("stdout"));
    let mut checker = Running(checker);
    let mut first = String::new();
    out.read_line(&mut first).expect("the first line");
    let port = first
        .trim_end()
        .strip_suffix("; run your client against it, for example:")
        .and_then(|line| line.rsplit(':').next())
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("a port in {first:?}"));
    // The client stays until the checker ends the session; its standard
    // input stays open (and silent) until then.
    let client = rfmp()
        .args(["client", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--secure", "1", "--cipher", "aes", "--link-check"])
        .arg("--known-servers")
        .arg(dir.path().join("known-servers"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rfmp client starts");
    let _client = Running(client);
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("the report");
    let status = checker.wait();
    assert!(rest.lines().last() == Some("9 passed, 0 failed"), "{first}{rest}");
    assert_eq!(status.code(), Some(0), "{first}{rest}");
    // The command the checker suggested is the one that was run.
    assert!(rest.lines().next().is_some_and(|l| l.ends_with("--link-check")), "{rest}");
}

#[test]
fn trace_names_the_step_a_bad_client_got_wrong() {
    let (_key_dir, key) = common::private_key_file("TEST-ONLY-server-key.pem");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_server, port, lines) = start_server(dir.path(), &key, &["--trace"]);
    let mut bad = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    bad.write_all(b"(SS,RFMP,v2.0,1)").expect("send");
    let answer = common::read_to_close(bad);
    assert!(answer.starts_with("(EE,"), "{answer}");
    let trace = lines.until("deviation:").join("\n");
    assert!(trace.contains("Step 4.a"), "{trace}");
    assert!(trace.contains("(SS,RFMP,v1.0,0|1)"), "{trace}");
    assert!(trace.contains("(SS,RFMP,v2.0,1)"), "the bytes read: {trace}");
}

#[test]
fn key_logs_of_client_and_server_hold_the_same_session() {
    let (_key_dir, key) = common::private_key_file("TEST-ONLY-server-key.pem");
    let dir = tempfile::tempdir().expect("temporary directory");
    let server_log = dir.path().join("server.keys");
    let client_log = dir.path().join("client.keys");
    let server_flag = format!("--key-log={}", server_log.display());
    let (_server, port, _lines) = start_server(dir.path(), &key, &[&server_flag]);
    let output = rfmp()
        .args(["client", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--secure", "1", "--cipher", "aes", "--link-check"])
        .arg("--known-servers")
        .arg(dir.path().join("known-servers"))
        .arg("--key-log")
        .arg(&client_log)
        .stdin(Stdio::null())
        .output()
        .expect("rfmp client runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("WARNING: --key-log"), "{stderr}");
    let client_line = std::fs::read_to_string(&client_log).expect("the client's key log");
    // The server logged the secret (step 13.a.ii) before its SC, which the
    // client waited for: the line is there.
    let server_line = std::fs::read_to_string(&server_log).expect("the server's key log");
    assert_eq!(client_line, server_line);
    let fields: Vec<&str> = client_line.trim_end().split(' ').collect();
    assert_eq!(fields.len(), 5, "{client_line}");
    assert_eq!(fields[0], "RFMP_SESSION");
    let client: std::net::SocketAddr = fields[1].parse().expect("the client's address");
    assert_eq!(fields[2], format!("127.0.0.1:{port}"));
    assert!(client.ip().is_loopback());
    assert_eq!(fields[3], "aes");
    assert_eq!(fields[4].len(), 32, "16 bytes in hex");
    assert!(fields[4].bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn transcript_writes_a_capture_and_its_key_log() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pcap = dir.path().join("aes.pcap");
    let output = rfmp()
        .args(["transcript", "--cipher", "aes", "--pcap"])
        .arg(&pcap)
        .output()
        .expect("rfmp transcript runs");
    let text = stdout_of(&output);
    assert!(output.status.success(), "{text}");
    let capture = std::fs::read(&pcap).expect("the capture");
    // The classic pcap magic, microseconds, in either byte order.
    assert!(
        capture.starts_with(&[0xd4, 0xc3, 0xb2, 0xa1])
            || capture.starts_with(&[0xa1, 0xb2, 0xc3, 0xd4]),
        "{:02x?}",
        &capture[..capture.len().min(4)]
    );
    let keys = std::fs::read_to_string(dir.path().join("aes.pcap.keys")).expect("the key log");
    assert!(keys.contains("RFMP_SESSION 127.0.0.1:49152 127.0.0.1:25565 aes "), "{keys}");
    assert!(text.contains("tshark -X lua_script:contrib/wireshark/rfmp.lua"), "{text}");
}

#[test]
fn handshake_timeout_cuts_a_silent_client_off() {
    let (_key_dir, key) = common::private_key_file("TEST-ONLY-server-key.pem");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_server, port, _lines) = start_server(dir.path(), &key, &["--handshake-timeout", "1"]);
    // Says nothing: after one second of silence the server gives up.
    let silent = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let answer = common::read_to_close(silent);
    assert!(answer.starts_with("(EE,408,"), "{answer}");
    let zero = rfmp()
        .args(["server", "--port", "0", "--handshake-timeout", "0"])
        .output()
        .expect("rfmp server runs");
    assert_eq!(zero.status.code(), Some(2), "clap refuses a time-out of 0");
}
