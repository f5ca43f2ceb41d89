//! `rfmp check`: a black-box conformance suite for RFMP servers and clients,
//! in the manner of h2spec.
//!
//! Why one long file: it is the catalogue of every check and diagnosis and
//! the report's two formats, which a grader reads together.
//!
//! A learner points it at *their* implementation and learns exactly which
//! step is wrong:
//!
//! - [`run_server`] connects to a server under test and runs each server
//!   check on a fresh connection, each within [`Options::timeout`], so a
//!   silent server fails a check instead of hanging it;
//! - [`serve_clients`] listens for clients under test and grades each one
//!   that connects, one after the other (a teacher can grade a class).
//!
//! Every check ([`Check`]) has an id made of a step that the side under
//! test runs and a number (`4.a-1`, `16.e-1`), a level (MUST or SHOULD),
//! the clauses of `SPEC.md` it verifies (`§5.a-1`, `§KEY-2`), a one-line
//! statement of what the tester sends, and the lesson to read. Check ids
//! and clause ids are counted separately: the check `4.a-3` tests the
//! clause `§4.a-2`, so the report names both: each result line ends with
//! the check's clauses, and a failure's with `SPEC`, the clauses and the
//! lesson. A failure then says what was expected and what came back (bytes
//! escaped and cut), and, when the peer does what a known variant does,
//! names it and says what to change ([`Diagnosis`]). The summary comes
//! last: each failure again with its level and clauses, then the line
//! `N passed, N failed`. Below, a server that writes its key as PKCS#1:
//! the checks that need the key to encrypt a secret fail with it.
//!
//! ```text
//! ✓ 4.a-1   MUST   answers (CC) to (SS,RFMP,v1.0,0) (§5.a-1, §6.a-1)
//! ✓ 7.a-1   MUST   answers (CC,<key>) to (SS,RFMP,v1.0,1) (§5.a-1, §6.a-1)
//! ...
//! ✗ 6.a-2   MUST   the key is an SPKI PEM of an RSA key of at least 2048 bits (SPEC §6.a-1, §KEY-1, §KEY-2; lessons/02-server-key.md)
//!     sent      (SS,RFMP,v1.0,1)
//!     expected  an SPKI PEM RSA key of at least 2048 bits (bad RSA public key: expected PEM text starting with -----BEGIN PUBLIC KEY-----)
//!     got       -----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA0AxvTicyTG5INvK8seSy18PvfrL6aKh2NJvEfh3N3prMiNijkNfv\nJfcxFyemfzSMk14/YiuLh6... (425 bytes in all)
//!     diagnosis the key as PKCS#1 (-----BEGIN RSA PUBLIC KEY-----) instead of SubjectPublicKeyInfo
//!     change    write the key as SubjectPublicKeyInfo, -----BEGIN PUBLIC KEY----- (Python: PublicFormat.SubjectPublicKeyInfo; lessons/02-server-key.md)
//! ✓ 3.a-1   MUST   reads a start packet that arrives byte by byte (§3.a-1, §SYN-4)
//! ...
//!
//! ...
//! failed 6.a-2 (MUST, SPEC §6.a-1, §KEY-1, §KEY-2): the key as PKCS#1 (-----BEGIN RSA PUBLIC KEY-----) instead of SubjectPublicKeyInfo
//! ...
//! 11 passed, 11 failed
//! ```
//!
//! Profiles ([`Profile`]): `rfmp` checks this crate's protocol, steps 1-17;
//! `seed` checks the seed's original, which sends no SC after the EC packet
//! (steps 14-17 are skipped; its course commands are not checked);
//! `auto` decides from what the peer does.
//!
//! The CLI maps [`Report::exit_code`] to the process's exit status: 1 when
//! any MUST check failed, 0 otherwise.

mod client;
pub mod diagnose;
mod server;
mod wire;

pub use client::{listen, serve_clients};
pub use diagnose::Diagnosis;
pub use server::run_server;
pub use wire::escape;

use anstyle::{AnsiColor, Style};
use serde_json::{Value, json};
use std::io::Write;
use std::time::Duration;

