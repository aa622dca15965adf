//! `checkout-fn statements --from DATE --to DATE [--format csv|json|html]`: what each chalet sold
//! in a period and what it is owed, reconciled to the cent with Stripe's balance.
//!
//! The period's money is Stripe's: its balance transactions created between the two dates
//! (UTC days, both included). Each charge is matched to its order by the payment, and divided
//! between the order's chalets by [`crate::split`] — gross, Stripe's fee pro rata, the
//! organisers' commission — each refund likewise, by the lines it gave back; transfers and
//! their reversals are counted to the chalet their metadata names. Then two checks:
//! - **with Stripe**: the chalets' net, the commission and the movements that are no chalet's
//!   (registration fees, disputes…) add up to the balance's own net for the period;
//! - **with the orders**: each charge is its order's total, and every order the table dates in
//!   the period was charged in it.
//!
//! Anything that does not hold is listed, and the command exits non-zero.

use crate::payments::balance::{Movement, Source};
use crate::split::{self, RefundShare, Share};
use chalet_types::{Date, Money, Order, OrderRefund, Slug};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One chalet's period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChaletStatement {
    pub chalet: String,
    pub name: String,
    /// Orders charged in the period with a line of this chalet.
    pub orders: u32,
    pub gross: Money,
    pub refunds: Money,
    pub fees: Money,
    pub commission: Money,
    /// gross − refunds − fees − commission.
    pub net: Money,
    /// Transfers to its connected account in the period, less their reversals.
    pub transferred: Money,
}

/// The period as Stripe's balance has it, by kind of movement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BalanceTotals {
    pub charges: Money,
    /// Negative, as Stripe gives them.
    pub refunds: Money,
    pub fees: Money,
    /// Negative: what left for connected accounts (reversals counted back in).
    pub transfers: Money,
    /// Movements that are no chalet's: their net.
    pub other: Money,
    /// The sum of every balance transaction's net in the period.
    pub net: Money,
}

/// A movement that is no chalet's (a registration fee, a dispute, a payout…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Other {
    pub id: String,
    pub kind: String,
    pub amount: Money,
    pub fee: Money,
    pub net: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub from: Date,
    pub to: Date,
    pub commission_bp: u32,
    pub chalets: Vec<ChaletStatement>,
    pub totals: ChaletStatement,
    pub balance: BalanceTotals,
    pub others: Vec<Other>,
    /// The orders the table dates in the period, and their sum.
    pub orders_in_period: u32,
    pub orders_total: Money,
    /// Why the statement does not reconcile; empty when it does.
    pub problems: Vec<String>,
}

impl Statement {
    pub fn reconciles(&self) -> bool {
        self.problems.is_empty()
    }
}

/// `[from, to]` as Unix seconds `[start, end)`.
pub fn bounds(from: Date, to: Date) -> (i64, i64) {
    (from.days_since_epoch() * 86_400, (to.days_since_epoch() + 1) * 86_400)
}

fn add(m: &mut Money, cents: i64) {
    *m = Money::from_cents(m.cents() + cents);
}

struct Builder<'a> {
    by_payment: HashMap<&'a str, &'a Order>,
    chalets: BTreeMap<String, ChaletStatement>,
    counted: HashMap<String, std::collections::HashSet<&'a str>>,
    bp: u32,
}

impl<'a> Builder<'a> {
    fn chalet(&mut self, slug: &Slug, order: Option<&Order>) -> &mut ChaletStatement {
        let name = order
            .and_then(|o| o.fulfilment.iter().find(|f| &f.chalet == slug))
            .map(|f| f.chalet_name.clone());
        let c = self.chalets.entry(slug.to_string()).or_insert_with(|| ChaletStatement {
            chalet: slug.to_string(),
            ..Default::default()
        });
        if let (true, Some(n)) = (c.name.is_empty(), name) {
            c.name = n;
        }
        c
    }

    fn charge(&mut self, order: &'a Order, fee: Money) {
        for Share {
            chalet,
            gross,
            fee,
            commission,
        } in split::shares(order, fee, self.bp)
        {
            let c = self.chalet(&chalet, Some(order));
            add(&mut c.gross, gross.cents());
            add(&mut c.fees, fee.cents());
            add(&mut c.commission, commission.cents());
            if self.counted.entry(chalet.to_string()).or_default().insert(&order.id) {
                self.chalet(&chalet, None).orders += 1;
            }
        }
    }

