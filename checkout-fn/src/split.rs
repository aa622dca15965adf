//! How one payment's money divides between the chalets of its order, in one place: statements
//! and transfers both call these, so what a statement says a chalet is owed is what the
//! transfers pay it, to the cent.
//!
//! - A chalet's **gross** is its lines and its shipping fee.
//! - Stripe's **fee** on the charge is shared pro rata to the gross, by largest remainder, so
//!   the shares add up to the fee exactly (a rounding per share would lose or invent cents).
//! - The organisers' **commission** is `commission_bp` basis points of the gross, rounded half
//!   up, per chalet and order; a refund gives back the commission on what it refunds.
//! - A **refund** is shared by the lines it names when they add up to it, else pro rata to the
//!   lines it names, else to the gross.

use chalet_types::{Money, Order, OrderRefund, Slug};

/// One chalet's part of one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub chalet: Slug,
    pub gross: Money,
    pub fee: Money,
    pub commission: Money,
}

impl Share {
    /// What the chalet is owed for its part, before refunds.
    pub fn net(&self) -> Money {
        Money::from_cents(self.gross.cents() - self.fee.cents() - self.commission.cents())
    }
}

/// One chalet's part of one refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundShare {
    pub chalet: Slug,
    pub amount: Money,
    /// The commission the organisers give back on it.
    pub commission: Money,
}

impl RefundShare {
    /// What the refund takes from the chalet's net.
    pub fn net(&self) -> Money {
        Money::from_cents(self.amount.cents() - self.commission.cents())
    }
}

/// `bp` basis points of `amount`, rounded half away from zero.
pub fn commission(amount: Money, bp: u32) -> Money {
    let a = i128::from(amount.cents()) * i128::from(bp);
    let rounded = (a.abs() + 5_000) / 10_000 * a.signum();
    Money::from_cents(rounded as i64)
}

/// `total` shared in proportion to `weights` (non-negative), by largest remainder: the parts
/// add up to `total` exactly; ties go to the earlier weight. All zero weights: equal parts.
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let ones = vec![1; weights.len()];
    let weights = if weights.iter().all(|w| *w <= 0) {
        &ones[..]
    } else {
        weights
    };
    let sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    let sign = total.signum();
    let magnitude = i128::from(total.unsigned_abs());
    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = magnitude * i128::from((*w).max(0));
        parts.push(exact / sum);
        remainders.push((exact % sum, i));
    }
    let mut left = magnitude - parts.iter().sum::<i128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.into_iter().map(|p| (p * i128::from(sign)) as i64).collect()
}

/// Each chalet's gross on the order (lines and shipping), in the order's chalet order.
pub fn gross(order: &Order) -> Vec<(Slug, Money)> {
    order
        .chalets()
        .into_iter()
        .map(|c| {
            let lines: i64 = order
                .lines
                .iter()
                .filter(|l| &l.sku.chalet == c)
                .map(|l| l.unit_price.cents() * i64::from(l.quantity))
                .sum();
            let shipping: i64 = order
                .fulfilment
                .iter()
                .filter(|f| &f.chalet == c)
                .map(|f| f.shipping_fee.cents())
                .sum();
            (c.clone(), Money::from_cents(lines + shipping))
        })
        .collect()
}

/// The order's chalets' shares of a charge whose Stripe fee was `fee`.
pub fn shares(order: &Order, fee: Money, commission_bp: u32) -> Vec<Share> {
    let gross = gross(order);
    let weights: Vec<i64> = gross.iter().map(|(_, g)| g.cents()).collect();
    let fees = allocate(fee.cents(), &weights);
    gross
        .into_iter()
        .zip(fees)
        .map(|((chalet, gross), fee)| Share {
            commission: commission(gross, commission_bp),
            chalet,
            gross,
            fee: Money::from_cents(fee),
        })
        .collect()
}