/// How much a check matters: a MUST failure makes the run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Required for interoperability: a failure sets a non-zero exit code.
    Must,
    /// Recommended: reported, but the run still succeeds.
    Should,
}

impl Level {
    /// `MUST` or `SHOULD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }
}

/// Which side a check tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `rfmp check server`: the peer under test is a server.
    Server,
    /// `rfmp check client`: the peer under test is a client.
    Client,
}

/// Which protocol the peer is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// rfmp's protocol: the handshake with its SC (steps 1-15), then frames
    /// (16, 17). The default.
    Rfmp,
    /// The seed's original: no SC after EC, course commands afterwards
    /// (`lessons/04-confirmation.md`: the original stops at 13). Checks that need an
    /// SC or frames are skipped; the commands are not checked.
    Seed,
    /// Decide from the peer: a server that sends an SC after EC is held to
    /// `rfmp`, one that stays silent to `seed`. Clients are held to `rfmp`
    /// (a client under test cannot show which it speaks before the SC).
    Auto,
}

impl Profile {
    /// `rfmp`, `seed` or `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Rfmp => "rfmp",
            Profile::Seed => "seed",
            Profile::Auto => "auto",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = crate::Error;

    /// Parse `rfmp`, `seed` or `auto`.
    fn from_str(text: &str) -> crate::Result<Profile> {
        match text {
            "rfmp" => Ok(Profile::Rfmp),
            "seed" => Ok(Profile::Seed),
            "auto" => Ok(Profile::Auto),
            other => Err(crate::Error::InvalidChoice {
                given: other.to_string(),
                expected: "the profile rfmp, seed or auto",
            }),
        }
    }
}

/// How a run is made and shown.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long one check may take (default 3 s): a peer silent for that
    /// long fails the check.
    pub timeout: Duration,
    /// The protocol the peer is held to (default [`Profile::Rfmp`]).
    pub profile: Profile,
    /// Run only the checks whose id starts with this, e.g. `16.` or `4.a-1`.
    pub only: Option<String>,
    /// Print one JSON document per report instead of lines (for graders).
    pub json: bool,
    /// Colour the ticks and crosses; by default, when standard output is a
    /// terminal ([`std::io::IsTerminal`]).
    pub color: bool,
    /// `serve_clients`: stop after grading this many clients (`None`:
    /// forever).
    pub clients: Option<usize>,
}

impl Default for Options {
    fn default() -> Options {
        use std::io::IsTerminal;
        Options {
            timeout: Duration::from_secs(3),
            profile: Profile::Rfmp,
            only: None,
            json: false,
            color: std::io::stdout().is_terminal(),
            clients: None,
        }
    }
}

impl Options {
    /// Does the filter select `check`?
    fn selects(&self, check: &Check) -> bool {
        self.only.as_deref().is_none_or(|prefix| check.id.starts_with(prefix))
    }
}

/// One conformance check: what it tests, which clauses of `SPEC.md` it
/// holds the peer to, and where to learn about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// The step it tests and a number, e.g. `4.a-1`: the step is one that
    /// the side under test runs (a server check about the key names the
    /// server's step 6.a, which writes it, not the client's 8.a, which
    /// reads it). Unique per side; the numbers after the dash count the
    /// checks of that step, not the clauses of `SPEC.md` ([`Check::clauses`]).
    pub id: &'static str,
    /// Whether it tests servers or clients.
    pub side: Side,
    /// MUST or SHOULD.
    pub level: Level,
    /// The requirement, in one line, e.g. `answers (CC) to (SS,RFMP,v1.0,0)`.
    pub title: &'static str,
    /// What the tester sends, in one line.
    pub sends: &'static str,
    /// The lesson that explains the requirement, e.g. `lessons/01-start.md`.
    pub lesson: &'static str,
    /// The clauses of `SPEC.md` whose MUST or SHOULD the check verifies,
    /// written as the specification writes them, e.g. `["§6.a-1",
    /// "§KEY-2"]`: at least one. A clause id and a check id are different
    /// things: the check `8.a-1` tests the clause `§8.a-1`, but the check
    /// `4.a-3` (a wrong version) tests `§4.a-2`, not `§4.a-3` (a bad flag).
    pub clauses: &'static [&'static str],
    /// Whether the check needs rfmp's SC (and so is skipped under `seed`).
    pub needs_sc: bool,
}

