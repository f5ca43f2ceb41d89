//! The program's errors: the library's, a local file's, or a silent peer.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why the program stops: an error of the library, or of a local file
/// (named with what was being done to which path).
#[derive(Debug)]
pub enum CliError {
    /// The protocol, the network, the server's answers.
    Rfmp(rfmp::Error),
    /// A local file: `cannot <doing> <path>: <why>`.
    File {
        /// What was being done, e.g. `read the private key`.
        doing: String,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// A server that accepted the connection and sent no CC packet (step
    /// 2) within `seconds`.
    NoAnswer {
        /// `HOST:PORT`.
        server: String,
        /// How long the client waited.
        seconds: u64,
    },
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Rfmp(error) => error.fmt(f),
            CliError::File { doing, path, why } => {
                write!(f, "cannot {doing} {}: {why}", path.display())
            }
            CliError::NoAnswer { server, seconds } => {
                write!(f, "no RFMP answer from {server} after {seconds} s: is this an RFMP server?")
            }
        }
    }
}

impl From<rfmp::Error> for CliError {
    fn from(error: rfmp::Error) -> CliError {
        CliError::Rfmp(error)
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> CliError {
        CliError::Rfmp(rfmp::Error::Io(error))
    }
}

/// A local file error, e.g. `file_error("read the private key", path, e)`
/// shows as `cannot read the private key keys/me.pem: No such file...`.
pub fn file_error(doing: &str, path: &Path, why: impl fmt::Display) -> CliError {
    CliError::File { doing: doing.to_string(), path: path.to_path_buf(), why: why.to_string() }
}

/// The result of the program's pieces.
pub type CliResult<T> = Result<T, CliError>;
