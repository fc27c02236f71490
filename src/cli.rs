//! The command line: `serve` (default), `migrate`, `openapi`, `vapid-keygen`, `demo`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::push::vapid::VapidKeys;
use crate::startup::{Application, open_store, shutdown_signal};
use crate::{api, telemetry};

#[derive(Debug, Parser)]
#[command(name = "aftercare", version, about = "Pain journal, massage aftercare and care-team alerts for back pain")]
pub struct Cli {
    /// A TOML file with settings that override config/default.toml (also AFTERCARE_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API and the background workers (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi {
        /// JSON instead of YAML.
        #[arg(long)]
        json: bool,
    },
    /// Print a new VAPID key pair for Web Push.
    VapidKeygen,
    /// Fill the database with a therapist and clients with months of journals, print their
    /// sign-ins, and serve (use a fresh database; an existing demo is reused as it is).
    Demo {
        /// Seed and print the sign-ins, then exit instead of serving.
        #[arg(long)]
        seed_only: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi { json } => {
            let spec = api::spec::Published::new();
            println!("{}", if json { spec.json } else { spec.yaml });
            Ok(())
        }
        Command::VapidKeygen => {
            let keys = VapidKeys::generate();
            println!("# VAPID key pair for Web Push. Keep the private key secret.");
            println!("private_key={}", keys.private_key_base64url());
            println!("# applicationServerKey for pushManager.subscribe():");
            println!("public_key={}", keys.public_key_base64url());
            Ok(())
        }
        Command::Migrate => {
            let settings = Settings::load(cli.config)?;
            telemetry::init_logging(&settings.log);
            let store = open_store(&settings).await?;
            store.migrate().await.context("database migration")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Demo { seed_only } => {
            let settings = Settings::load(cli.config)?;
            telemetry::init_logging(&settings.log);
            let sign_ins = crate::demo::seed(&settings).await.context("seeding the demo")?;
            println!("{}", crate::demo::describe(&sign_ins));
            if seed_only {
                return Ok(());
            }
            Application::build(settings).await?.run_until(shutdown_signal()).await
        }
        Command::Serve => {
            let settings = Settings::load(cli.config)?;
            telemetry::init_logging(&settings.log);
            Application::build(settings).await?.run_until(shutdown_signal()).await
        }
    }
}
