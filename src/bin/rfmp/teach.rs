//! `rfmp demo`: the narrated sessions of the teaching tools.

use crate::CliResult;
use crate::args::DemoChoice;
use rfmp::link::Faults;
use rfmp::teach::demo::DemoCipher;
use std::io::IsTerminal;

/// `rfmp demo`: the narrated sessions ([`rfmp::teach::demo::run`]).
pub fn demo(choice: DemoChoice, no_pause: bool, faults: Faults) -> CliResult<()> {
    let ciphers: &[DemoCipher] = match choice {
        DemoChoice::None => &[DemoCipher::None],
        DemoChoice::Caesar => &[DemoCipher::Caesar],
        DemoChoice::Aes => &[DemoCipher::Aes],
        DemoChoice::All => &[DemoCipher::None, DemoCipher::Caesar, DemoCipher::Aes],
    };
    let pause = !no_pause && std::io::stdin().is_terminal();
    // anstream strips the colours when stdout is not a terminal.
    let mut out = anstream::stdout();
    Ok(rfmp::teach::demo::run(ciphers, faults, pause, &mut out)?)
}
