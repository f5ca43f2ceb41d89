//! A load generator: real clients against a running chat server, rfmp or
//! IRC, with the server's own CPU and memory read from `/proc`.
//!
//! ```text
//! cargo bench --bench load -- TARGET HOST:PORT SCENARIO [options]
//! cargo bench --bench load -- check     (checks the parsing and statistics)
//!
//! TARGET    rfmp (AES sessions, accounts, rooms) or irc (NICK/USER, JOIN)
//! SCENARIO  fanout      N members in a room; one says M messages, the others receive
//!           pair        a room of two: M messages A -> server -> B, one at a time
//!           idle        N members log in and stay idle
//!           handshakes  M secured handshakes (steps 1-15) in a row, no login (rfmp only)
//! --members N      members (fanout, idle; default 50)
//! --messages M     messages, round trips or handshakes (default 200)
//! --size BYTES     message text size (default 100)
//! --rate R         pace the sender to R deliveries/s (default: unpaced)
//! --pid PID        the server's process id: its CPU time, memory and threads
//!                  are read from /proc/PID before and after
//! ```
//!
//! Every message carries its sequence number and its send time (nanoseconds
//! since this program started) in its text, so the latency of a delivery is
//! its receive time minus that send time, on the one clock of this process;
//! a sequence number seen twice or lower than the last is an order
//! violation, one never seen a lost message.
//!
//! `benches/side-by-side.sh` runs this against rfmp and ngircd (a C IRC
//! server) and prints a table; the README's "Measured" section quotes it.
//! Run here alone, it needs a server started by hand, e.g. `cargo run
//! --release -- server --data-dir /tmp/d` (port 25565) and `--pid` its id.
//!
//! Threads: every receiving member has one thread here (blocking reads, a
//! 256 KiB stack), and each rfmp `Client` has one more (which reads its
//! socket), so 200 rfmp members are about 400 threads in this process;
//! they share the machine's cores with the server, which the figures
//! include.
//!
//! The idle scenario logs its members in four at a time (the server hashes
//! two passwords at once) into rooms of 100, each leaving the lobby (so that
//! the join notices stay O(N), not O(N^2)). Both
//! processes need about N + 100 open files (`ulimit -n`).

use rfmp::chat::actions::RoomMessage;
use rfmp::chat::client::{Client, Security};
use rfmp::handshake::client::{self, Mode};
use rfmp::handshake::framing::Connection;
use rfmp::handshake::helpers::os_rng;
use rfmp::handshake::keys::private_key_from_pem;
use rfmp::handshake::packets::encrypt_session_secret;
use rfmp::handshake::session::{Algorithm, SessionSecret};
use rsa::sha2::Sha256;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Errors here are for a person at a terminal: one line saying what failed.
type Outcome<T> = Result<T, String>;

/// Which kind of server is at the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Rfmp,
    Irc,
}

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Fanout,
    Pair,
    Idle,
    Handshakes,
}

/// The command line, parsed.
#[derive(Debug, Clone, PartialEq)]
struct Args {
    target: Target,
    addr: SocketAddr,
    scenario: Scenario,
    members: usize,
    messages: usize,
    size: usize,
    /// Deliveries per second to aim at; `None`: as fast as the server takes them.
    rate: Option<f64>,
    pid: Option<u32>,
}

const USAGE: &str = "usage: cargo bench --bench load -- rfmp|irc HOST:PORT fanout|pair|idle|handshakes \
[--members N] [--messages M] [--size BYTES] [--rate DELIVERIES_PER_S] [--pid SERVER_PID]";

/// Longest text we send: an IRC line is at most 512 bytes with its prefix.
const MAX_SIZE: usize = 400;

/// Most members: four digits in an IRC nickname of nine characters.
const MAX_MEMBERS: usize = 10_000;

