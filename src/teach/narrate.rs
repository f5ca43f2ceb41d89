//! The narration's formatting, for an 80-column terminal: step headers,
//! details, bytes in hex, bytes on the wire, the eavesdropper's view.
//!
//! One formatter for everything that narrates a step: the demo
//! ([`crate::teach::demo`]) and the live trace of a real peer
//! ([`crate::teach::trace`]). The step titles come from
//! [`crate::handshake::observe::STEPS`], so the two say the same.

use crate::error::Result;
use crate::handshake::observe::{Side, source_file, step};
use anstyle::{AnsiColor, Style};
use std::io::{BufRead, Write};

/// The indentation of everything under a step header.
pub(crate) const INDENT: &str = "          ";
/// Characters of packet text per line (10 indent + 64 = 74 columns).
const WRAP: usize = 64;

/// Writes the narration to `out`; with `pause`, waits for Enter before
/// each step.
pub(crate) struct Narrator<'a> {
    pub(crate) out: &'a mut dyn Write,
    pub(crate) pause: bool,
}

impl Narrator<'_> {
    /// A section's title, in bold, ruled to 76 columns.
    pub(crate) fn banner(&mut self, title: &str) -> Result<()> {
        let style = Style::new().bold();
        let rule = "=".repeat(76usize.saturating_sub(title.len() + 4));
        writeln!(self.out, "\n{style}== {title} {rule}{style:#}")?;
        Ok(())
    }

    /// A paragraph, wrapped at 78 columns.
    pub(crate) fn say(&mut self, text: &str) -> Result<()> {
        for line in textwrap::wrap(text, 78) {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    /// The header of step `id` as [`crate::handshake::observe::STEPS`]
    /// titles it, done by `side` in `function`.
    pub(crate) fn step_of(&mut self, id: &str, side: Side, function: &str) -> Result<()> {
        let title = step(id).map_or("", |step| step.title);
        self.step(id, side, title, function)
    }

    /// A step header: number, side, title, and the function that does it
    /// with its file.
    pub(crate) fn step(
        &mut self,
        number: &str,
        side: Side,
        title: &str,
        function: &str,
    ) -> Result<()> {
        self.wait()?;
        let colour = match side {
            Side::Server | Side::Receiver => AnsiColor::Magenta,
            _ => AnsiColor::Green,
        };
        let bold = Style::new().bold();
        let side_style = Style::new().fg_color(Some(colour.into())).bold();
        let label = side.as_str();
        writeln!(
            self.out,
            "\n{bold}Step {number:<12}{bold:#}{side_style}{label}{side_style:#}  {title}"
        )?;
        self.function(function)
    }

    /// A further function of the step just headed, with its file.
    pub(crate) fn function(&mut self, function: &str) -> Result<()> {
        let dim = Style::new().dimmed();
        let file = source_file(function);
        writeln!(self.out, "{INDENT}{dim}{function} ({file}){dim:#}")?;
        Ok(())
    }

    /// A detail of the step, wrapped under it.
    pub(crate) fn detail(&mut self, text: &str) -> Result<()> {
        for line in textwrap::wrap(text, 80 - INDENT.len()) {
            writeln!(self.out, "{INDENT}{line}")?;
        }
        Ok(())
    }

    /// Bytes in hex, 16 a line, the first 64 only.
    pub(crate) fn hex(&mut self, label: &str, bytes: &[u8]) -> Result<()> {
        let unit = if bytes.len() == 1 { "byte" } else { "bytes" };
        writeln!(self.out, "{INDENT}{label}, {} {unit} in hex:", bytes.len())?;
        const SHOWN: usize = 64;
        for chunk in bytes[..bytes.len().min(SHOWN)].chunks(16) {
            writeln!(self.out, "{INDENT}  {}", hex_spaced(chunk))?;
        }
        if bytes.len() > SHOWN {
            writeln!(self.out, "{INDENT}  ... ({} more bytes)", bytes.len() - SHOWN)?;
        }
        Ok(())
    }

    /// Bytes on the wire, as text, under a heading.
    pub(crate) fn wire(&mut self, heading: &str, bytes: &[u8]) -> Result<()> {
        let style = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
        writeln!(self.out, "  {style}{heading}{style:#}")?;
        let text = String::from_utf8_lossy(bytes);
        for line in cut_lines(&text, WRAP) {
            writeln!(self.out, "{INDENT}{style}{line}{style:#}")?;
        }
        Ok(())
    }

    /// What the eavesdropper learns (or, in the lossy section, does).
    pub(crate) fn eavesdropper(&mut self, text: &str) -> Result<()> {
        self.flagged("eve sees:", text)
    }

    /// A red flag and a text: the eavesdropper's view, or a deviation.
    pub(crate) fn flagged(&mut self, flag: &str, text: &str) -> Result<()> {
        let style = Style::new().fg_color(Some(AnsiColor::Red.into()));
        let mut lines = textwrap::wrap(text, 80 - INDENT.len() - 2).into_iter();
        if let Some(first) = lines.next() {
            writeln!(self.out, "  {style}{flag}{style:#} {first}")?;
        }
        for line in lines {
            writeln!(self.out, "{INDENT}{line}")?;
        }
        Ok(())
    }

    /// Wait for Enter, when pausing (only on a terminal).
    pub(crate) fn wait(&mut self) -> Result<()> {
        if self.pause {
            write!(self.out, "\n[Enter for the next step] ")?;
            self.out.flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
        }
        Ok(())
    }
}

/// Split text at newlines, then cut long lines every `width` characters
/// (a hard cut, not at words: PEM and base64 have no spaces). The one
/// line-cutter of the demo and the transcript.
pub(crate) fn cut_lines(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for line in text.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            lines.push(String::new());
        }
        for piece in chars.chunks(width) {
            lines.push(piece.iter().collect());
        }
    }
    lines
}

/// Bytes as lower-case hex pairs separated by spaces: `de ad be ef`.
fn hex_spaced(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
