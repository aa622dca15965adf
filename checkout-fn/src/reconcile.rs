//! The reconciler: stock held for sessions nobody told us about is asked about at Stripe and
//! settled — paid ones become orders, expired ones give their stock back, open ones are left
//! while they can still be paid and expired once they cannot. It runs every five minutes in the
//! deployed stack (an EventBridge schedule) and on demand (`checkout-fn reconcile`).
//!
//! Without it a lost `checkout.session.expired` event (the function down longer than Stripe's
//! three days of retries, a bad webhook secret after a deploy) keeps units reserved forever.

use crate::AppState;
use crate::dynamo::Held;
use crate::payments::{SESSION_BOUND_SECONDS, SessionState};
use crate::settle::{SettleError, Settled, cancel, settle};
use std::time::Duration;

/// The grace after a session's latest possible expiry before the reconciler asks about it: the
/// expiry webhook usually lands within it.
pub const GRACE: Duration = Duration::from_secs(5 * 60);

/// How long one run spends retrying receipts (one SMTP send may take [`crate::mail::SEND_TIMEOUT`]).
pub const RECEIPTS_BUDGET: Duration = Duration::from_secs(6);

/// By default, reservations whose session has expired at least [`GRACE`] ago.
pub fn default_older_than() -> Duration {
    Duration::from_secs(SESSION_BOUND_SECONDS as u64) + GRACE
}

/// One reservation's outcome.
#[derive(Debug)]
pub struct Line {
    pub reservation: String,
    pub outcome: Result<Settled, SettleError>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<Line>,
    /// Receipts retried: the order's reference (never its session id) and what happened.
    pub receipts: Vec<(String, crate::receipt::Receipt)>,
    /// Chalet notices retried: the order's reference and what happened.
    pub notices: Vec<(String, crate::notify::Told)>,
}

impl Report {
    pub fn failures(&self) -> usize {
        self.lines.iter().filter(|l| l.outcome.is_err()).count()
    }

    /// One line per reservation, then a summary; no session ids, e-mails or amounts.
    pub fn render(&self, dry_run: bool) -> String {
        let mut out = String::new();
        for l in &self.lines {
            let what = match &l.outcome {
                Ok(s) => s.describe(dry_run).to_string(),
                Err(e) => format!("failed: {}", crate::error::chain(e)),
            };
            out.push_str(&format!("reservation {}: {what}\n", l.reservation));
        }
        for (reference, r) in &self.receipts {
            out.push_str(&format!("receipt of order {reference}: {r:?}\n"));
        }
        for (reference, t) in &self.notices {
            out.push_str(&format!(
                "chalets of order {reference}: {} told now, {} still failing\n",
                t.now, t.failed
            ));
        }
        out.push_str(&format!(
            "{} held reservation(s) looked at{}, {} failed\n",
            self.lines.len(),
            if dry_run { " (dry run: nothing changed)" } else { "" },
            self.failures()
        ));
        out
    }

    pub fn count(&self, settled: Settled) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l.outcome, Ok(s) if s == settled))
            .count()
    }
}

/// Settles every reservation held since more than `older_than`.
pub async fn reconcile(
    st: &AppState,
    older_than: Duration,
    dry_run: bool,
) -> Result<Report, crate::dynamo::StoreError> {
    let now = crate::now();
    let held = st.store.held_before(now - older_than.as_secs() as i64).await?;
    let mut report = Report::default();
    for h in held {
        let outcome = one(st, &h, now, dry_run).await;
        if let Err(e) = &outcome {
            tracing::error!(reservation = %h.id, error = %crate::error::chain(e), "could not reconcile a reservation");
        }
        report.lines.push(Line {
            reservation: h.id,
            outcome,
        });
    }
    // Receipts no delivery managed to send (the SMTP server was down, the function stopped),
    // for at most RECEIPTS_BUDGET: with the server still down each try costs a send timeout, and
    // the scheduled run must end well inside the function's 25 s; the rest wait for the next run.
    if st.config.mail.is_some() && !dry_run {
        let started = std::time::Instant::now();
        for session_id in crate::receipt::pending(st).await? {
            if started.elapsed() >= RECEIPTS_BUDGET {
                break;
            }
            let sent = crate::receipt::send_once(st, &session_id).await;
            report
                .receipts
                .push((chalet_types::order::reference_of(&session_id), sent));
        }
        // Chalets no delivery managed to tell.
        report.notices = crate::notify::retry(st, started + RECEIPTS_BUDGET).await?;
    }
    Ok(report)
}

async fn one(st: &AppState, h: &Held, now: i64, dry_run: bool) -> Result<Settled, SettleError> {
    let Some(session_id) = &h.session_id else {
        return cancel(st, &h.id, dry_run).await;
    };
    let session = st.stripe.retrieve(session_id).await?;
    if session.state == SessionState::Open && session.expires_at <= now {
        // Past its expiry but not yet expired at Stripe: expire it so it cannot be paid.
        return cancel(st, &h.id, dry_run).await;
    }
    Ok(settle(st, &h.id, &session, dry_run).await?)
}

/// `90s`, `5m`, `2h`, `0s`: the CLI's `--older-than`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_docs_write_them() {
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        for bad in ["", "5", "m", "5 minutes", "-1s", "1.5m"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_default_waits_past_the_latest_expiry() {
        assert!(default_older_than().as_secs() as i64 > SESSION_BOUND_SECONDS);
    }
}