fn parse_args(args: &[String]) -> Outcome<Args> {
    let mut positional = Vec::new();
    let mut parsed = Args {
        target: Target::Rfmp,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        scenario: Scenario::Fanout,
        members: 50,
        messages: 200,
        size: 100,
        rate: None,
        pid: None,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value =
            |name: &str| rest.next().ok_or_else(|| format!("{name} needs a value; {USAGE}"));
        match arg.as_str() {
            // `cargo bench` adds `--bench` to the arguments of every bench.
            "--bench" => {}
            "--members" => parsed.members = number("--members", value("--members")?)?,
            "--messages" => parsed.messages = number("--messages", value("--messages")?)?,
            "--size" => parsed.size = number("--size", value("--size")?)?,
            "--pid" => parsed.pid = Some(number("--pid", value("--pid")?)?),
            "--rate" => {
                let rate: f64 = number("--rate", value("--rate")?)?;
                if !(rate.is_finite() && rate > 0.0) {
                    return Err(format!("--rate is deliveries per second, above 0, not {rate}"));
                }
                parsed.rate = Some(rate);
            }
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}; {USAGE}"));
            }
            word => positional.push(word),
        }
    }
    let [target, addr, scenario] = positional[..] else {
        return Err(format!("expected TARGET HOST:PORT SCENARIO; {USAGE}"));
    };
    parsed.target = match target {
        "rfmp" => Target::Rfmp,
        "irc" => Target::Irc,
        other => return Err(format!("target {other:?}: expected rfmp or irc")),
    };
    parsed.addr = addr
        .parse()
        .map_err(|_| format!("address {addr:?}: expected HOST:PORT, e.g. 127.0.0.1:6667"))?;
    parsed.scenario = match scenario {
        "fanout" => Scenario::Fanout,
        "pair" => Scenario::Pair,
        "idle" => Scenario::Idle,
        "handshakes" => Scenario::Handshakes,
        other => {
            return Err(format!("scenario {other:?}: expected fanout, pair, idle or handshakes"));
        }
    };
    if parsed.scenario == Scenario::Handshakes && parsed.target != Target::Rfmp {
        return Err("handshakes are an rfmp scenario (IRC has none)".into());
    }
    if parsed.members < 2 || parsed.members > MAX_MEMBERS {
        return Err(format!("--members: 2 to {MAX_MEMBERS}, not {}", parsed.members));
    }
    if parsed.messages == 0 {
        return Err("--messages: at least 1".into());
    }
    if !(24..=MAX_SIZE).contains(&parsed.size) {
        return Err(format!(
            "--size: 24 to {MAX_SIZE} bytes (room for the sequence number and time), not {}",
            parsed.size
        ));
    }
    Ok(parsed)
}

fn number<T: std::str::FromStr>(name: &str, text: &str) -> Outcome<T> {
    text.parse().map_err(|_| format!("{name}: {text:?} is not a number"))
}

/// The value at percentile `p` (0 to 100) of sorted values, by nearest
/// rank: the smallest value with at least `p`% of the values at or below it.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Latencies summarised, in microseconds.
fn latency_line(latencies_ns: &mut [u64]) -> String {
    latencies_ns.sort_unstable();
    format!(
        "p50_us={:.1} p99_us={:.1} max_us={:.1}",
        percentile(latencies_ns, 50.0) as f64 / 1e3,
        percentile(latencies_ns, 99.0) as f64 / 1e3,
        latencies_ns.last().copied().unwrap_or(0) as f64 / 1e3
    )
}

/// The server's process as `/proc` shows it.
#[derive(Debug, Clone, Copy, Default)]
struct ProcSample {
    /// utime + stime, seconds.
    cpu_s: f64,
    /// VmRSS, KiB.
    rss_kib: u64,
    /// VmHWM (the highest RSS so far), KiB.
    hwm_kib: u64,
    threads: u64,
}

/// Reads `/proc/PID` of the server, when a PID was given.
struct Probe {
    pid: Option<u32>,
    ticks_per_s: f64,
}

impl Probe {
    fn new(pid: Option<u32>) -> Probe {
        // Clock ticks per second of /proc/PID/stat: `getconf CLK_TCK`
        // (100 on Linux almost everywhere).
        let ticks_per_s = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0);
        Probe { pid, ticks_per_s }
    }

    fn sample(&self) -> Outcome<Option<ProcSample>> {
        let Some(pid) = self.pid else {
            return Ok(None);
        };
        let read = |file: &str| {
            std::fs::read_to_string(format!("/proc/{pid}/{file}"))
                .map_err(|e| format!("reading /proc/{pid}/{file} (is the server running?): {e}"))
        };
        let stat = read("stat")?;
        // The name (field 2) is in parentheses and may hold spaces: count
        // fields after the last `)`. Field 3 (state) is then index 0, so
        // utime (field 14) is index 11 and stime (15) index 12.
        let after = stat
            .rsplit_once(')')
            .map(|(_, after)| after)
            .ok_or("/proc/PID/stat without the process name")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| -> Outcome<u64> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| format!("/proc/{pid}/stat: field {} is not a number", i + 3))
        };
        let cpu_s = (ticks(11)? + ticks(12)?) as f64 / self.ticks_per_s;
        let status = read("status")?;
        let field = |name: &str| -> Outcome<u64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("/proc/{pid}/status has no {name}"))
        };
        Ok(Some(ProcSample {
            cpu_s,
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
            threads: field("Threads:")?,
        }))
    }
}

