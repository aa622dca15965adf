//! Each chalet hears of each new paid order, once: an e-mail to the chalet's contact address
//! with what to prepare (its lines only, the personalisations, the gift note) and how it is
//! handed over (the shopper's name and phone for a pickup, the address for shipping), plus its
//! private link to all its orders when links are set up. Sent only from the paths that saw the
//! payment confirmed ([`crate::settle`]); a claim on the chalet's share of the order makes two
//! deliveries of the same event send it once, like the receipt.

use crate::AppState;
use crate::dynamo::{StoreError, err, key, s};
use crate::mail::Composed;
use crate::orders::MarketRow;
use chalet_types::catalogue::CHALET_MAIL_WORDS;
use chalet_types::html::escape as esc;
use chalet_types::table::*;
use chalet_types::{ChaletFulfilment, FulfilmentChoice, Order, OrderLine, PostalAddress};
use std::fmt::Write;

/// What telling an order's chalets did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Told {
    pub now: usize,
    /// Chalets whose e-mail failed: the order waits in the `NOTICES` list for the reconciler.
    pub failed: usize,
}

/// Tells every chalet of the order recorded for `session_id` that has not been told. Never fails
/// the caller (the order is recorded whatever happens here); an order some chalet could not be
/// told of is listed for the reconciler, and leaves the list once every chalet is told.
pub async fn chalets(st: &AppState, session_id: &str) -> Told {
    let told = match try_chalets(st, session_id).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %crate::error::chain(&e), "a chalet could not be told of its order");
            Told { now: 0, failed: 1 }
        }
    };
    let marker = key(format!("{NOTICE_PREFIX}{session_id}"), NOTICE_KEY);
    let listed = if told.failed > 0 {
        let mut item = marker;
        item.insert(CHALET_INDEX_PARTITION_KEY.into(), s(NOTICES_INDEX_KEY));
        item.insert(CHALET_INDEX_SORT_KEY.into(), s(session_id));
        st.store
            .client
            .put_item()
            .table_name(&st.store.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
    } else {
        Ok(())
    };
    if let Err(e) = listed {
        tracing::error!(error = %err(e), "an order whose chalet was not told could not be listed for a retry");
    }
    told
}

/// Tries again, until `deadline`, the orders some chalet could not be told of; an order leaves
/// the list once every one of its chalets is told.
pub async fn retry(st: &AppState, deadline: std::time::Instant) -> Result<Vec<(String, Told)>, StoreError> {
    let items = st.store.index_items(NOTICES_INDEX_KEY).await?;
    let mut out = Vec::new();
    for session_id in items
        .iter()
        .filter_map(|i| crate::dynamo::get_s(i, CHALET_INDEX_SORT_KEY))
    {
        // With the mail server still down each try costs a send timeout: the rest wait.
        if std::time::Instant::now() >= deadline {
            break;
        }
        let told = chalets(st, session_id).await;
        if told.failed == 0 {
            st.store
                .client
                .delete_item()
                .table_name(&st.store.table)
                .set_key(Some(key(format!("{NOTICE_PREFIX}{session_id}"), NOTICE_KEY)))
                .send()
                .await
                .map_err(err)?;
        }
        out.push((chalet_types::order::reference_of(session_id), told));
    }
    Ok(out)
}

async fn try_chalets(st: &AppState, session_id: &str) -> Result<Told, StoreError> {
    let Some(mailer) = &st.config.mail else {
        return Ok(Told::default());
    };
    let (order, market) = tokio::try_join!(st.store.order(session_id), st.store.market())?;
    let (Some(order), market) = (order, market.unwrap_or_default()) else {
        return Ok(Told::default());
    };
    if CHALET_MAIL_WORDS.iter().any(|k| !market.mail.contains_key(*k)) {
        tracing::warn!("the published catalogue has no chalet e-mail words: rebuild and publish");
        return Ok(Told::default());
    }
    let mut told = Told::default();
    for share in &order.fulfilment {
        // The chalet's address, as published with its products.
        let stocked = st.store.availability(&share.chalet).await?;
        let Some(to) = stocked.iter().find_map(|s| s.item.chalet_email.clone()) else {
            continue;
        };
        let link = st
            .config
            .links_key
            .as_deref()
            .map(|k| crate::links::link(&st.config.site_url, k, &share.chalet, true));
        let message = compose(&order, share, &market, link.as_deref());
        let share_key = || {
            key(
                format!("{ORDER_PREFIX}{}", order.id),
                format!("{CHALET_PREFIX}{}", share.chalet),
            )
        };
        let marks = crate::mail_once::Marks {
            claim: attr::NOTIFY_CLAIM,
            sent: attr::NOTIFIED,
            remove_when_sent: &[],
        };
        let sent = crate::mail_once::send(&st.store, share_key(), marks, mailer, &to, &message).await?;
        match sent {
            crate::mail_once::Outcome::Sent => {
                told.now += 1;
                tracing::info!(order = %order.reference(), chalet = %share.chalet, "chalet told of its order");
            }
            crate::mail_once::Outcome::Taken => {} // told already, or being told
            crate::mail_once::Outcome::Failed(e) => {
                told.failed += 1;
                tracing::warn!(order = %order.reference(), error = %e, "a chalet could not be told of its order");
            }
        }
    }
    Ok(told)
}

