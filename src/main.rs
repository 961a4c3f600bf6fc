//! The `tallyseal` command line: parses arguments, calls the library, prints, and sets
//! the exit status. Nothing else lives here.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tallyseal::build::{BuildError, Options, SealOutcome, Stage};
use tallyseal::error::{LoadError, Warning};
use tallyseal::verify::{Against, Status, TrustedKey};
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
        /// Also recompute sealed periods with today's rules and warn wherever an issued
        /// number would differ.
        #[arg(long)]
        deep: bool,
    },
    /// Compute every invoice and write the site atomically into --out.
    Build {
        /// The project directory (holding tallyseal.toml).
        project: PathBuf,
        /// The site's directory: replaced as a whole only when the build succeeds.
        #[arg(long)]
        out: PathBuf,
        /// Build without a signing key: a preview, marked unsigned on every page, whose
        /// bundles no one can verify. Never publish it.
        #[arg(long)]
        unsigned: bool,
        /// Print how long each stage took, on stderr: `timing <stage> <seconds>`.
        #[arg(long)]
        timings: bool,
        /// No progress display (it is shown only when stderr is a terminal anyway).
        #[arg(long)]
        quiet: bool,
    },
    /// Seal a period: store its signed bundles under periods/<period>/sealed/ and lock
    /// its inputs in periods/<period>/seal.lock. Earlier periods must be sealed first.
    Seal {
        /// The project directory (holding tallyseal.toml).
        project: PathBuf,
        /// The period to seal, YYYY-MM.
        period: String,
    },
    /// Verify a bundle offline: signature, file hashes, statement, proofs and, with
    /// --sources, the full raw exports. Exit status 0 only when every check holds.
    Verify {
        /// The bundle's folder: clients/<client_id>/<period> or agency/<period>.
        bundle: PathBuf,
        /// A public key (SPKI PEM) you trust, obtained out of band; repeat for several.
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// The agency's project directory, to check the full raw exports too.
        #[arg(long)]
        sources: Option<PathBuf>,
        /// The client's previous bundle, to check the chain: it verifies too, and this
        /// bundle's seq and prev follow it.
        #[arg(long)]
        prev: Option<PathBuf>,
        /// Print a machine-readable report on stdout instead of the checks as they run.
        #[arg(long)]
        json: bool,
    },
    /// Generate an Ed25519 signing key: PKCS#8 v1 PEM (mode 0600) and its public key beside it.
    Keygen {
        /// Where to write the private key; the public key goes to <name>.pub.pem.
        #[arg(long)]
        out: PathBuf,
    },
}

/// jemalloc, not the system allocator: a large build's peak memory is about 15% lower
/// (see Cargo.toml and bench/RESULTS.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { project, deep } => check(project, deep),
        Command::Build {
            project,
            out,
            unsigned,
            timings,
            quiet,
        } => build(project, out, &Options { unsigned }, timings, quiet),
        Command::Seal { project, period } => seal(project, &period),
        Command::Verify {
            bundle,
            keys,
            sources,
            prev,
            json,
        } => verify(bundle, keys, sources, prev, json),
        Command::Keygen { out } => keygen(out),
    }
}