/// A room message as one member heard it.
struct Said {
    from: String,
    text: String,
}

/// One logged-in member of the test room, of either server.
// One per client, made once: the size of a `Client` inside does not matter.
#[allow(clippy::large_enum_variant)]
enum Member {
    Rfmp(Client),
    Irc(Irc),
}

/// An IRC connection: a buffered reader (with the partial line read so far)
/// and a writer on the same socket.
struct Irc {
    reader: Mutex<(BufReader<TcpStream>, Vec<u8>)>,
    writer: Mutex<TcpStream>,
}

/// Longest IRC line we read, in bytes (RFC 2812 allows 512; IRCv3 message
/// tags can add more).
const MAX_IRC_LINE: usize = 4096;

/// How long to wait for a login, a join or a registration.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The server's RSA key is the server's business; ours is the TEST-ONLY
/// client key, the same for every member (it is only used for direct
/// messages, which this generator does not send).
fn client_key() -> Outcome<rsa::PrivateKey> {
    private_key_from_pem(include_str!("../tests/keys/TEST-ONLY-client-key.pem"))
        .map_err(|e| format!("the TEST-ONLY client key: {e}"))
}

impl Member {
    /// Connect, log in (rfmp: the first login creates the account) and
    /// enter `room`; `create` for the first member (rfmp: `/create`, the
    /// others `/join`; IRC: the first JOIN creates the channel).
    fn join(
        target: Target,
        addr: SocketAddr,
        name: &str,
        password: &str,
        room: &str,
        create: bool,
        key: &rsa::PrivateKey,
    ) -> Outcome<Member> {
        match target {
            Target::Rfmp => {
                let security =
                    Security::Secured { algorithm: Algorithm::Aes, private_key: key.clone() };
                let client = Client::connect(addr, security)
                    .map_err(|e| format!("{name}: connect to {addr}: {e}"))?;
                client.login(name, password).map_err(|e| format!("{name}: login: {e}"))?;
                let verb = if create { "create" } else { "join" };
                client
                    .command(&format!("{verb} {room}"))
                    .map_err(|e| format!("{name}: /{verb} {room}: {e}"))?;
                Ok(Member::Rfmp(client))
            }
            Target::Irc => {
                let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                    .map_err(|e| format!("{name}: connect to {addr}: {e}"))?;
                stream
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .map_err(|e| e.to_string())?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                let writer = stream.try_clone().map_err(|e| e.to_string())?;
                let irc = Irc {
                    reader: Mutex::new((BufReader::new(stream), Vec::new())),
                    writer: Mutex::new(writer),
                };
                irc.write(&format!("NICK {name}\r\nUSER {name} 0 * :load\r\n"))?;
                irc.await_numeric("001", &format!("{name}: registration"))?;
                irc.write(&format!("JOIN #{room}\r\n"))?;
                // 366: the end of the channel's NAMES list, sent after a join.
                irc.await_numeric("366", &format!("{name}: JOIN #{room}"))?;
                Ok(Member::Irc(irc))
            }
        }
    }

    /// Say `text` in `room`, without waiting for anything.
    fn say(&self, room: &str, text: &str) -> Outcome<()> {
        match self {
            Member::Rfmp(client) => client
                .send("message", serde_json::json!({ "room": room, "text": text }))
                .map_err(|e| format!("sending a message: {e}")),
            Member::Irc(irc) => irc.write(&format!("PRIVMSG #{room} :{text}\r\n")),
        }
    }

    /// The next room message, or `None` after `wait` or for anything else
    /// (notices, joins, pings).
    fn hear(&self, wait: Duration) -> Outcome<Option<Said>> {
        match self {
            Member::Rfmp(client) => {
                let envelope = client.receive(Some(wait)).map_err(|e| format!("receiving: {e}"))?;
                Ok(envelope
                    .filter(|e| e.action == "message" && e.data.is_object())
                    .and_then(|e| serde_json::from_value::<RoomMessage>(e.data).ok())
                    .map(|m| Said { from: m.from, text: m.text }))
            }
            Member::Irc(irc) => Ok(irc.line()?.and_then(|line| {
                let (from, command, rest) = split_irc(&line)?;
                if command != "PRIVMSG" {
                    return None;
                }
                let text = rest.split_once(" :")?.1;
                Some(Said { from: from.to_string(), text: text.to_string() })
            })),
        }
    }
}