    fn refund(&mut self, order: &Order, refund: &OrderRefund, fee: Money) {
        let parts = split::refund_shares(order, refund, self.bp);
        let weights: Vec<i64> = parts.iter().map(|p| p.amount.cents()).collect();
        let fees = split::allocate(fee.cents(), &weights);
        for (
            RefundShare {
                chalet,
                amount,
                commission,
            },
            fee,
        ) in parts.into_iter().zip(fees)
        {
            let c = self.chalet(&chalet, Some(order));
            add(&mut c.refunds, amount.cents());
            add(&mut c.commission, -commission.cents());
            add(&mut c.fees, fee);
        }
    }
}

/// The statement of `[from, to]` from the period's balance `movements` and every recorded order.
pub fn statement(from: Date, to: Date, orders: &[Order], movements: &[Movement], commission_bp: u32) -> Statement {
    let (start, end) = bounds(from, to);
    let mut b = Builder {
        by_payment: orders
            .iter()
            .filter_map(|o| Some((o.payment_intent.as_deref()?, o)))
            .collect(),
        chalets: BTreeMap::new(),
        counted: HashMap::new(),
        bp: commission_bp,
    };
    let mut balance = BalanceTotals::default();
    let mut others = Vec::new();
    let mut problems = Vec::new();
    let mut charged: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for m in movements.iter().filter(|m| (start..end).contains(&m.created)) {
        add(&mut balance.net, m.net.cents());
        let order = match &m.source {
            Source::Charge { payment_intent, .. } | Source::Refund { payment_intent, .. } => {
                payment_intent.as_deref().and_then(|pi| b.by_payment.get(pi).copied())
            }
            _ => None,
        };
        // The chalet a transfer or reversal paid, as its metadata names it.
        let paid_to = match &m.source {
            Source::Transfer { metadata, .. } | Source::Reversal { metadata, .. } => {
                metadata.get("chalet").and_then(|c| Slug::parse(c).ok())
            }
            _ => None,
        };
        match (&m.source, order, paid_to) {
            (Source::Charge { id, .. }, Some(order), _) => {
                add(&mut balance.charges, m.amount.cents());
                add(&mut balance.fees, m.fee.cents());
                if m.amount != order.total {
                    problems.push(format!(
                        "charge {id} is {} but its order {} totals {}",
                        m.amount.to_decimal_string(),
                        order.id,
                        order.total.to_decimal_string()
                    ));
                }
                charged.insert(&order.id);
                b.charge(order, m.fee);
            }
            (Source::Refund { id, .. }, Some(order), _) => {
                add(&mut balance.refunds, m.amount.cents());
                add(&mut balance.fees, m.fee.cents());
                let refund = match order.refunds.iter().find(|r| &r.id == id) {
                    Some(r) => r.clone(),
                    None => {
                        problems.push(format!(
                            "refund {id} of order {} is not recorded on the order yet (its event has not arrived): shared pro rata",
                            order.id
                        ));
                        OrderRefund {
                            id: id.clone(),
                            amount: Money::from_cents(-m.amount.cents()),
                            lines: Vec::new(),
                            restocked: false,
                        }
                    }
                };
                if refund.amount.cents() != -m.amount.cents() {
                    problems.push(format!(
                        "refund {id} is {} at Stripe but {} on order {}",
                        Money::from_cents(-m.amount.cents()).to_decimal_string(),
                        refund.amount.to_decimal_string(),
                        order.id
                    ));
                }
                b.refund(order, &refund, m.fee);
            }
            (_, _, Some(slug)) => {
                add(&mut balance.transfers, m.amount.cents());
                add(&mut b.chalet(&slug, None).transferred, -m.amount.cents());
            }
            _ => {
                add(&mut balance.other, m.net.cents());
                others.push(Other {
                    id: match &m.source {
                        Source::Charge { id, .. }
                        | Source::Refund { id, .. }
                        | Source::Transfer { id, .. }
                        | Source::Reversal { id, .. }
                        | Source::Other(id) => id.clone(),
                    },
                    kind: m.kind.clone(),
                    amount: m.amount,
                    fee: m.fee,
                    net: m.net,
                });
            }
        }
    }
    let mut chalets: Vec<ChaletStatement> = b.chalets.into_values().collect();
    let mut totals = ChaletStatement {
        chalet: "TOTAL".into(),
        ..Default::default()
    };
    for c in &mut chalets {
        c.net = Money::from_cents(c.gross.cents() - c.refunds.cents() - c.fees.cents() - c.commission.cents());
        for (t, v) in [
            (&mut totals.gross, c.gross),
            (&mut totals.refunds, c.refunds),
            (&mut totals.fees, c.fees),
            (&mut totals.commission, c.commission),
            (&mut totals.net, c.net),
            (&mut totals.transferred, c.transferred),
        ] {
            add(t, v.cents());
        }
        totals.orders += c.orders;
    }
    // With Stripe: everything but the transfers is the chalets', the organisers' or another's.
    let explained = totals.net.cents() + totals.commission.cents() + balance.other.cents() + balance.transfers.cents();
    if explained != balance.net.cents() {
        problems.push(format!(
            "the chalets' net, the commission, transfers and other movements make {} but Stripe's balance moved by {}",
            Money::from_cents(explained).to_decimal_string(),
            balance.net.to_decimal_string()
        ));
    }
    // With the orders: every order of the period was charged in it.
    let mut orders_in_period = 0;
    let mut orders_total = 0;
    let (first, last) = (from.to_string(), to.to_string());
    for o in orders.iter().filter(|o| {
        let day = o.created.get(..10).unwrap_or_default();
        day >= first.as_str() && day <= last.as_str()
    }) {
        orders_in_period += 1;
        orders_total += o.total.cents();
        if !charged.contains(o.id.as_str()) && o.total.cents() > 0 {
            problems.push(format!(
                "order {} ({}, {}) has no charge in the period's balance",
                o.id,
                o.created,
                o.total.to_decimal_string()
            ));
        }
    }
    Statement {
        from,
        to,
        commission_bp,
        chalets,
        totals,
        balance,
        others,
        orders_in_period,
        orders_total: Money::from_cents(orders_total),
        problems,
    }
}

