use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = aftercare::cli::Cli::parse();
    match aftercare::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("aftercare: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