fn check(dir: PathBuf, deep: bool) -> ExitCode {
    // Deep: every export read and every period recomputed, sealed ones too.
    let loaded = if deep {
        Project::load(&dir)
    } else {
        Project::load_open(&dir)
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(failure) => return load_failed(&dir, failure),
    };
    print_warnings(&loaded.warnings);
    let project = &loaded.project;
    let checked = if deep {
        invoice::bill(project)
            .map_err(BuildError::from)
            .and_then(|books| {
                let statements = account::settle(project, &books)?;
                let differences = tallyseal::build::check_sealed(project, &books, &statements)?;
                Ok((differences, Vec::new()))
            })
    } else {
        tallyseal::build::compute(project, None, Default::default())
            .map(|c| (Vec::new(), c.reviews))
    };
    let reviews = match checked {
        Ok((differences, reviews)) => {
            print_warnings(&differences);
            if deep {
                println!(
                    "sealed periods: inputs unchanged, bundles verified; {} issued figure(s) would differ today",
                    differences.len()
                );
            }
            reviews
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let issued: Vec<_> = reviews.iter().map(|r| r.conservation.as_slice()).collect();
    let summary = Summary::of(&loaded.project, &issued);
    println!("{summary}");
    if summary.all.balanced() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn build(dir: PathBuf, out: PathBuf, options: &Options, timings: bool, quiet: bool) -> ExitCode {
    let spinner = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        // Drawn only when stderr is a terminal.
        indicatif::ProgressBar::new_spinner()
    };
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let started = std::time::Instant::now();
    let progress = |stage: Stage| spinner.set_message(format!("{}…", stage.as_str()));
    let result = tallyseal::build::build(&dir, &out, options, &progress);
    spinner.finish_and_clear();
    if let (true, Ok(built)) = (timings, &result) {
        for (stage, took) in &built.timings {
            eprintln!("timing {} {:.3}", stage.as_str(), took.as_secs_f64());
        }
        eprintln!("timing total {:.3}", started.elapsed().as_secs_f64());
    }
    match result {
        Ok(built) => {
            print_warnings(&built.loaded.warnings);
            if options.unsigned {
                eprintln!(
                    "warning: an unsigned preview: its bundles cannot be verified; never publish it"
                );
            }
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

fn seal(dir: PathBuf, period: &str) -> ExitCode {
    let Some(period) = tallyseal::model::Period::parse(period) else {
        eprintln!("error: `{period}` is not a period: expected YYYY-MM");
        return ExitCode::from(2);
    };
    match tallyseal::build::seal_period(&dir, period) {
        Ok((warnings, SealOutcome::Sealed { bundles, files })) => {
            print_warnings(&warnings);
            println!(
                "sealed {period}: {bundles} bundles ({files} files) stored in {}; commit them with periods/{period}/seal.lock",
                dir.join("periods")
                    .join(period.to_string())
                    .join("sealed")
                    .display()
            );
            ExitCode::SUCCESS
        }
        Ok((_, SealOutcome::AlreadySealed)) => {
            println!("{period} is sealed already and its inputs are unchanged: nothing to do");
            ExitCode::SUCCESS
        }
        Err(BuildError::Load(failure)) => load_failed(&dir, failure),
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("{period} was not sealed");
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

fn verify(
    bundle: PathBuf,
    key_paths: Vec<PathBuf>,
    sources: Option<PathBuf>,
    prev: Option<PathBuf>,
    json: bool,
) -> ExitCode {
    let mut keys = Vec::new();
    for path in &key_paths {
        match TrustedKey::read(path) {
            Ok(key) => keys.push(key),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for folder in std::iter::once(&bundle).chain(&prev) {
        if !folder.is_dir() {
            eprintln!("error: {}: not a folder", folder.display());
            return ExitCode::from(2);
        }
    }
    let against = Against {
        keys: &keys,
        sources: sources.as_deref(),
        prev: prev.as_deref(),
    };
    let report = tallyseal::verify::verify(&bundle, against, |check| {
        if !json {
            let status = match check.status {
                Status::Pass => "ok",
                Status::Fail => "FAILED",
                Status::Skipped => "skipped",
            };
            println!(
                "check {} {:<9} {:<7} {}",
                check.number, check.name, status, check.detail
            );
        }
    });
    if json {
        let text = serde_json::to_string_pretty(&report).expect("a report serializes");
        println!("{text}");
    } else if let Some(failed) = report.failure() {
        println!(
            "NOT VERIFIED: {} failed check {} ({})",
            bundle.display(),
            failed.number,
            failed.name
        );
    } else {
        println!("verified: {}", bundle.display());
    }
    if report.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
