//! Teaching tests for `rfmp client` as a program: how it is started (short
//! flags, environment variables), what it does with input that is not
//! text or too long, and how it ends when the server is silent, or goes
//! away. Each runs the real `rfmp` program with piped standard input.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `rfmp client`, unsecured (no key to make or read), the password in
/// RFMP_PASSWORD, a private known-servers file, standard streams piped;
/// `args` says where to connect and as whom.
fn client(args: &[&str], known: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rfmp"));
    command
        .args(["client", "--secure", "0", "--create-account"])
        .args(args)
        .env("RFMP_KNOWN_SERVERS", known.join("known-servers"))
        .env("RFMP_PASSWORD", TEST_PASSWORD)
        .env_remove("RFMP_HOST")
        .env_remove("RFMP_PORT")
        .env_remove("RFMP_USER")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Run `command` with `input` piped in (then closed); its exit status,
/// standard output and standard error.
fn run(mut command: Command, input: &[u8]) -> (ExitStatus, String, String) {
    let mut child = command.spawn().expect("rfmp runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Wait for `child` to exit, at most `limit`; its status and how long it
/// took, or a failed test naming the limit.
fn wait_at_most(mut child: Child, limit: Duration) -> (ExitStatus, Duration) {
    let started = Instant::now();
    let (done, exited) = mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    match exited.recv_timeout(limit) {
        Ok(status) => (status.unwrap(), started.elapsed()),
        Err(_) => {
            // Do not leave it running behind the failed test.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("the client (pid {pid}) was still running after {limit:?}");
        }
    }
}

/// A bad byte (Latin-1 `é`, 0xE9) in a line is replaced by U+FFFD with a
/// warning; the line is sent, and so is every line after it.
#[test]
fn input_that_is_not_utf8_is_replaced_and_the_session_goes_on() {
    let (addr, _data) = start_chat_server(|_| {});
    let known = tempfile::tempdir().unwrap();
    let port = addr.port().to_string();
    let command = client(&["--port", &port, "--user", "erin"], known.path());
    let (status, stdout, stderr) = run(command, b"caf\xe9 au lait\nstill here\n/qqq\n");
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("warning: line 1 is not valid UTF-8"), "{stderr}");
    assert!(stdout.contains("#lobby erin: caf\u{FFFD} au lait"), "{stdout}");
    assert!(stdout.contains("#lobby erin: still here"), "{stdout}");
}

/// A password outside the rule (8 to 256 bytes) is refused by the client
/// itself, with its length and the rule, before a login is sent: the
/// server answers no `error 400` and creates no account.
#[test]
fn a_password_too_short_is_refused_before_it_is_sent() {
    let (addr, hub, _data) = start_chat_server_with_hub(|_| {});
    let known = tempfile::tempdir().unwrap();
    let port = addr.port().to_string();
    let mut command = client(&["--port", &port, "--user", "frank"], known.path());
    command.env("RFMP_PASSWORD", "short12");
    let (status, _stdout, stderr) = run(command, b"");
    assert!(!status.success());
    assert!(
        stderr.contains("RFMP_PASSWORD is 7 bytes long: a password is 8 to 256 bytes long"),
        "{stderr}"
    );
    assert!(!stderr.contains("400"), "the server was asked: {stderr}");
    assert!(!hub.accounts().contains("frank"));
}

/// A line over the message cap (16 KiB) is refused before sending, with
/// its size, the cap and the way to send it instead; so is a much longer
/// one, read without being kept; the session goes on.
#[test]
fn a_line_over_the_message_cap_is_refused_with_its_size() {
    let (addr, _data) = start_chat_server(|_| {});
    let known = tempfile::tempdir().unwrap();
    let port = addr.port().to_string();
    let mut input = vec![b'x'; 20_000];
    input.push(b'\n');
    input.extend(vec![b'y'; 100_000]);
    input.extend(b"\nafter the long lines\n/qqq\n");
    let command = client(&["--port", &port, "--user", "frank"], known.path());
    let (status, stdout, stderr) = run(command, &input);
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("the line is 20000 bytes, over the 16384-byte cap"), "{stderr}");
    assert!(stderr.contains("the line is 100000 bytes"), "{stderr}");
    assert!(stderr.contains("/send FILE"), "{stderr}");
    assert!(!stdout.contains("xxxx") && !stdout.contains("yyyy"), "{stdout}");
    assert!(stdout.contains("frank: after the long lines"), "{stdout}");
}

/// RFMP_HOST, RFMP_PORT and RFMP_USER stand for --host, --port and
/// --user; -H, -p and -u are their short forms; -v logs debug lines.
#[test]
fn environment_variables_and_short_flags_say_where_and_who() {
    let (addr, _data) = start_chat_server(|_| {});
    let known = tempfile::tempdir().unwrap();
    let port = addr.port().to_string();

    let mut command = client(&[], known.path());
    command.env("RFMP_HOST", "127.0.0.1").env("RFMP_PORT", &port).env("RFMP_USER", "grace");
    let (status, stdout, stderr) = run(command, b"from the environment\n");
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("logged in as grace"), "{stderr}");
    assert!(stdout.contains("grace: from the environment"), "{stdout}");

    let command = client(&["-H", "127.0.0.1", "-p", &port, "-u", "heidi", "-v"], known.path());
    let (status, stdout, stderr) = run(command, b"from short flags\n");
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("logged in as heidi"), "{stderr}");
    assert!(stdout.contains("heidi: from short flags"), "{stdout}");
    assert!(stderr.contains("DEBUG"), "-v logs debug lines: {stderr}");
}