/// The theme's words for a message about one chalet's share of `order`: `{chalet}`,
/// `{market}` and `{reference}` filled (the chalet's notice, the shopper's handover mails).
pub(crate) fn share_words<'a>(
    order: &Order,
    share: &ChaletFulfilment,
    market: &'a MarketRow,
) -> crate::mail::Words<'a> {
    crate::mail::Words {
        map: &market.mail,
        fill: vec![
            ("chalet", share.chalet_name.clone()),
            ("market", market.name.clone()),
            ("reference", order.reference()),
        ],
    }
}

/// The e-mail to one chalet about its share of `order`.
pub fn compose(order: &Order, share: &ChaletFulfilment, market: &MarketRow, link: Option<&str>) -> Composed {
    let words = share_words(order, share, market);
    let fill = |k: &str| words.get(k);
    let lang = market.language;
    let (mut text, mut html) = (String::new(), String::new());
    let reference = format!("{} {}", fill("reference"), order.reference());
    let _ = writeln!(text, "{}\n\n{reference}", fill("chalet_intro"));
    let _ = write!(
        html,
        "{}<p>{}</p><p><strong>{}</strong></p>",
        crate::mail::html_open(lang),
        esc(&fill("chalet_intro")),
        esc(&reference)
    );
    write_lines(
        &mut text,
        &mut html,
        order.lines.iter().filter(|l| l.sku.chalet == share.chalet),
        lang,
        &fill,
    );
    if let Some(note) = &share.gift_note {
        let _ = writeln!(text, "\n{}: {note}", fill("gift_note"));
        let _ = write!(html, "<p>{}: {}</p>", esc(&fill("gift_note")), esc(note));
    }
    let handover = handover_line(
        share.choice,
        [order.name.as_deref(), order.phone.as_deref()],
        order.ship_to.as_ref(),
        &fill,
    );
    let _ = writeln!(text, "\n{handover}");
    let _ = write!(html, "<p>{}</p>", esc(&handover));
    close(&mut text, &mut html, link, &fill);
    Composed {
        subject: fill("chalet_subject"),
        text,
        html,
        ..Default::default()
    }
}

/// How a message to a chalet ends: its private link to all its orders (when links are set
/// up), the market's footer, and the HTML closed.
pub(crate) fn close(text: &mut String, html: &mut String, link: Option<&str>, fill: &dyn Fn(&str) -> String) {
    if let Some(link) = link {
        let _ = writeln!(text, "\n{}: {link}", fill("chalet_orders"));
        let _ = write!(
            html,
            "<p><a href=\"{}\">{}</a></p>",
            esc(link),
            esc(&fill("chalet_orders"))
        );
    }
    let _ = writeln!(text, "\n{}", fill("footer"));
    let _ = write!(html, "<p>{}</p></body></html>", esc(&fill("footer")));
}

/// A chalet's lines as a list, text and HTML: quantity, name, amount, personalisation.
pub(crate) fn write_lines<'a>(
    text: &mut String,
    html: &mut String,
    lines: impl Iterator<Item = &'a OrderLine>,
    lang: chalet_types::Language,
    fill: &dyn Fn(&str) -> String,
) {
    html.push_str("<ul>");
    for line in lines {
        let total = line
            .unit_price
            .checked_mul(line.quantity)
            .unwrap_or_default()
            .format(lang);
        let _ = writeln!(text, "- {} × {} ({total})", line.quantity, line.name);
        let _ = write!(html, "<li>{} × {} ({})", line.quantity, esc(&line.name), esc(&total));
        if let Some(p) = &line.personalisation {
            let _ = writeln!(text, "  {}: {p}", fill("personalisation"));
            let _ = write!(html, "<br>{}: {}", esc(&fill("personalisation")), esc(p));
        }
        html.push_str("</li>");
    }
    html.push_str("</ul>");
}

/// How a share is handed over: who picks it up (name, phone), or where it is shipped.
pub(crate) fn handover_line(
    choice: FulfilmentChoice,
    who: [Option<&str>; 2],
    ship_to: Option<&PostalAddress>,
    fill: &dyn Fn(&str) -> String,
) -> String {
    match choice {
        FulfilmentChoice::Pickup => {
            let who: Vec<&str> = who.into_iter().flatten().collect();
            format!("{} {}", fill("chalet_pickup_by"), who.join(", "))
        }
        FulfilmentChoice::Shipping => {
            let to = ship_to.map(|a| {
                [
                    Some(a.name.as_str()),
                    a.line1.as_deref(),
                    a.line2.as_deref(),
                    a.postal_code.as_deref(),
                    a.city.as_deref(),
                    a.country.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")
            });
            format!("{}: {}", fill("shipped_to"), to.unwrap_or_default())
        }
    }
}
