//! The handshake: steps 1 to 15, the part of RFMP that the seed's flow
//! write-up numbers (`lessons/00-flow.md`).
//!
//! Read it as the flow: [`client::handshake`] and [`server::handshake`] run
//! the two halves in order, each step a short function of its own; the step
//! modules hold what the steps build and check, under the names the
//! write-up gives them:
//!
//! - [`packets`]: build every handshake packet (steps 1, 6, 10, 14).
//! - [`checks`]: decide what a received packet means (steps 4, 8, 15).
//! - [`helpers`]: public keys to and from PEM text, fingerprints, base64,
//!   randomness (step 9).
//! - [`decryption`]: the server recovers the session secret (step 13).
//!
//! Those six files, the two halves and the four step modules, are the
//! handshake as the write-up tells it: read `client.rs` and `server.rs`
//! side by side, and open a step module when a step calls into it. The
//! rest supports them (a few steps call into [`framing`] and [`session`]
//! too, for reading a packet and deriving the session key):
//!
//! - [`framing`]: cut whole packets out of the TCP byte stream and read
//!   their fields ([`framing::Packet`]), with the deadlines a server's
//!   handshake reads under.
//! - [`keys`]: the RSA key pairs: generated, the server's [`keys::ServerKey`],
//!   read from and written to files.
//! - [`session`]: the session ciphers none, Caesar and AES-128-EAX that
//!   the handshake sets up.
//! - [`trust`]: whether to believe the key of step 9.a: the server's key
//!   kept across restarts, and the client's known-servers file (trust on
//!   first use, as OpenSSH).
//! - [`observe`]: how the two flows report each step as it happens, and
//!   [`observe::STEPS`], the table of every step.
//! - [`Profile`]: which protocol runs after step 13: rfmp's (the SC
//!   confirmation, then frames) or the seed's original (no SC, course
//!   command packets, [`crate::seed`]).
//!
//! This folder uses only [`crate::error`] and the crates for RSA, AES,
//! base64 and randomness: nothing of the link, the chat or the teaching
//! tools. Everything after the handshake builds on it.

pub mod checks;
pub mod client;
pub mod decryption;
pub mod framing;
pub mod helpers;
pub mod keys;
pub mod observe;
pub mod packets;
pub mod server;
pub mod session;
pub mod trust;

/// Which protocol a side speaks after step 13: chosen by the user
/// (`rfmp server --profile seed`, `rfmp client --profile seed`), never
/// guessed from the wire.
///
/// Both profiles run steps 1-13 byte for byte alike (SS, CC, EC). They
/// differ after that:
///
/// - [`Profile::Rfmp`]: the server seals a confirmation, `(SC,<sealed>)`
///   (step 14.a), the client checks it (step 15.a), then frames (steps
///   16-17).
/// - [`Profile::Seed`]: the seed's original Python code: no SC at all
///   (steps 14-15 are skipped, after EC and after `(CC)` alike), then the
///   course command packets of [`crate::seed`]: `(CM,openRead,<file>)`,
///   `(DP,<payload>)`, `(End)`...
///
/// ```
/// use rfmp::handshake::Profile;
/// assert_eq!("seed".parse::<Profile>()?, Profile::Seed);
/// assert_eq!(Profile::default().as_str(), "rfmp");
/// # Ok::<(), rfmp::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// rfmp's protocol, steps 1-17: the handshake with its SC, then frames.
    /// The default.
    #[default]
    Rfmp,
    /// The seed's original: steps 1-13 (no SC), then course commands.
    Seed,
}

impl Profile {
    /// `rfmp` or `seed`, as the `--profile` flag spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Rfmp => "rfmp",
            Profile::Seed => "seed",
        }
    }

    /// True when steps 14-15 (the SC confirmation) run: only in
    /// [`Profile::Rfmp`].
    pub fn confirms(self) -> bool {
        self == Profile::Rfmp
    }
}

impl std::str::FromStr for Profile {
    type Err = crate::Error;

    /// Parse `rfmp` or `seed`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidChoice`] for anything else.
    fn from_str(text: &str) -> crate::Result<Profile> {
        match text {
            "rfmp" => Ok(Profile::Rfmp),
            "seed" => Ok(Profile::Seed),
            other => Err(crate::Error::InvalidChoice {
                given: other.to_string(),
                expected: "the profile rfmp or seed",
            }),
        }
    }
}