/// The client connects before it needs a name: with nothing listening,
/// the refused connection is what it reports, not a missing --user.
#[test]
fn the_client_connects_before_asking_who_you_are() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed: nothing listens there now
    let known = tempfile::tempdir().unwrap();
    let command = client(&["--port", &port.to_string()], known.path());
    let (status, _stdout, stderr) = run(command, b"");
    assert!(!status.success());
    assert!(stderr.contains(&format!("cannot connect to 127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains("--user"), "{stderr}");
}

/// A listener that accepts and never sends its CC packet is not taken for
/// a slow server: the client says so and exits when its answer time-out
/// passes, instead of waiting 30 s.
#[test]
fn a_silent_listener_is_reported_as_not_an_rfmp_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept, then hold the connection open and say nothing.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    let known = tempfile::tempdir().unwrap();
    let port = addr.port().to_string();
    let mut command =
        client(&["--port", &port, "--user", "ivan", "--answer-timeout", "1"], known.path());
    command.stdin(Stdio::null());
    let child = command.spawn().unwrap();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the client gave up on the silent listener")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!(
            "no RFMP answer from 127.0.0.1:{port} after 1 s: is this an RFMP server?"
        )),
        "{stderr}"
    );
}

/// Start `rfmp server` as a process (the TEST-ONLY key, fresh data
/// directories); the process and its address, read from its log.
fn server_process(data: &Path, key: &Path) -> (Child, SocketAddr) {
    let mut server = spawn_server(data, key);
    let addr = listening_address(&mut server);
    (server, addr)
}

/// Start `rfmp server` on a free port, with its data under `data` and its
/// log (at info level) on a pipe the caller reads.
fn spawn_server(data: &Path, key: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rfmp"))
        .args(["server", "--port", "0", "--key"])
        .arg(key)
        .arg("--data-dir")
        .arg(data.join("data"))
        .arg("--receive-dir")
        .arg(data.join("received"))
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The server process is killed (SIGKILL) while the client waits for the
/// next typed line (its standard input stays open): the client notices at
/// once, says so in one line and exits, without waiting for Enter.
#[test]
fn the_client_exits_promptly_when_its_server_is_killed() {
    let data = tempfile::tempdir().unwrap();
    let (_keys, server_key) = private_key_file("TEST-ONLY-server-key.pem");
    let (mut server, addr) = server_process(data.path(), &server_key);
    let known = tempfile::tempdir().unwrap();
    let port = addr.port().to_string();
    let mut client = client(&["--port", &port, "--user", "judy"], known.path()).spawn().unwrap();
    // Keep standard input open: the client is waiting for a line.
    let _typing = client.stdin.take().unwrap();
    let mut stderr = BufReader::new(client.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("logged in as judy") {
        assert!(stderr.read_line(&mut seen).unwrap() > 0, "{seen}");
    }
    let (lines, collected) = mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        let _ = lines.send(rest);
    });

    server.kill().unwrap(); // SIGKILL: no goodbye, the kernel closes the socket
    server.wait().unwrap();
    let (status, took) = wait_at_most(client, Duration::from_secs(10));
    assert!(!status.success(), "the session did not end by the user's wish");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let rest = collected.recv_timeout(Duration::from_secs(10)).unwrap();
    let last: Vec<&str> = rest.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(last.len(), 1, "one clear line: {rest}");
    assert!(
        last[0].contains("the connection to the server was lost")
            || last[0].contains("the server closed the session"),
        "{rest}"
    );
}

