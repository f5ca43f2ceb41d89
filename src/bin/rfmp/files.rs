//! `rfmp send-file`, and the progress bar it shares with `/send`.

use crate::args::ConnectArgs;
use crate::connect::connect;
use crate::{CliResult, file_error};
use indicatif::{ProgressBar, ProgressStyle};
use rfmp::link::Faults;
use std::path::Path;

/// Check that `path` is a file this client may send (it exists, can be
/// read, is at most `max_bytes`) and return its size, before anything is
/// sent or even connected.
///
/// # Errors
/// A [`crate::CliError::File`] naming the path and what is wrong.
pub fn check_file_to_send(path: &Path, max_bytes: u64) -> CliResult<u64> {
    let doing = "send the file";
    let metadata = std::fs::metadata(path).map_err(|e| file_error(doing, path, e))?;
    if !metadata.is_file() {
        return Err(file_error(doing, path, "it is not a file"));
    }
    std::fs::File::open(path).map_err(|e| file_error(doing, path, e))?;
    if metadata.len() > max_bytes {
        return Err(file_error(
            doing,
            path,
            format!("it is {} bytes; files are limited to {max_bytes} bytes", metadata.len()),
        ));
    }
    Ok(metadata.len())
}

/// `rfmp send-file PATH`: check the file, connect and log in, send it
/// ([`rfmp::chat::client::Client::send_file`]) with a progress bar, and
/// report what the server saved.
///
/// # Errors
/// The file's check; connecting and logging in; the transfer's errors
/// (the server's refusal, or a saved copy that differs).
pub fn send_file(args: &ConnectArgs, faults: Faults, path: &Path, max_bytes: u64) -> CliResult<()> {
    let size = check_file_to_send(path, max_bytes)?;
    let client = connect(args, faults)?;
    let bar = progress_bar(size);
    let saved = client.send_file(path, max_bytes, &mut |n| bar.set_position(n));
    bar.finish_and_clear();
    let saved = saved?;
    println!("file saved as {:?}: {} bytes, SHA-256 {}", saved.name, saved.size, saved.sha256);
    client.close()?;
    eprintln!("{} arrived intact ({} bytes)", path.display(), saved.size);
    Ok(())
}

/// A progress bar for `size` bytes on standard error (drawn only on a
/// terminal).
pub fn progress_bar(size: u64) -> ProgressBar {
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}
