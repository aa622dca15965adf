//! `stripe-standin --listen 127.0.0.1:12111 [--webhook-url URL]`; keys from the environment:
//! `STRIPE_SECRET_KEY` (what callers must present) and `STRIPE_WEBHOOK_SECRET` (what events are
//! signed with).

use stripe_standin::{Config, StandIn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let listen = arg("--listen").unwrap_or_else(|| "127.0.0.1:12111".into());
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(api_key), Some(webhook_secret)) = (env("STRIPE_SECRET_KEY"), env("STRIPE_WEBHOOK_SECRET")) else {
        eprintln!("stripe-standin: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET");
        return std::process::ExitCode::from(2);
    };
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("stripe-standin: cannot listen on {listen}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let base_url = format!(
        "http://{}",
        listener.local_addr().map(|a| a.to_string()).unwrap_or(listen)
    );
    let config = Config {
        api_key,
        webhook_secret,
        webhook_url: arg("--webhook-url"),
        base_url: base_url.clone(),
    };
    eprintln!("stripe-standin listening on {base_url}");
    let standin = StandIn::new(config);
    standin.spawn_expiry();
    match axum::serve(listener, standin.router()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stripe-standin: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
