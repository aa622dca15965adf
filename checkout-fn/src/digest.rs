//! A chalet that asked for it (`contact: { daily_digest: true }`) gets, each morning, one e-mail
//! with the orders paid the day before: each order's reference, lines and handover, what the
//! day sold, and how many of all its orders are still to hand over — besides the e-mail per
//! order ([`crate::notify`]), which stays the one to act on. `checkout-fn digest [--date DAY]`
//! and the daily schedule (`{"chalet": "digest"}`) send it; days are UTC days, as statements'.
//!
//! Once per chalet and day, whoever runs it how often: a `DIGEST#<chalet>` / `<day>` item is
//! created first and the mail goes through [`crate::mail_once`] on it (the item expires after
//! [`KEEP_DAYS`]). A day without a new order sends nothing.

use crate::AppState;
use crate::dynamo::{StoreError, err, key, n};
use crate::mail::Composed;
use crate::orders::MarketRow;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use chalet_types::catalogue::DIGEST_MAIL_WORDS;
use chalet_types::html::escape as esc;
use chalet_types::table::{CATALOGUE_PREFIX, DIGEST_PREFIX, PARTITION_KEY, TTL_ATTRIBUTE, attr};
use chalet_types::{ChaletFulfilment, Date, FulfilmentChoice, Money, OrderLine, PostalAddress, Slug};
use std::collections::BTreeMap;
use std::fmt::Write;

/// How long a digest's "sent" mark is kept: far longer than any re-run of a past day.
pub const KEEP_DAYS: i64 = 60;
const CLAIM: &str = "digest_claim";
const SENT: &str = "digest_sent";

/// A chalet's share of an order as the table keeps it for the chalet (`crate::orders`): the
/// name and phone for a pickup, the address for shipping.
#[derive(Debug, serde::Deserialize)]
pub struct Share {
    pub order: String,
    pub created: String,
    pub fulfilment: ChaletFulfilment,
    pub lines: Vec<OrderLine>,
    #[serde(default)]
    pub ship_to: Option<PostalAddress>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// What the digest did for one chalet.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub chalet: Slug,
    pub orders: usize,
    pub outcome: Outcome,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Sent before (or being sent) for that day.
    AlreadySent,
    /// No order that day: nothing to say.
    Quiet,
    /// `--dry-run`: what would be sent.
    WouldSend,
    Failed(String),
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match &self.outcome {
            Outcome::Sent => "sent".to_string(),
            Outcome::AlreadySent => "already sent".to_string(),
            Outcome::Quiet => "no order: nothing sent".to_string(),
            Outcome::WouldSend => "would send".to_string(),
            Outcome::Failed(e) => format!("failed: {e}"),
        };
        write!(f, "{}\t{} order(s)\t{what}", self.chalet, self.orders)
    }
}

impl crate::dynamo::Dynamo {
    /// The chalets that asked for a digest, with their address (from their published products).
    async fn digest_chalets(&self) -> Result<BTreeMap<Slug, String>, StoreError> {
        let scan = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(#pk, :cat) AND #digest = :yes")
            .projection_expression("#chalet, #email")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#digest", attr::CHALET_DIGEST)
            .expression_attribute_names("#chalet", attr::CHALET)
            .expression_attribute_names("#email", attr::CHALET_EMAIL)
            .expression_attribute_values(":cat", Av::S(CATALOGUE_PREFIX.into()))
            .expression_attribute_values(":yes", Av::Bool(true));
        let mut out = BTreeMap::new();
        for item in crate::dynamo::scan_all(scan).await? {
            let chalet = crate::dynamo::get_s(&item, attr::CHALET).and_then(|c| Slug::parse(c).ok());
            if let (Some(chalet), Some(email)) = (chalet, crate::dynamo::get_s(&item, attr::CHALET_EMAIL)) {
                out.insert(chalet, email.to_string());
            }
        }
        Ok(out)
    }

    /// The day's item for `chalet`, created if it is not there (never touching one that is).
    async fn digest_item(&self, chalet: &Slug, day: Date) -> Result<(), StoreError> {
        let mut item = key(format!("{DIGEST_PREFIX}{chalet}"), day.to_string());
        item.insert(TTL_ATTRIBUTE.into(), n(crate::now() + KEEP_DAYS * 86_400));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .send()
            .await;
        match put {
            Err(e)
                if !e
                    .as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(err(e))
            }
            _ => Ok(()),
        }
    }
}

/// The UTC day before `now` (Unix seconds): what the morning's digest covers.
pub fn yesterday(now: i64) -> Date {
    Date::from_unix(now - 86_400)
}