use Level::{Must, Should};
use Side::{Client as C, Server as S};

const START: &str = "lessons/01-start.md";
const KEY: &str = "lessons/02-server-key.md";
const ENCRYPTION: &str = "lessons/03-encryption.md";
const CONFIRMATION: &str = "lessons/04-confirmation.md";
const ERRORS: &str = "lessons/06-errors.md";
const FRAMES: &str = "lessons/07-frames.md";
const RELIABILITY: &str = "lessons/07b-reliability.md";
const LINK: &str = "lessons/07c-link.md";
const CHAT: &str = "lessons/09-chat.md";

/// Every check, servers' first, in the order they run.
pub const CHECKS: &[Check] = &[
    Check {
        id: "4.a-1",
        side: S,
        level: Must,
        title: "answers (CC) to (SS,RFMP,v1.0,0)",
        sends: "(SS,RFMP,v1.0,0)",
        lesson: START,
        clauses: &["§5.a-1", "§6.a-1"],
        needs_sc: false,
    },
    Check {
        id: "7.a-1",
        side: S,
        level: Must,
        title: "answers (CC,<key>) to (SS,RFMP,v1.0,1)",
        sends: "(SS,RFMP,v1.0,1)",
        lesson: KEY,
        clauses: &["§5.a-1", "§6.a-1"],
        needs_sc: false,
    },
    Check {
        id: "6.a-1",
        side: S,
        level: Should,
        title: "writes the key as the seed did: 64-character lines, LF, no trailing newline",
        sends: "(SS,RFMP,v1.0,1)",
        lesson: KEY,
        clauses: &["§6.a-1", "§KEY-2"],
        needs_sc: false,
    },
    Check {
        id: "6.a-2",
        side: S,
        level: Must,
        title: "the key is an SPKI PEM of an RSA key of at least 2048 bits",
        sends: "(SS,RFMP,v1.0,1)",
        lesson: KEY,
        clauses: &["§6.a-1", "§KEY-1", "§KEY-2"],
        needs_sc: false,
    },
    Check {
        id: "3.a-1",
        side: S,
        level: Must,
        title: "reads a start packet that arrives byte by byte",
        sends: "(SS,RFMP,v1.0,0) in 16 writes",
        lesson: START,
        clauses: &["§3.a-1", "§SYN-4"],
        needs_sc: false,
    },
    Check {
        id: "12.a-1",
        side: S,
        level: Must,
        title: "reads SS and EC that arrive in one write",
        sends: "(SS,RFMP,v1.0,1)(EC,aes,...) in one write",
        lesson: CONFIRMATION,
        clauses: &["§12.a-1", "§SYN-4"],
        needs_sc: true,
    },
    Check {
        id: "13.a-1",
        side: S,
        level: Must,
        title: "decrypts an OAEP-SHA-256 secret (the SC that follows proves it)",
        sends: "(SS,RFMP,v1.0,1), then (EC,aes,<OAEP-SHA-256 secret>,<key>)",
        lesson: ENCRYPTION,
        clauses: &["§13.a.ii-1"],
        needs_sc: true,
    },
    Check {
        id: "13.a-2",
        side: S,
        level: Must,
        title: "decrypts a Caesar shift (the SC that follows proves it)",
        sends: "(SS,RFMP,v1.0,1), then (EC,caesar,<secret>,<key>)",
        lesson: ENCRYPTION,
        clauses: &["§13.a.ii-1"],
        needs_sc: true,
    },
    Check {
        id: "14.a-1",
        side: S,
        level: Must,
        title: "sends a server nonce, seals the confirmation with AES-128-EAX under the derived key",
        sends: "an aes handshake",
        lesson: CONFIRMATION,
        clauses: &["§14.a.i-1", "§14.a.ii-1", "§14.a-2", "§CIPH-3"],
        needs_sc: true,
    },
    Check {
        id: "14.a-2",
        side: S,
        level: Must,
        title: "sends a server nonce, seals the confirmation with the derived Caesar shift",
        sends: "a caesar handshake",
        lesson: CONFIRMATION,
        clauses: &["§14.a.i-1", "§14.a.ii-1", "§14.a-2", "§CIPH-2"],
        needs_sc: true,
    },
    Check {
        id: "14.a-3",
        side: S,
        level: Must,
        title: "confirms an unsecured session with exactly (SC)",
        sends: "(SS,RFMP,v1.0,0)",
        lesson: CONFIRMATION,
        clauses: &["§7.b-1", "§14.a-1"],
        needs_sc: true,
    },
    Check {
        id: "14.a-4",
        side: S,
        level: Must,
        title: "answers a replayed EC packet with a new server nonce",
        sends: "the same (EC,aes,...) bytes on two connections",
        lesson: CONFIRMATION,
        clauses: &["§14.a.i-1"],
        needs_sc: true,
    },
    Check {
        id: "4.a-3",
        side: S,
        level: Must,
        title: "refuses a wrong version with (EE,...) or a close",
        sends: "(SS,RFMP,v9.9,1)",
        lesson: ERRORS,
        clauses: &["§4.a-2"],
        needs_sc: false,
    },
    Check {
        id: "4.a-4",
        side: S,
        level: Must,
        title: "refuses a malformed packet with (EE,...) or a close",
        sends: "(SS RFMP v1.0 1)",
        lesson: ERRORS,
        clauses: &["§4.a-1"],
        needs_sc: false,
    },
    Check {
        id: "3.a-2",
        side: S,
        level: Must,
        title: "refuses an oversized packet with (EE,...) or a close",
        sends: "8 KiB after (SS, with no closing parenthesis",
        lesson: ERRORS,
        clauses: &["§SYN-6", "§SEC-9"],
        needs_sc: false,
    },
    Check {
        id: "13.a-3",
        side: S,
        level: Must,
        title: "refuses an unknown algorithm with (EE,...) or a close",
        sends: "(EC,des,<secret>,<key>) after the CC",
        lesson: ERRORS,
        clauses: &["§13.a.i-1"],
        needs_sc: false,
    },
    Check {
        id: "16.g-1",
        side: S,
        level: Must,
        title: "acknowledges in order",
        sends: "(DP,0,...), then (DP,1,...), unsecured",
        lesson: RELIABILITY,
        clauses: &["§16.g-2"],
        needs_sc: true,
    },
    Check {
        id: "16.g-2",
        side: S,
        level: Must,
        title: "acknowledges two frames that arrive in one write",
        sends: "(DP,0,...)(DP,1,...) in one write, unsecured",
        lesson: RELIABILITY,
        clauses: &["§16.g-2", "§SYN-4"],
        needs_sc: true,
    },
    Check {
        id: "16.e-1",
        side: S,
        level: Must,
        title: "NKs a damaged frame",
        sends: "(DP,0,...) with a wrong CRC, unsecured",
        lesson: FRAMES,
        clauses: &["§16.e-1", "§EE-4"],
        needs_sc: true,
    },
    Check {
        id: "16.f-1",
        side: S,
        level: Must,
        title: "opens an AES-sealed frame and acknowledges it",
        sends: "(DP,0,...) sealed with AES-128-EAX",
        lesson: FRAMES,
        clauses: &["§16.f-1", "§FRM-4"],
        needs_sc: true,
    },
    Check {
        id: "17.b-1",
        side: S,
        level: Must,
        title: "answers End with End",
        sends: "(End,0,...) sealed with AES-128-EAX",
        lesson: LINK,
        clauses: &["§17.a-1", "§17.b-1"],
        needs_sc: true,
    },
    Check {
        id: "chat-1",
        side: S,
        level: Should,
        title: "echoes a plain-text message sent before login (the link check)",
        sends: "(DP,0,...) carrying {\"action\":\"message\",\"data\":\"hello from rfmp check\",...}, unsecured",
        lesson: CHAT,
        clauses: &["§APP-4"],
        needs_sc: true,
    },
    Check {
        id: "1.b-1",
        side: C,
        level: Must,
        title: "opens with (SS,RFMP,v1.0,0) or (SS,RFMP,v1.0,1)",
        sends: "nothing: it waits for the client",
        lesson: START,
        clauses: &["§1.b-1", "§2.a-1"],
        needs_sc: false,
    },
    Check {
        id: "8.a-1",
        side: C,
        level: Must,
        title: "reads a CC packet that arrives in pieces",
        sends: "(CC) or (CC,<key>) in 3 writes",
        lesson: KEY,
        clauses: &["§8.a-1", "§SYN-4"],
        needs_sc: false,
    },
    Check {
        id: "10.a-1",
        side: C,
        level: Must,
        title: "names aes or caesar in the EC packet",
        sends: "(CC,<key>)",
        lesson: ENCRYPTION,
        clauses: &["§10.a.i-1"],
        needs_sc: false,
    },
    Check {
        id: "10.a-2",
        side: C,
        level: Must,
        title: "encrypts the secret with RSA-OAEP-SHA-256 under the server's key",
        sends: "(CC,<key>)",
        lesson: ENCRYPTION,
        clauses: &["§10.a.ii.1.b-1", "§10.a.ii.2.b-1"],
        needs_sc: false,
    },
    Check {
        id: "10.a-3",
        side: C,
        level: Must,
        title: "sends its key as an SPKI PEM of an RSA key of at least 2048 bits",
        sends: "(CC,<key>)",
        lesson: ENCRYPTION,
        clauses: &["§10.a.iii-1", "§KEY-1", "§KEY-2"],
        needs_sc: false,
    },
    Check {
        id: "15.a-1",
        side: C,
        level: Must,
        title: "accepts the SC and reads a frame that arrives in the same write",
        sends: "(SC,...)(DP,0,...) in one write",
        lesson: CONFIRMATION,
        clauses: &["§15.a-1", "§15.a-2", "§SYN-4"],
        needs_sc: true,
    },
    Check {
        id: "16.e-1",
        side: C,
        level: Must,
        title: "NKs a damaged frame",
        sends: "(DP,1,...) with a wrong CRC",
        lesson: FRAMES,
        clauses: &["§16.e-1", "§EE-4"],
        needs_sc: true,
    },
    Check {
        id: "16.g-1",
        side: C,
        level: Must,
        title: "acknowledges in order",
        sends: "(DP,1,...) again, intact",
        lesson: RELIABILITY,
        clauses: &["§16.g-2"],
        needs_sc: true,
    },
    Check {
        id: "17.b-1",
        side: C,
        level: Must,
        title: "answers End with End",
        sends: "(End,2,...)",
        lesson: LINK,
        clauses: &["§17.a-1", "§17.b-1"],
        needs_sc: true,
    },
];