/// The server's clean end: SIGTERM to a real `rfmp server` process tells
/// the logged-in client (a real `rfmp client` process) "server shutting
/// down" in a notice, then ends its session with End; the client prints
/// the notice and exits within a second, and the server exits with 0.
#[test]
fn sigterm_tells_every_client_then_the_server_exits_cleanly() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let data = tempfile::tempdir().unwrap();
    let (_keys, server_key) = private_key_file("TEST-ONLY-server-key.pem");
    let (server, addr) = server_process(data.path(), &server_key);
    let known = tempfile::tempdir().unwrap();
    let port = addr.port().to_string();
    let mut client = client(&["--port", &port, "--user", "kim"], known.path()).spawn().unwrap();
    let _typing = client.stdin.take().unwrap(); // open: the client waits for a line
    let mut stdout = BufReader::new(client.stdout.take().unwrap());
    let mut stderr = BufReader::new(client.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("logged in as kim") {
        assert!(stderr.read_line(&mut seen).unwrap() > 0, "{seen}");
    }
    std::thread::spawn(move || for _ in stderr.lines() {});
    let (lines, printed) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            let _ = lines.send(std::mem::take(&mut line));
        }
    });

    let signalled = Instant::now();
    kill(Pid::from_raw(server.id() as i32), Signal::SIGTERM).unwrap();
    let notice =
        printed.recv_timeout(Duration::from_secs(10)).expect("the client printed the notice");
    assert!(notice.contains("server shutting down"), "{notice}");
    let (_status, _) = wait_at_most(client, Duration::from_secs(10));
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(1), "the client took {took:?}");
    let (status, _) = wait_at_most(server, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "the server's exit status");
}

/// A server whose standard error has gone (the terminal or the pipe that
/// read its log closed) still stops on SIGTERM, with status 0: writing
/// its last log line fails, and that failure must not stop it from
/// exiting.
#[test]
fn sigterm_stops_a_server_whose_log_pipe_is_closed() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let data = tempfile::tempdir().unwrap();
    let (_keys, server_key) = private_key_file("TEST-ONLY-server-key.pem");
    let mut server = spawn_server(data.path(), &server_key);
    let mut log = BufReader::new(server.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("listening on") {
        assert!(log.read_line(&mut seen).unwrap() > 0, "{seen}");
    }
    drop(log); // nobody reads its log any more
    kill(Pid::from_raw(server.id() as i32), Signal::SIGTERM).unwrap();
    let (status, _) = wait_at_most(server, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "the server's exit status: {status:?}");
}