/// Sends each chalet that asked for one its digest of `day`.
pub async fn run(st: &AppState, day: Date, dry_run: bool) -> Result<Vec<Line>, StoreError> {
    let market = st.store.market().await?.unwrap_or_default();
    if DIGEST_MAIL_WORDS.iter().any(|k| !market.mail.contains_key(*k)) {
        tracing::warn!("the published catalogue has no digest words: rebuild and publish");
        return Ok(Vec::new());
    }
    let mut lines = Vec::new();
    for (chalet, to) in st.store.digest_chalets().await? {
        let shares = st.store.chalet_shares(&chalet).await?;
        let prefix = day.to_string();
        let waiting = shares
            .iter()
            .filter(|s| s.get(crate::handover::HANDOVER).is_none())
            .count();
        let of_day: Vec<Share> = shares
            .into_iter()
            .filter(|s| s["created"].as_str().is_some_and(|c| c.starts_with(&prefix)))
            .filter_map(|s| serde_json::from_value(s).ok())
            .collect();
        let mut line = Line {
            chalet: chalet.clone(),
            orders: of_day.len(),
            outcome: Outcome::Quiet,
        };
        if of_day.is_empty() {
            lines.push(line);
            continue;
        }
        if dry_run {
            line.outcome = Outcome::WouldSend;
            lines.push(line);
            continue;
        }
        let Some(mailer) = &st.config.mail else {
            line.outcome = Outcome::Failed("no SMTP_URL and MAIL_FROM".into());
            lines.push(line);
            continue;
        };
        let name = of_day[0].fulfilment.chalet_name.clone();
        let link = st
            .config
            .links_key
            .as_deref()
            .map(|k| crate::links::page_link(&st.config.site_url, k, &chalet));
        let message = compose(&market, &name, day, &of_day, waiting, link.as_deref());
        st.store.digest_item(&chalet, day).await?;
        let marks = crate::mail_once::Marks {
            claim: CLAIM,
            sent: SENT,
            remove_when_sent: &[],
        };
        let item_key = key(format!("{DIGEST_PREFIX}{chalet}"), day.to_string());
        line.outcome = match crate::mail_once::send(&st.store, item_key, marks, mailer, &to, &message).await? {
            crate::mail_once::Outcome::Sent => Outcome::Sent,
            crate::mail_once::Outcome::Taken => Outcome::AlreadySent,
            crate::mail_once::Outcome::Failed(e) => Outcome::Failed(e.to_string()),
        };
        lines.push(line);
    }
    Ok(lines)
}

/// The digest of `day` for one chalet: its orders of the day (from their shares, oldest first),
/// the day's quantities per product, and how many shares of all days wait to be handed over.
pub fn compose(
    market: &MarketRow,
    chalet_name: &str,
    day: Date,
    shares: &[Share],
    waiting: usize,
    link: Option<&str>,
) -> Composed {
    let lang = market.language;
    let words = crate::mail::Words {
        map: &market.mail,
        fill: vec![
            ("chalet", chalet_name.to_string()),
            ("market", market.name.clone()),
            ("date", day.format(lang)),
        ],
    };
    let fill = |k: &str| words.get(k);
    let (mut text, mut html) = (String::new(), String::new());
    let _ = writeln!(text, "{}\n", fill("digest_intro"));
    let _ = write!(
        html,
        "{}<p>{}</p>",
        crate::mail::html_open(lang),
        esc(&fill("digest_intro"))
    );
    let mut sold: BTreeMap<String, u32> = BTreeMap::new();
    let mut total = Money::ZERO;
    for share in shares {
        let reference = chalet_types::order::reference_of(&share.order);
        let handover = crate::notify::handover_line(
            share.fulfilment.choice,
            [share.name.as_deref(), share.phone.as_deref()],
            share.ship_to.as_ref(),
            &fill,
        );
        let _ = writeln!(text, "{} {reference} — {handover}", fill("reference"));
        let _ = write!(
            html,
            "<p><strong>{} {}</strong><br>{}</p>",
            esc(&fill("reference")),
            esc(&reference),
            esc(&handover)
        );
        crate::notify::write_lines(&mut text, &mut html, share.lines.iter(), lang, &fill);
        if let Some(note) = &share.fulfilment.gift_note {
            let _ = writeln!(text, "  {}: {note}", fill("gift_note"));
            let _ = write!(html, "<p>{}: {}</p>", esc(&fill("gift_note")), esc(note));
        }
        text.push('\n');
        for l in &share.lines {
            *sold.entry(l.name.clone()).or_default() += l.quantity;
            total = total
                .checked_add(l.unit_price.checked_mul(l.quantity).unwrap_or_default())
                .unwrap_or(total);
        }
        if share.fulfilment.choice == FulfilmentChoice::Shipping {
            total = total.checked_add(share.fulfilment.shipping_fee).unwrap_or(total);
        }
    }
    let summary: Vec<String> = sold.iter().map(|(name, q)| format!("{q} × {name}")).collect();
    let sold_line = format!(
        "{}: {} — {}",
        fill("digest_sold"),
        summary.join(", "),
        total.format(lang)
    );
    let waiting_line = format!("{}: {waiting}", fill("digest_waiting"));
    let _ = writeln!(text, "{sold_line}\n{waiting_line}");
    let _ = write!(
        html,
        "<p><strong>{}</strong><br>{}</p>",
        esc(&sold_line),
        esc(&waiting_line)
    );
    crate::notify::close(&mut text, &mut html, link, &fill);
    Composed {
        subject: fill("digest_subject"),
        text,
        html,
        ..Default::default()
    }
}
