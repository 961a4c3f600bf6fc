//! The `tallyseal` command line: parses arguments, calls the library, prints, and sets
//! the exit status. Nothing else lives here.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tallyseal::build::BuildError;
use tallyseal::error::{LoadError, Warning};
use tallyseal::{Project, account, check::Summary, invoice, seal::keys};

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
    /// Compute every invoice and write the site atomically into --out.
    Build {
        /// The project directory (holding tallyseal.toml).
        project: PathBuf,
        /// The site's directory: replaced as a whole only when the build succeeds.
        #[arg(long)]
        out: PathBuf,
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
        Command::Build { project, out } => build(project, out),
        Command::Keygen { out } => keygen(out),
    }
}

fn check(dir: PathBuf) -> ExitCode {
    let loaded = match Project::load(&dir) {
        Ok(loaded) => loaded,
        Err(failure) => return load_failed(&dir, failure),
    };
    print_warnings(&loaded.warnings);
    let settled = invoice::bill(&loaded.project)
        .map_err(|e| e.to_string())
        .and_then(|books| account::settle(&loaded.project, &books).map_err(|e| e.to_string()));
    if let Err(e) = settled {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let summary = Summary::of(&loaded.project);
    println!("{summary}");
    if summary.all.balanced() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn build(dir: PathBuf, out: PathBuf) -> ExitCode {
    match tallyseal::build::build(&dir, &out) {
        Ok(built) => {
            print_warnings(&built.loaded.warnings);
            let documents: usize = built.books.iter().map(|p| p.invoices.len()).sum();
            println!(
                "{documents} documents over {} periods: {} files written to {}",
                built.books.len(),
                built.files,
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(BuildError::Load(failure)) => load_failed(&dir, failure),
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("{}: nothing was written", out.display());
            ExitCode::FAILURE
        }
    }
}

fn print_warnings(warnings: &[Warning]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}

fn load_failed(dir: &std::path::Path, failure: LoadError) -> ExitCode {
    let problems = failure.problems;
    print_warnings(&problems.warnings);
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