/// Files to people between two real clients: alice (a script) offers a
/// file to the lobby with `/send`; bob, whose input stays open, sees the
/// offer with its id, types `/get ID`, and the file arrives in his
/// `--download-dir`, byte for byte. The server's log names each step
/// (logins, the offer, the fetch) with the client's address.
#[test]
fn a_file_sent_with_send_is_fetched_with_get_and_the_server_logs_it() {
    let data = tempfile::tempdir().unwrap();
    let (_keys, server_key) = private_key_file("TEST-ONLY-server-key.pem");
    let mut server = spawn_server(data.path(), &server_key);
    let mut log = BufReader::new(server.stderr.take().unwrap());
    let addr: SocketAddr = loop {
        let mut line = String::new();
        assert!(log.read_line(&mut line).unwrap() > 0, "the server exited");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    let (log_lines, logged) = mpsc::channel();
    std::thread::spawn(move || {
        for line in log.lines().map_while(Result::ok) {
            let _ = log_lines.send(line);
        }
    });
    let known = tempfile::tempdir().unwrap();
    let port = addr.port().to_string();
    let downloads = tempfile::tempdir().unwrap();
    let mut bob = client(&["--port", &port, "--user", "bob"], known.path())
        .arg("--download-dir")
        .arg(downloads.path())
        .spawn()
        .unwrap();
    let mut bob_types = bob.stdin.take().unwrap();
    let mut bob_err = BufReader::new(bob.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("logged in as bob") {
        assert!(bob_err.read_line(&mut seen).unwrap() > 0, "{seen}");
    }
    std::thread::spawn(move || for _ in bob_err.lines() {});
    let (bob_lines, bob_printed) = mpsc::channel();
    let bob_out = BufReader::new(bob.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in bob_out.lines().map_while(Result::ok) {
            let _ = bob_lines.send(line);
        }
    });

    let local = tempfile::tempdir().unwrap();
    let notes = local.path().join("notes.txt");
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&notes, &bytes).unwrap();
    let send = format!("/send {}\n/qqq\n", notes.display());
    let (status, stdout, stderr) =
        run(client(&["--port", &port, "--user", "alice"], known.path()), send.as_bytes());
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("offered to #lobby as file"), "{stdout}");

    let offer = loop {
        let line =
            bob_printed.recv_timeout(Duration::from_secs(10)).expect("bob was told of the file");
        if line.contains("offers notes.txt") {
            break line;
        }
    };
    assert!(offer.contains("#lobby alice offers notes.txt (100000 bytes"), "{offer}");
    let id = offer.rsplit("/get ").next().unwrap().trim().to_string();
    writeln!(bob_types, "/get {id}\n/qqq").unwrap();
    let (status, _) = wait_at_most(bob, Duration::from_secs(10));
    assert!(status.success());
    let saved = loop {
        let line = bob_printed.recv_timeout(Duration::from_secs(10)).unwrap();
        if line.contains("saved ") {
            break line;
        }
    };
    assert!(saved.contains("(100000 bytes, SHA-256 checked)"), "{saved}");
    assert_eq!(std::fs::read(downloads.path().join("notes.txt")).unwrap(), bytes);

    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("bob fetched notes.txt")) {
        lines.push(logged.recv_timeout(Duration::from_secs(10)).expect("log"));
    }
    let log = lines.join("\n");
    for wanted in [
        "127.0.0.1:".to_string(),
        ": logged in as bob (a new account), joined #lobby".into(),
        ": logged in as alice (a new account), joined #lobby".into(),
        format!(": alice offered notes.txt (100000 bytes) to #lobby as file {id}"),
        format!(": bob fetched notes.txt (100000 bytes, file {id})"),
    ] {
        assert!(log.contains(&wanted), "{wanted:?} in\n{log}");
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// On a terminal (a pseudo-terminal made by util-linux's `script`), a
/// name without an account is not created silently: the client asks
/// `create it? [y/N]`, then the password again, and only then logs in
/// with `"create": true`. Each answer is typed after its prompt appears.
#[test]
fn on_a_terminal_the_client_asks_before_creating_an_account() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` program (util-linux) to make a terminal");
        return;
    }
    let (addr, data) = start_chat_server(|_| {});
    let known = tempfile::tempdir().unwrap();
    let program = format!(
        "{} client --port {} --secure 0 --user newbie --known-servers {}",
        env!("CARGO_BIN_EXE_rfmp"),
        addr.port(),
        known.path().join("known-servers").display()
    );
    let mut terminal = Command::new("script")
        .args(["-q", "-e", "-c", &program, "/dev/null"])
        .env_remove("RFMP_PASSWORD")
        .env("HOME", known.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut keys = terminal.stdin.take().unwrap();
    let (screen, shown) = mpsc::channel();
    let mut output = terminal.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        while std::io::Read::read(&mut output, &mut byte).unwrap_or(0) == 1 {
            let _ = screen.send(byte[0]);
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |prompt: &str| {
        while !String::from_utf8_lossy(&seen).contains(prompt) {
            match shown.recv_timeout(Duration::from_secs(10)) {
                Ok(byte) => seen.push(byte),
                Err(_) => {
                    panic!("no {prompt:?} on the screen:\n{}", String::from_utf8_lossy(&seen))
                }
            }
        }
        seen.clear();
    };
    wait_for("Password for newbie: ");
    keys.write_all(TEST_PASSWORD.as_bytes()).unwrap();
    keys.write_all(b"\n").unwrap();
    wait_for("has no account newbie; create it? [y/N]");
    keys.write_all(b"y\n").unwrap();
    wait_for("Password for newbie, again: ");
    keys.write_all(TEST_PASSWORD.as_bytes()).unwrap();
    keys.write_all(b"\n").unwrap();
    wait_for("logged in as newbie (a new account)");
    keys.write_all(b"/qqq\n").unwrap();
    let (status, _) = wait_at_most(terminal, Duration::from_secs(10));
    assert!(status.success());
    let accounts = std::fs::read_to_string(data.path().join("data").join("accounts.json")).unwrap();
    assert!(accounts.contains("newbie"), "{accounts}");
}