pub const CSV_HEADER: [&str; 9] = [
    "chalet",
    "name",
    "orders",
    "gross",
    "refunds",
    "stripe_fees",
    "commission",
    "net_owed",
    "transferred",
];

/// One row per chalet and a `TOTAL` row, amounts in euros with two decimals.
pub fn csv(s: &Statement) -> String {
    let mut out = String::new();
    crate::links::push_row(&mut out, CSV_HEADER.iter().map(|h| h.to_string()));
    for c in s.chalets.iter().chain([&s.totals]) {
        crate::links::push_row(
            &mut out,
            [
                c.chalet.clone(),
                c.name.clone(),
                c.orders.to_string(),
                c.gross.to_decimal_string(),
                c.refunds.to_decimal_string(),
                c.fees.to_decimal_string(),
                c.commission.to_decimal_string(),
                c.net.to_decimal_string(),
                c.transferred.to_decimal_string(),
            ]
            .into_iter(),
        );
    }
    out
}

/// What the organisers read beside the figures: the checks and what does not hold.
pub fn summary(s: &Statement) -> String {
    let b = &s.balance;
    let mut out = format!(
        "statement {} to {} (UTC), commission {}.{:02} %\n\
         Stripe: charges {}, refunds {}, fees {}, transfers {}, other {} = net {}\n\
         chalets: gross {}, refunds {}, fees {}, commission {}, owed {}, transferred {}\n\
         orders dated in the period: {} totalling {}\n",
        s.from,
        s.to,
        s.commission_bp / 100,
        s.commission_bp % 100,
        b.charges.to_decimal_string(),
        b.refunds.to_decimal_string(),
        b.fees.to_decimal_string(),
        b.transfers.to_decimal_string(),
        b.other.to_decimal_string(),
        b.net.to_decimal_string(),
        s.totals.gross.to_decimal_string(),
        s.totals.refunds.to_decimal_string(),
        s.totals.fees.to_decimal_string(),
        s.totals.commission.to_decimal_string(),
        s.totals.net.to_decimal_string(),
        s.totals.transferred.to_decimal_string(),
        s.orders_in_period,
        s.orders_total.to_decimal_string(),
    );
    for o in &s.others {
        out.push_str(&format!(
            "no chalet's: {} {} {} (fee {})\n",
            o.kind,
            o.id,
            o.amount.to_decimal_string(),
            o.fee.to_decimal_string()
        ));
    }
    if s.reconciles() {
        out.push_str("reconciles to the cent with Stripe's balance and the orders\n");
    }
    for p in &s.problems {
        out.push_str(&format!("does not reconcile: {p}\n"));
    }
    out
}