/// The order's chalets' shares of one of its refunds (a refund of an amount the order does
/// not know, made in the dashboard, is `refund` with no lines).
pub fn refund_shares(order: &Order, refund: &OrderRefund, commission_bp: u32) -> Vec<RefundShare> {
    let gross = gross(order);
    let by_lines: Vec<i64> = gross
        .iter()
        .map(|(c, _)| {
            refund
                .lines
                .iter()
                .filter(|r| &r.sku.chalet == c)
                .filter_map(|r| {
                    let line = order.lines.iter().find(|l| l.sku == r.sku)?;
                    Some(line.unit_price.cents() * i64::from(r.quantity.min(line.quantity)))
                })
                .sum()
        })
        .collect();
    let lines_total: i64 = by_lines.iter().sum();
    let parts = if lines_total == refund.amount.cents() {
        by_lines
    } else if lines_total > 0 {
        allocate(refund.amount.cents(), &by_lines)
    } else {
        allocate(
            refund.amount.cents(),
            &gross.iter().map(|(_, g)| g.cents()).collect::<Vec<_>>(),
        )
    };
    gross
        .into_iter()
        .zip(parts)
        .map(|((chalet, _), amount)| {
            let amount = Money::from_cents(amount);
            RefundShare {
                chalet,
                commission: commission(amount, commission_bp),
                amount,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chalet_types::{ChaletFulfilment, FulfilmentChoice, OrderLine, RefundedLine, Sku};
    use proptest::prelude::*;

    fn order(lines: &[(&str, i64, u32)], shipping: &[(&str, i64)]) -> Order {
        let line = |(sku, price, quantity): &(&str, i64, u32)| {
            OrderLine::plain(Sku::parse(sku).expect("sku"), Money::from_cents(*price), *quantity)
        };
        let lines: Vec<OrderLine> = lines.iter().map(line).collect();
        let fulfilment = shipping
            .iter()
            .map(|(c, fee)| ChaletFulfilment {
                chalet: Slug::parse(c).expect("slug"),
                chalet_name: c.to_string(),
                choice: FulfilmentChoice::Shipping,
                shipping_fee: Money::from_cents(*fee),
                pickup_at: None,
                gift_note: None,
            })
            .collect();
        let mut o = Order {
            id: "cs_test_split".into(),
            created: "2026-12-01T10:00:00Z".into(),
            email: None,
            name: None,
            phone: None,
            ship_to: None,
            lines,
            fulfilment,
            total: Money::ZERO,
            payment_intent: Some("pi_1".into()),
            needs_attention: false,
            refunds: Vec::new(),
            disputes: Vec::new(),
        };
        o.total = o.computed_total().expect("total");
        o
    }

    #[test]
    fn the_fee_is_shared_pro_rata_and_adds_up_to_the_cent() {
        // 1,200 + 590 shipping for one chalet, 300 for the other: 2,090; fee 1.5 % + 25 = 56.
        let o = order(&[("a/bougie", 600, 2), ("b/savon", 300, 1)], &[("a", 590)]);
        let s = shares(&o, Money::from_cents(56), 500);
        assert_eq!(s[0].gross, Money::from_cents(1_790));
        assert_eq!(s[1].gross, Money::from_cents(300));
        // 56 × 1790 / 2090 = 47.96 → 48; 56 × 300 / 2090 = 8.04 → 8.
        assert_eq!((s[0].fee.cents(), s[1].fee.cents()), (48, 8));
        // 5 % commission: 89.5 → 90, 15.
        assert_eq!((s[0].commission.cents(), s[1].commission.cents()), (90, 15));
        assert_eq!(s[0].net().cents() + s[1].net().cents(), 2_090 - 56 - 105);
    }

    #[test]
    fn a_refund_follows_its_lines_else_the_gross() {
        let o = order(&[("a/bougie", 600, 2), ("b/savon", 300, 1)], &[]);
        let by_line = OrderRefund {
            id: "re_1".into(),
            amount: Money::from_cents(600),
            lines: vec![RefundedLine {
                sku: Sku::parse("a/bougie").expect("sku"),
                quantity: 1,
            }],
            restocked: false,
        };
        let r = refund_shares(&o, &by_line, 1_000);
        assert_eq!((r[0].amount.cents(), r[1].amount.cents()), (600, 0));
        assert_eq!(r[0].commission.cents(), 60);
        assert_eq!(r[0].net().cents(), 540);
        // A dashboard refund of 100 with no lines: 1,200 : 300.
        let loose = OrderRefund {
            id: "re_2".into(),
            amount: Money::from_cents(100),
            lines: Vec::new(),
            restocked: false,
        };
        let r = refund_shares(&o, &loose, 0);
        assert_eq!((r[0].amount.cents(), r[1].amount.cents()), (80, 20));
    }

    #[test]
    fn commission_rounds_half_away_from_zero() {
        assert_eq!(commission(Money::from_cents(1_790), 500).cents(), 90);
        assert_eq!(commission(Money::from_cents(-1_790), 500).cents(), -90);
        assert_eq!(commission(Money::from_cents(1_000), 0).cents(), 0);
        assert_eq!(commission(Money::from_cents(333), 250).cents(), 8);
    }

    proptest! {
        #[test]
        fn allocation_always_adds_up_and_stays_proportional(
            total in -1_000_000i64..1_000_000,
            weights in proptest::collection::vec(0i64..100_000, 1..12),
        ) {
            let parts = allocate(total, &weights);
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            let sum: i64 = weights.iter().sum();
            for (p, w) in parts.iter().zip(&weights) {
                // Each part is within one cent of its exact share.
                let exact = if sum == 0 { total as f64 / weights.len() as f64 } else { total as f64 * *w as f64 / sum as f64 };
                prop_assert!((*p as f64 - exact).abs() < 1.0 + 1e-9, "{p} vs {exact}");
            }
        }
    }
}