/// Every check, servers' first: what `--list` shows.
pub fn list() -> &'static [Check] {
    CHECKS
}

/// Write the checks of `side` (both sides when `None`) that `options`
/// selects, one line each: side, id, level, requirement, then what is
/// sent, the clauses and the lesson, e.g.
///
/// ```text
/// server 6.a-2   MUST   the key is an SPKI PEM of an RSA key of at least 2048 bits (sends (SS,RFMP,v1.0,1); SPEC §6.a-1, §KEY-1, §KEY-2; lessons/02-server-key.md)
/// ```
///
/// # Errors
/// [`crate::Error::Io`] when `out` fails.
pub fn write_list(side: Option<Side>, options: &Options, out: &mut dyn Write) -> crate::Result<()> {
    for check in CHECKS.iter().filter(|c| side.is_none_or(|s| s == c.side) && options.selects(c)) {
        let side = match check.side {
            Side::Server => "server",
            Side::Client => "client",
        };
        writeln!(
            out,
            "{side} {:<7} {:<6} {} (sends {}; SPEC {}; {})",
            check.id,
            check.level.as_str(),
            check.title,
            check.sends,
            check.clauses.join(", "),
            check.lesson
        )?;
    }
    Ok(())
}

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the tester expected, in words or bytes.
    pub expected: String,
    /// What came back, bytes escaped and cut to a readable length.
    pub got: String,
    /// The known variant the peer behaves like, if recognised.
    pub diagnosis: Option<Diagnosis>,
}

