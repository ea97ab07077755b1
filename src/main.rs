//! The `roster` binary: parse the command line, set up logging, run the command.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = roster::cli::Cli::parse();
    roster::telemetry::init(cli.settings.log_format, &cli.settings.log_filter);
    match roster::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roster: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
