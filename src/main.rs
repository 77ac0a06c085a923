use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn")),
        )
        .with_target(false)
        .init();
    let cli = onramp::cli::Cli::parse();
    let settings = onramp::config::Settings::load()?;
    onramp::cli::run(cli, settings).await
}