impl Failure {
    fn new(expected: impl Into<String>, got: impl Into<String>) -> Failure {
        Failure { expected: expected.into(), got: got.into(), diagnosis: None }
    }

    fn because(mut self, diagnosis: Option<Diagnosis>) -> Failure {
        if self.diagnosis.is_none() {
            self.diagnosis = diagnosis;
        }
        self
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The peer did what the check requires.
    Passed,
    /// It did not.
    Failed(Failure),
    /// The check does not apply (e.g. it needs an SC under `--profile
    /// seed`, or the client chose an unsecured session); the reason says why.
    Skipped(String),
}

/// One check and its outcome.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check that ran.
    pub check: &'static Check,
    /// How it went.
    pub outcome: Outcome,
}

/// Everything one run found about one peer.
#[derive(Debug, Clone)]
pub struct Report {
    /// The peer's address.
    pub peer: String,
    /// The profile the peer was held to (after `auto` decided).
    pub profile: Profile,
    /// One result per selected check, in order.
    pub results: Vec<CheckResult>,
}

impl Report {
    fn count(&self, pick: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| pick(&r.outcome)).count()
    }

    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed))
    }

    /// How many checks failed (MUST and SHOULD).
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    /// How many checks did not apply.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }

    /// How many MUST checks failed.
    pub fn must_failures(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.check.level == Level::Must && matches!(r.outcome, Outcome::Failed(_)))
            .count()
    }

    /// The exit code for the CLI: 1 when any MUST check failed, else 0.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.must_failures() > 0)
    }

    /// The diagnoses this report found, each once, in order.
    pub fn diagnoses(&self) -> Vec<Diagnosis> {
        let mut found = Vec::new();
        for result in &self.results {
            if let Outcome::Failed(Failure { diagnosis: Some(d), .. }) = &result.outcome
                && !found.contains(d)
            {
                found.push(*d);
            }
        }
        found
    }

    /// The report as JSON, for graders:
    /// `{"peer":..., "profile":..., "passed":N, "failed":N, "skipped":N,
    /// "checks":[{"id","level","title","sends","lesson","clauses","outcome",
    /// ...}]}`, `clauses` being the check's [`Check::clauses`], e.g.
    /// `["§6.a-1","§KEY-2"]`.
    pub fn to_json(&self) -> Value {
        let checks: Vec<Value> = self
            .results
            .iter()
            .map(|r| {
                let mut v = json!({
                    "id": r.check.id,
                    "level": r.check.level.as_str(),
                    "title": r.check.title,
                    "sends": r.check.sends,
                    "lesson": r.check.lesson,
                    "clauses": r.check.clauses,
                });
                match &r.outcome {
                    Outcome::Passed => v["outcome"] = json!("passed"),
                    Outcome::Skipped(why) => {
                        v["outcome"] = json!("skipped");
                        v["reason"] = json!(why);
                    }
                    Outcome::Failed(f) => {
                        v["outcome"] = json!("failed");
                        v["expected"] = json!(f.expected);
                        v["got"] = json!(f.got);
                        if let Some(d) = f.diagnosis {
                            v["diagnosis"] = json!({
                                "name": d.name(), "what": d.what(), "fix": d.fix()
                            });
                        }
                    }
                }
                v
            })
            .collect();
        json!({
            "peer": self.peer,
            "profile": self.profile.as_str(),
            "passed": self.passed(),
            "failed": self.failed(),
            "skipped": self.skipped(),
            "must_failures": self.must_failures(),
            "checks": checks,
        })
    }
}

