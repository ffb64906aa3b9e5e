use std::path::Path;
use std::process::ExitCode;

use crate::config;

/// Prints every mistake in the file, one per line, and fails if there is any.
pub fn check_config(file: &Path) -> anyhow::Result<ExitCode> {
    match config::load(file) {
        Ok(setup) => {
            println!(
                "{}: ok — hall {}, {} services, {} windows",
                file.display(),
                setup.config.hall.id,
                setup.config.services.len(),
                setup.config.windows.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{} mistake(s) found", errors.0.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
