//! The `roster` binary: load the configuration file, parse the command line, set up logging,
//! run the command.

use clap::Parser;

/// mimalloc instead of the system allocator: a request allocates and frees many small values
/// (JSON, headers, rows), and glibc's malloc and free were ~8 % of the server's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // The file becomes environment variables, so it is read before any other thread starts.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Err(e) = roster::config_file::apply(&args) {
        eprintln!("roster: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let cli = roster::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roster: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        roster::telemetry::init(cli.settings.log_format, &cli.settings.log_filter);
        match roster::cli::run(cli).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("roster: {e:#}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}