/// Styles for the marks, plain when colour is off.
fn style(color: bool, c: AnsiColor) -> Style {
    if color { Style::new().fg_color(Some(c.into())).bold() } else { Style::new() }
}

/// Write one result line (and, for a failure, its explanation). A passed
/// check ends with its clauses, `(§5.a-1, §6.a-1)`; a failed one with its
/// clauses and its lesson, `(SPEC §6.a-1, §KEY-2; lessons/02-server-key.md)`,
/// then what was sent, expected and got, and the diagnosis if any.
fn write_result(out: &mut dyn Write, result: &CheckResult, color: bool) -> std::io::Result<()> {
    let c = result.check;
    let (mark, s) = match &result.outcome {
        Outcome::Passed => ("✓", style(color, AnsiColor::Green)),
        Outcome::Failed(_) => ("✗", style(color, AnsiColor::Red)),
        Outcome::Skipped(_) => ("-", style(color, AnsiColor::Yellow)),
    };
    write!(out, "{s}{mark}{s:#} {:<7} {:<6} {}", c.id, c.level.as_str(), c.title)?;
    let clauses = c.clauses.join(", ");
    match &result.outcome {
        Outcome::Passed => writeln!(out, " ({clauses})"),
        Outcome::Skipped(why) => writeln!(out, " (skipped: {why})"),
        Outcome::Failed(f) => {
            writeln!(out, " (SPEC {clauses}; {})", c.lesson)?;
            writeln!(out, "    sent      {}", c.sends)?;
            writeln!(out, "    expected  {}", f.expected)?;
            writeln!(out, "    got       {}", f.got)?;
            if let Some(d) = f.diagnosis {
                writeln!(out, "    diagnosis {}", d.what())?;
                writeln!(out, "    change    {}", d.fix())?;
            }
            Ok(())
        }
    }
}