/// Split `:nick!user@host COMMAND rest` into (nick, command, rest).
fn split_irc(line: &str) -> Option<(&str, &str, &str)> {
    let line = line.strip_prefix(':')?;
    let (prefix, rest) = line.split_once(' ')?;
    let nick = prefix.split('!').next()?;
    let (command, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((nick, command, rest))
}

impl Irc {
    fn write(&self, text: &str) -> Outcome<()> {
        let mut writer = self.writer.lock().map_err(|_| "a writer panicked")?;
        writer.write_all(text.as_bytes()).map_err(|e| format!("writing to the IRC server: {e}"))
    }

    /// One whole line (without CR LF), or `None` after the socket's read
    /// timeout; a `PING` is answered here.
    fn line(&self) -> Outcome<Option<String>> {
        let mut guard = self.reader.lock().map_err(|_| "a reader panicked")?;
        let (reader, partial) = &mut *guard;
        // At most one byte past the longest line we accept, so a server
        // that never sends a newline cannot fill our memory.
        let room = (MAX_IRC_LINE + 1).saturating_sub(partial.len()) as u64;
        match (&mut *reader).take(room).read_until(b'\n', partial) {
            Ok(_) if partial.ends_with(b"\n") => {}
            Ok(_) if partial.len() > MAX_IRC_LINE => {
                return Err(format!("an IRC line over {MAX_IRC_LINE} bytes"));
            }
            Ok(_) => return Err("the IRC server closed the connection".into()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(None);
            }
            Err(e) => return Err(format!("reading from the IRC server: {e}")),
        }
        let line = String::from_utf8_lossy(partial).trim_end().to_string();
        partial.clear();
        drop(guard);
        if let Some(token) = line.strip_prefix("PING ") {
            self.write(&format!("PONG {token}\r\n"))?;
            return Ok(None);
        }
        if line.starts_with("ERROR") {
            return Err(format!("the IRC server says: {line}"));
        }
        Ok(Some(line))
    }

    /// Read lines until the numeric reply `code`; an error numeric (4xx or
    /// 5xx) or [`SETUP_TIMEOUT`] ends the wait with an error.
    fn await_numeric(&self, code: &str, doing: &str) -> Outcome<()> {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        while Instant::now() < deadline {
            let Some(line) = self.line()? else { continue };
            let Some((_, command, _)) = split_irc(&line) else {
                continue;
            };
            if command == code {
                return Ok(());
            }
            if command.len() == 3 && (command.starts_with('4') || command.starts_with('5')) {
                return Err(format!("{doing}: the IRC server answered {line}"));
            }
        }
        Err(format!("{doing}: no {code} in {SETUP_TIMEOUT:?}"))
    }
}

/// Names for this run: a short id, so a run never meets an earlier run's
/// accounts, rooms or nicknames on the same server.
struct Run {
    id: String,
    epoch: Instant,
}

impl Run {
    fn new() -> Run {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mixed = nanos ^ std::process::id().rotate_left(16);
        Run { id: format!("{:04x}", mixed & 0xffff), epoch: Instant::now() }
    }

    /// Member `i`'s name: `l`, the run id, `i` (9 characters at most, the
    /// IRC default).
    fn name(&self, i: usize) -> String {
        format!("l{}{i}", self.id)
    }

    /// The account password of every member of this run.
    fn password(&self) -> String {
        format!("load-{}-password", self.id)
    }

    fn room(&self) -> String {
        format!("load{}", self.id)
    }

    /// Nanoseconds since this run began, on the one clock of this process.
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Message `seq`'s text, `size` bytes: `SEQ SENT_NS xxxx...`.
    fn text(&self, seq: usize, size: usize) -> String {
        let mut text = format!("{seq} {} ", self.now_ns());
        let pad = size.saturating_sub(text.len());
        text.extend(std::iter::repeat_n('x', pad));
        text
    }
}

/// (sequence number, send time in ns) from a message's text.
fn parse_text(text: &str) -> Option<(usize, u64)> {
    let mut words = text.split(' ');
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

/// Log `count` members in (all into the run's room), one after another,
/// and say how long it took.
fn log_in(args: &Args, run: &Run, count: usize) -> Outcome<Vec<Member>> {
    let key = client_key()?;
    let (password, room) = (run.password(), run.room());
    let start = Instant::now();
    let members = (0..count)
        .map(|i| Member::join(args.target, args.addr, &run.name(i), &password, &room, i == 0, &key))
        .collect::<Outcome<Vec<Member>>>()?;
    let elapsed = start.elapsed().as_secs_f64();
    let note = match args.target {
        // Each first login of a name creates an account: one Argon2id hash
        // (about 20 ms of server CPU) plus a handshake (about 3 ms).
        Target::Rfmp => " (each a new account: an Argon2id hash, ~20 ms, and an RSA handshake)",
        Target::Irc => "",
    };
    println!(
        "logged in {count} members in {elapsed:.2} s, {:.1} ms each{note}",
        elapsed * 1000.0 / count as f64
    );
    Ok(members)
}

/// Log `count` idle members in, four at a time, into rooms of
/// [`IDLE_ROOM`] members, and say how long it took.
fn log_in_idle(args: &Args, run: &Run, count: usize) -> Outcome<Vec<Member>> {
    const AT_ONCE: usize = 4;
    let key = client_key()?;
    let (password, room) = (run.password(), run.room());
    let start = Instant::now();
    let mut members: Vec<Option<Member>> = Vec::new();
    members.resize_with(count, || None);
    let results: Vec<Outcome<Vec<(usize, Member)>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..AT_ONCE)
            .map(|worker| {
                let (key, password, room) = (&key, &password, &room);
                scope.spawn(move || {
                    // Whole rooms, each creator first: rooms worker,
                    // worker + 4, worker + 8, ...
                    let mut mine = Vec::new();
                    for first in (worker * IDLE_ROOM..count).step_by(AT_ONCE * IDLE_ROOM) {
                        for i in first..(first + IDLE_ROOM).min(count) {
                            let room = format!("{room}-{}", i / IDLE_ROOM);
                            let member = Member::join(
                                args.target,
                                args.addr,
                                &run.name(i),
                                password,
                                &room,
                                i % IDLE_ROOM == 0,
                                key,
                            )?;
                            // Out of the lobby, which every login joins:
                            // there each login would tell every member
                            // before it (O(N^2) notices, which an idle
                            // client never reads).
                            if let Member::Rfmp(client) = &member {
                                client
                                    .command("leave lobby")
                                    .map_err(|e| format!("{}: /leave lobby: {e}", run.name(i)))?;
                            }
                            mine.push((i, member));
                        }
                    }
                    Ok(mine)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a login worker panicked".into())))
            .collect()
    });
    for result in results {
        for (i, member) in result? {
            members[i] = Some(member);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "logged in {count} idle members, {AT_ONCE} at a time, in {elapsed:.2} s, {:.1} ms each",
        elapsed * 1000.0 / count as f64
    );
    Ok(members.into_iter().flatten().collect())
}

/// Members per room in the idle scenario.
const IDLE_ROOM: usize = 100;

/// What one receiving member saw.
#[derive(Default)]
struct Heard {
    latencies_ns: Vec<u64>,
    lost: usize,
    order_violations: usize,
    /// When the last message arrived, ns since the run began.
    last_ns: u64,
}

/// After the sender is done, how long a member waits with nothing arriving
/// before counting what is missing as lost.
const QUIET: Duration = Duration::from_secs(5);

/// Receive the room messages of `sender` until all `expected` arrived, or
/// `stop`, or `QUIET` without one after `done`. With `expected` `None`,
/// read and drop everything until `stop` (the sender's own socket).
fn listen(
    member: &Member,
    run: &Run,
    sender: &str,
    expected: Option<usize>,
    done: &AtomicBool,
    stop: &AtomicBool,
) -> Outcome<Heard> {
    let mut heard = Heard::default();
    let Some(expected) = expected else {
        while !stop.load(Ordering::Relaxed) {
            member.hear(Duration::from_millis(200))?;
        }
        return Ok(heard);
    };
    let mut seen = vec![false; expected];
    let mut next = 0;
    let mut last_heard = Instant::now();
    let mut received = 0;
    while received < expected && !stop.load(Ordering::Relaxed) {
        if done.load(Ordering::Relaxed) && last_heard.elapsed() > QUIET {
            break;
        }
        let Some(said) = member.hear(Duration::from_millis(200))? else {
            continue;
        };
        let now = run.now_ns();
        let Some((seq, sent)) = parse_text(&said.text) else {
            continue;
        };
        if said.from != sender || seq >= expected {
            continue;
        }
        last_heard = Instant::now();
        heard.latencies_ns.push(now.saturating_sub(sent));
        heard.last_ns = now;
        if seen[seq] || seq < next {
            heard.order_violations += 1;
        }
        if !seen[seq] {
            seen[seq] = true;
            received += 1;
        }
        next = seq + 1;
    }
    heard.lost = expected - received;
    Ok(heard)
}

/// Stack of each receiving thread: it holds a few small buffers.
const LISTENER_STACK: usize = 256 * 1024;

/// [`listen`] on a thread of its own, with a small stack.
fn spawn_listener<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    member: &'env Member,
    run: &'env Run,
    sender: &'env str,
    expected: Option<usize>,
    done: &'env AtomicBool,
    stop: &'env AtomicBool,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, Outcome<Heard>>> {
    std::thread::Builder::new()
        .stack_size(LISTENER_STACK)
        .spawn_scoped(scope, move || listen(member, run, sender, expected, done, stop))
}

fn fanout(args: &Args, run: &Run, probe: &Probe) -> Outcome<()> {
    let (n, m) = (args.members, args.messages);
    let before = probe.sample()?;
    let members = log_in(args, run, n)?;
    let joined = probe.sample()?;
    let (room, sender) = (run.room(), run.name(0));
    let (done, stop) = (AtomicBool::new(false), AtomicBool::new(false));
    // Pacing: one message reaches n - 1 members.
    let interval = args.rate.map(|rate| Duration::from_secs_f64((n - 1) as f64 / rate));
    let mut start_ns = 0;
    let mut cpu_before = None;
    let results: Vec<Outcome<Heard>> = std::thread::scope(|scope| {
        let spawn =
            |member, expected| spawn_listener(scope, member, run, &sender, expected, &done, &stop);
        // The sender's own copies (rfmp sends them back) and pings are read
        // and dropped, so its queue never fills.
        let drain = spawn(&members[0], None);
        let listeners: Vec<_> = members[1..].iter().map(|member| spawn(member, Some(m))).collect();
        let sent = (|| -> Outcome<()> {
            cpu_before = probe.sample()?;
            let start = Instant::now();
            start_ns = run.now_ns();
            for seq in 0..m {
                if let Some(interval) = interval {
                    let due = start + interval * seq as u32;
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                members[0].say(&room, &run.text(seq, args.size))?;
            }
            Ok(())
        })();
        done.store(true, Ordering::Relaxed);
        let mut results: Vec<Outcome<Heard>> = listeners
            .into_iter()
            .map(|l| match l {
                Ok(handle) => handle.join().unwrap_or_else(|_| Err("a listener panicked".into())),
                Err(e) => Err(format!("starting a listener thread: {e}")),
            })
            .collect();
        stop.store(true, Ordering::Relaxed);
        if let Ok(handle) = drain {
            let _ = handle.join();
        }
        if let Err(e) = sent {
            results.push(Err(e));
        }
        results
    });
    let after = probe.sample()?;
    let heard: Vec<Heard> = results.into_iter().collect::<Outcome<_>>()?;
    let mut latencies: Vec<u64> = heard.iter().flat_map(|h| h.latencies_ns.clone()).collect();
    let deliveries = latencies.len();
    let lost: usize = heard.iter().map(|h| h.lost).sum();
    let order: usize = heard.iter().map(|h| h.order_violations).sum();
    let end_ns = heard.iter().map(|h| h.last_ns).max().unwrap_or(start_ns);
    let seconds = (end_ns.saturating_sub(start_ns)) as f64 / 1e9;
    let rate = if seconds > 0.0 { deliveries as f64 / seconds } else { 0.0 };
    println!(
        "fanout: {n} members, {m} messages of {} bytes, {}: {deliveries} deliveries in {seconds:.3} s",
        args.size,
        args.rate.map_or("unpaced".to_string(), |r| format!("paced to {r:.0} deliveries/s"))
    );
    let mut line = format!(
        "result scenario=fanout target={} members={n} messages={m} size={} deliveries={deliveries} \
         deliveries_per_s={rate:.0} {} lost={lost} order_violations={order}",
        target_name(args.target),
        args.size,
        latency_line(&mut latencies)
    );
    if let (Some(cpu_before), Some(after), Some(before), Some(joined)) =
        (cpu_before, after, before, joined)
    {
        let cpu_us = (after.cpu_s - cpu_before.cpu_s) * 1e6 / deliveries.max(1) as f64;
        line += &format!(
            " server_cpu_us_per_delivery={cpu_us:.2} server_rss_kib={} server_hwm_kib={} \
             rss_per_client_kib={:.1} server_threads={}",
            joined.rss_kib,
            joined.hwm_kib,
            per_client(before, joined, n),
            joined.threads
        );
    }
    println!("{line}");
    Ok(())
}

fn target_name(target: Target) -> &'static str {
    match target {
        Target::Rfmp => "rfmp",
        Target::Irc => "irc",
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = if args.first().is_some_and(|a| a == "check") {
        self_check()
    } else {
        parse_args(&args).and_then(|args| run(&args))
    };
    if let Err(e) = outcome {
        eprintln!("load: {e}");
        std::process::exit(2);
    }
}

fn run(args: &Args) -> Outcome<()> {
    let run = Run::new();
    let probe = Probe::new(args.pid);
    if args.pid.is_none() {
        println!("no --pid: the server's CPU and memory are not sampled");
    }
    println!("run {} against {} at {}", run.id, target_name(args.target), args.addr);
    match args.scenario {
        Scenario::Fanout => fanout(args, &run, &probe),
        Scenario::Pair => pair(args, &run),
        Scenario::Idle => idle(args, &run, &probe),
        Scenario::Handshakes => handshakes(args, &probe),
    }
}

/// A room of two: member 0 says `messages` messages one at a time, each
/// after member 1 heard the one before; the latency of each, unloaded.
fn pair(args: &Args, run: &Run) -> Outcome<()> {
    let members = log_in(args, run, 2)?;
    let (room, sender) = (run.room(), run.name(0));
    let (done, stop) = (AtomicBool::new(false), AtomicBool::new(false));
    let mut latencies = Vec::with_capacity(args.messages);
    let mut lost = 0;
    std::thread::scope(|scope| -> Outcome<()> {
        // The sender's own copies and pings, read and dropped.
        let drain = spawn_listener(scope, &members[0], run, &sender, None, &done, &stop)
            .map_err(|e| format!("starting a thread: {e}"))?;
        let result = (|| -> Outcome<()> {
            for seq in 0..args.messages {
                let text = run.text(seq, args.size);
                let (_, sent) = parse_text(&text).ok_or("our own text does not parse")?;
                members[0].say(&room, &text)?;
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    if Instant::now() > deadline {
                        lost += 1;
                        break;
                    }
                    let Some(said) = members[1].hear(Duration::from_millis(200))? else {
                        continue;
                    };
                    let now = run.now_ns();
                    if said.from == sender && parse_text(&said.text) == Some((seq, sent)) {
                        latencies.push(now.saturating_sub(sent));
                        break;
                    }
                }
            }
            Ok(())
        })();
        done.store(true, Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        let _ = drain.join();
        result
    })?;
    println!(
        "pair: {} messages of {} bytes, one at a time, A -> server -> B",
        args.messages, args.size
    );
    println!(
        "result scenario=pair target={} messages={} size={} {} lost={lost}",
        target_name(args.target),
        args.messages,
        args.size,
        latency_line(&mut latencies)
    );
    Ok(())
}

/// The server's RSS growth from `before` to `after`, per client, KiB.
fn per_client(before: ProcSample, after: ProcSample, clients: usize) -> f64 {
    (after.rss_kib as f64 - before.rss_kib as f64) / clients as f64
}

/// `members` log in and stay; the server's memory and threads before and
/// after.
fn idle(args: &Args, run: &Run, probe: &Probe) -> Outcome<()> {
    let before = probe.sample()?;
    let members = log_in_idle(args, run, args.members)?;
    // The last login's answer can leave before its thread has settled.
    std::thread::sleep(Duration::from_millis(500));
    let after = probe.sample()?;
    let mut line = format!(
        "result scenario=idle target={} members={}",
        target_name(args.target),
        args.members
    );
    if let (Some(before), Some(after)) = (before, after) {
        let n = args.members as u64;
        line += &format!(
            " server_rss_kib={} server_hwm_kib={} rss_per_client_kib={:.1} server_threads={} \
             threads_per_client={:.2}",
            after.rss_kib,
            after.hwm_kib,
            per_client(before, after, args.members),
            after.threads,
            after.threads.saturating_sub(before.threads) as f64 / n as f64
        );
    }
    println!("{line}");
    drop(members);
    Ok(())
}

/// `messages` secured AES handshakes (steps 1-15) in a row, each hung up
/// at once; next to one RSA-2048 OAEP decryption (step 13.a.ii, the
/// server's one expensive step) timed here.
fn handshakes(args: &Args, probe: &Probe) -> Outcome<()> {
    let key = client_key()?;
    let mode = Mode::Secured { algorithm: Algorithm::Aes, client_public_key: key.to_public_key() };
    let mut rng = os_rng();
    let before = probe.sample()?;
    let start = Instant::now();
    for i in 0..args.messages {
        let stream = TcpStream::connect_timeout(&args.addr, Duration::from_secs(10))
            .map_err(|e| format!("handshake {i}: connect: {e}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        let (session, _) = client::handshake(Connection::new(stream), &mode, &mut rng)
            .map_err(|e| format!("handshake {i}: {e}"))?;
        drop(session); // hang up: the server sees the connection close
    }
    let seconds = start.elapsed().as_secs_f64();
    let after = probe.sample()?;
    let decrypt_us = rsa_decrypt_us()?;
    println!("handshakes: {} secured AES handshakes in a row in {seconds:.2} s", args.messages);
    let mut line = format!(
        "result scenario=handshakes target=rfmp handshakes={} handshakes_per_s={:.0} \
         rsa_decrypt_us={decrypt_us:.0}",
        args.messages,
        args.messages as f64 / seconds
    );
    if let (Some(before), Some(after)) = (before, after) {
        let cpu_us = (after.cpu_s - before.cpu_s) * 1e6 / args.messages as f64;
        line += &format!(" server_cpu_us_per_handshake={cpu_us:.0}");
    }
    println!("{line}");
    Ok(())
}

/// Mean microseconds of one RSA-2048 OAEP-SHA256 decryption with the
/// TEST-ONLY server key, after a warm-up.
fn rsa_decrypt_us() -> Outcome<f64> {
    let key = private_key_from_pem(include_str!("../tests/keys/TEST-ONLY-server-key.pem"))
        .map_err(|e| format!("the TEST-ONLY server key: {e}"))?;
    let ciphertext =
        encrypt_session_secret(&SessionSecret::Aes([7; 16]), &key.to_public_key(), &mut os_rng())
            .map_err(|e| format!("RSA encryption: {e}"))?;
    let runs = 50;
    let decrypt = || {
        key.oaep_decrypt::<Sha256>(&ciphertext)
            .map(std::hint::black_box)
            .map_err(|e| format!("RSA decryption: {e}"))
    };
    for _ in 0..5 {
        decrypt()?;
    }
    let start = Instant::now();
    for _ in 0..runs {
        decrypt()?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(runs))
}

/// `load check`: the parsing and statistics above, checked on known
/// inputs. (A bench without the test harness runs no `#[test]`, so the
/// checks are a command instead; `side-by-side.sh` runs it first.)
fn self_check() -> Outcome<()> {
    fn ensure(ok: bool, what: &str) -> Outcome<()> {
        if ok { Ok(()) } else { Err(format!("check failed: {what}")) }
    }
    let words =
        |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_string).collect() };
    let args = parse_args(&words("irc 127.0.0.1:6667 fanout --members 200 --bench"))?;
    ensure(
        args.target == Target::Irc && args.addr.port() == 6667 && args.scenario == Scenario::Fanout,
        "target, address and scenario are read",
    )?;
    ensure(
        (args.members, args.messages, args.size, args.rate, args.pid)
            == (200, 200, 100, None, None),
        "defaults, and cargo's --bench ignored",
    )?;
    let args = parse_args(&words("rfmp 127.0.0.1:1 pair --rate 500 --pid 42"))?;
    ensure(args.rate == Some(500.0) && args.pid == Some(42), "--rate and --pid are read")?;
    for (line, expected) in [
        ("rfmp 127.0.0.1:1", "expected TARGET HOST:PORT SCENARIO"),
        ("smtp 127.0.0.1:1 pair", "expected rfmp or irc"),
        ("rfmp localhost pair", "expected HOST:PORT"),
        ("irc 127.0.0.1:1 handshakes", "rfmp scenario"),
        ("rfmp 127.0.0.1:1 pair --size 5000", "--size"),
        ("rfmp 127.0.0.1:1 pair --rate 0", "above 0"),
        ("rfmp 127.0.0.1:1 pair --members", "needs a value"),
    ] {
        let refused = parse_args(&words(line)).err().unwrap_or_default();
        ensure(refused.contains(expected), &format!("{line:?} is refused with {expected:?}"))?;
    }
    let values: Vec<u64> = (1..=100).collect();
    ensure(
        (percentile(&values, 50.0), percentile(&values, 99.0), percentile(&values, 100.0))
            == (50, 99, 100),
        "nearest-rank percentiles of 1..=100",
    )?;
    ensure(
        percentile(&[7], 50.0) == 7 && percentile(&[], 50.0) == 0,
        "percentiles of 1 and 0 values",
    )?;
    let run = Run::new();
    let text = run.text(12, 100);
    ensure(text.len() == 100, "a message text has the size asked for")?;
    ensure(
        parse_text(&text).is_some_and(|(seq, sent)| seq == 12 && sent <= run.now_ns()),
        "a message text carries its sequence number and send time",
    )?;
    ensure(
        split_irc(":l1a2b3!~l@127.0.0.1 PRIVMSG #load :0 5 xx")
            == Some(("l1a2b3", "PRIVMSG", "#load :0 5 xx")),
        "an IRC line splits into nick, command and the rest",
    )?;
    println!("load: checks passed");
    Ok(())
}
