//! The `tallyseal` command line: parses arguments, calls the library, prints, and sets
//! the exit status. Nothing else lives here.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tallyseal::{Project, check::Summary, seal::keys};

#[derive(Parser)]
#[command(
    name = "tallyseal",
    version,
    about = "Verifiable client evidence portals from an agency's billing data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a project directory and summarise it, or list every error found.
    Check {
        /// The project directory (holding tallyseal.toml).
        project: PathBuf,
    },
    /// Generate an Ed25519 signing key: PKCS#8 v1 PEM (mode 0600) and its public key beside it.
    Keygen {
        /// Where to write the private key; the public key goes to <name>.pub.pem.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { project } => check(project),
        Command::Keygen { out } => keygen(out),
    }
}

fn check(dir: PathBuf) -> ExitCode {
    match Project::load(&dir) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
            let summary = Summary::of(&loaded.project);
            println!("{summary}");
            if summary.all.balanced() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(failure) => {
            let problems = failure.problems;
            for warning in &problems.warnings {
                eprintln!("warning: {warning}");
            }
            for error in &problems.errors {
                eprintln!("error: {error}");
            }
            if problems.suppressed > 0 {
                eprintln!("... and {} more errors not shown", problems.suppressed);
            }
            eprintln!(
                "{}: {} error(s); nothing was built",
                dir.display(),
                problems.error_count()
            );
            ExitCode::FAILURE
        }
    }
}

fn keygen(out: PathBuf) -> ExitCode {
    match keys::keygen(&out) {
        Ok((key_id, public)) => {
            println!("private key  {} (mode 0600; keep it secret)", out.display());
            println!("public key   {}", public.display());
            println!("key id       {key_id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