/// Write the summary: the failures again (id, level, clauses and
/// diagnosis), then the line `N passed, N failed`, last.
fn write_summary(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    writeln!(out)?;
    for result in &report.results {
        if let Outcome::Failed(f) = &result.outcome {
            let named = f.diagnosis.map(|d| format!(": {}", d.what())).unwrap_or_default();
            writeln!(
                out,
                "failed {} ({}, SPEC {}){named}",
                result.check.id,
                result.check.level.as_str(),
                result.check.clauses.join(", ")
            )?;
        }
    }
    if report.skipped() > 0 {
        writeln!(out, "{} skipped", report.skipped())?;
    }
    writeln!(out, "{} passed, {} failed", report.passed(), report.failed())
}

/// Runs checks one by one, printing each line as it completes.
struct Runner<'a> {
    options: &'a Options,
    out: &'a mut dyn Write,
    report: Report,
}

impl<'a> Runner<'a> {
    fn new(options: &'a Options, out: &'a mut dyn Write, peer: String, profile: Profile) -> Self {
        Runner { options, out, report: Report { peer, profile, results: Vec::new() } }
    }

    fn header(&mut self, what: &str) -> std::io::Result<()> {
        if !self.options.json {
            writeln!(
                self.out,
                "rfmp check {what} {} (profile {})",
                self.report.peer,
                self.report.profile.as_str()
            )?;
        }
        Ok(())
    }

    /// The checks of `side` that the options select.
    fn selected(&self, side: Side) -> Vec<&'static Check> {
        CHECKS.iter().filter(|c| c.side == side && self.options.selects(c)).collect()
    }

    /// Record (and print) an outcome; under `seed`, a check that needs the
    /// SC is skipped whatever `outcome` says.
    fn record(&mut self, check: &'static Check, outcome: Outcome) -> std::io::Result<()> {
        let outcome = if check.needs_sc && self.report.profile == Profile::Seed {
            Outcome::Skipped("the seed profile has no SC and no frames".into())
        } else {
            outcome
        };
        let result = CheckResult { check, outcome };
        if !self.options.json {
            write_result(self.out, &result, self.options.color)?;
        }
        self.report.results.push(result);
        Ok(())
    }

    fn finish(self) -> crate::Result<Report> {
        if self.options.json {
            writeln!(self.out, "{}", self.report.to_json())?;
        } else {
            write_summary(self.out, &self.report)?;
        }
        Ok(self.report)
    }
}

/// The TEST-ONLY client key's public half, sent in the checker's EC packets.
const CHECKER_CLIENT_PUBLIC_PEM: &str =
    include_str!("../../tests/keys/TEST-ONLY-client-public.pem");
/// The TEST-ONLY server key, the checker's key when it plays the server.
const CHECKER_SERVER_KEY_PEM: &str = include_str!("../../tests/keys/TEST-ONLY-server-key.pem");