/// A printable page: the organisers' summary, then each chalet's figures.
pub fn html(s: &Statement, market: &str) -> String {
    use chalet_types::html::escape;
    let money = |m: Money| format!("{} €", m.to_decimal_string());
    let mut rows = String::new();
    for c in s.chalets.iter().chain([&s.totals]) {
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(if c.name.is_empty() { &c.chalet } else { &c.name }),
            c.orders,
            money(c.gross),
            money(c.refunds),
            money(c.fees),
            money(c.commission),
            money(c.net),
            money(c.transferred),
        ));
    }
    let checks: String = summary(s).lines().map(|l| format!("<li>{}</li>", escape(l))).collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{market} — statement {from} to {to}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}\
         td,th{{padding:.3rem .6rem;border-bottom:1px solid #ccc;text-align:right}}th[scope=row]{{text-align:left}}</style></head>\n\
         <body><h1>{market}</h1><p>Statement from {from} to {to} (UTC days, both included).</p>\n\
         <table><thead><tr><th scope=\"col\">Chalet</th><th scope=\"col\">Orders</th><th scope=\"col\">Gross</th>\
         <th scope=\"col\">Refunds</th><th scope=\"col\">Stripe fees</th><th scope=\"col\">Commission</th>\
         <th scope=\"col\">Owed</th><th scope=\"col\">Transferred</th></tr></thead>\n<tbody>\n{rows}</tbody></table>\n\
         <h2>Checks</h2><ul>{checks}</ul></body></html>\n",
        market = escape(market),
        from = s.from,
        to = s.to,
    )
}

/// The statement of `[from, to]`: the period's balance from Stripe, every order from the table,
/// the commission from the market row; with the market's name, for the page's title.
pub async fn run(
    st: &crate::AppState,
    from: Date,
    to: Date,
) -> Result<(Statement, String), crate::transfers::TransferError> {
    let market = st.store.market().await?.unwrap_or_default();
    let orders = st.store.all_orders().await?;
    let (start, end) = bounds(from, to);
    let movements = st.stripe.balance(start, end).await?;
    Ok((
        statement(from, to, &orders, &movements, market.commission_bp),
        market.name,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chalet_types::{OrderLine, Sku};

    fn order(id: &str, created: &str, pi: &str, cents: i64) -> Order {
        Order {
            id: id.into(),
            created: created.into(),
            email: None,
            name: None,
            phone: None,
            ship_to: None,
            lines: vec![OrderLine::plain(
                Sku::parse("a/x").expect("sku"),
                Money::from_cents(cents),
                1,
            )],
            fulfilment: Vec::new(),
            total: Money::from_cents(cents),
            payment_intent: Some(pi.into()),
            needs_attention: false,
            refunds: Vec::new(),
            disputes: Vec::new(),
        }
    }

    fn charge(pi: &str, amount: i64, fee: i64, created: i64) -> Movement {
        Movement {
            id: format!("txn_{pi}"),
            kind: "charge".into(),
            amount: Money::from_cents(amount),
            fee: Money::from_cents(fee),
            net: Money::from_cents(amount - fee),
            created,
            source: Source::Charge {
                id: format!("ch_{pi}"),
                payment_intent: Some(pi.into()),
            },
        }
    }

    #[test]
    fn what_does_not_add_up_is_said_and_what_is_no_chalet_s_is_kept_apart() {
        let day = Date::parse("2026-12-02").expect("date");
        let (start, _) = bounds(day, day);
        let orders = [
            order("cs_a", "2026-12-02T10:00:00Z", "pi_a", 1_000),
            order("cs_b", "2026-12-02T11:00:00Z", "pi_b", 2_000),
        ];
        let registration = Movement {
            source: Source::Charge {
                id: "ch_reg".into(),
                payment_intent: Some("pi_reg".into()),
            },
            ..charge("pi_reg", 15_000, 250, start + 10)
        };
        // cs_a's charge is 900 for a 1,000 order; cs_b was never charged in the period.
        let movements = [
            charge("pi_a", 900, 39, start + 5),
            registration,
            charge("pi_late", 500, 32, start + 86_400),
        ];
        let s = statement(day, day, &orders, &movements, 0);
        assert!(!s.reconciles());
        assert!(
            s.problems
                .iter()
                .any(|p| p.contains("charge ch_pi_a is 9.00 but its order cs_a totals 10.00")),
            "{:?}",
            s.problems
        );
        assert!(
            s.problems.iter().any(|p| p.starts_with("order cs_b")),
            "{:?}",
            s.problems
        );
        // The registration fee is no chalet's; the next day's charge is not in the period.
        assert_eq!(s.others.len(), 1);
        assert_eq!(s.others[0].net.cents(), 14_750);
        assert_eq!(s.balance.net.cents(), 861 + 14_750);

        // Charged as recorded: it reconciles.
        let movements = [
            charge("pi_a", 1_000, 40, start + 5),
            charge("pi_b", 2_000, 55, start + 6),
        ];
        let s = statement(day, day, &orders, &movements, 1_000);
        assert_eq!(s.problems, Vec::<String>::new());
        assert_eq!(s.totals.net.cents() + s.totals.commission.cents(), 3_000 - 95);
        assert!(summary(&s).contains("reconciles to the cent"));
    }
}
