//! What happens to stored alerts when a patient's journal is evaluated: which findings open or
//! refresh an alert, which alerts resolve themselves, when a notification is due, and the words
//! the patient reads. Pure: the service feeds it what the store read and writes what it decides.
//!
//! # Lifecycle
//!
//! An alert is *open* when a rule first fires, *acknowledged* once the patient (later: a
//! therapist) has seen it, and *resolved* either automatically or by hand. At most one unresolved
//! alert exists per patient and rule; every evaluation that still finds the rule refreshes it
//! (its evidence and `last_seen_at`) instead of opening another.
//!
//! - **Automatic resolution**: an unresolved alert resolves once its rule has not fired on any of
//!   the last [`AlertThresholds::auto_resolve_clear_days`] local days, today included. This is
//!   decided from the journal itself (the rule is run as of each of those days), so it does not
//!   depend on how often evaluations ran; an alert whose reports were deleted resolves at once.
//! - **Notifications**: an unacknowledged, unresolved alert that still fires is notified when it
//!   opens and again at most once per [`AlertThresholds::renotify_cooldown_days`].
//! - **Resolving by hand** ends the alert; the same facts do not raise it again. A rule that
//!   fires on reports (symptoms, check-in answers) opens a new alert only for a report the
//!   resolved alert did not show (a symptom ticked on another day, another check-in). The pain
//!   trend rules (`persistent`, `worsening`), whose evidence moves on every day, open a new
//!   alert only if they still fire once the re-notification cooldown has passed since the
//!   resolution.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::days::WEEK;
use super::{AlertThresholds, CheckIn, Evidence, Finding, RuleId, Tier, evaluate, evaluate_rule};
use crate::domain::rollup::DailyRollup;

/// Where an alert is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    Acknowledged,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
        }
    }
}

/// How an alert was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// Its condition had been clear for the configured days.
    Auto,
    /// Someone resolved it by hand.
    Manual,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Auto => "auto",
            Resolution::Manual => "manual",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Resolution::Auto, Resolution::Manual].into_iter().find(|r| r.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledged {
    pub at: DateTime<Utc>,
    /// The account that acknowledged it; `None` once that account is gone.
    pub by: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub at: DateTime<Utc>,
    pub how: Resolution,
    /// Who resolved it by hand; `None` for automatic resolutions.
    pub by: Option<Uuid>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub rule: RuleId,
    pub tier: Tier,
    /// As of the last evaluation that found the rule firing.
    pub evidence: Vec<Evidence>,
    pub explanation: String,
    pub source: String,
    pub opened_at: DateTime<Utc>,
    /// The last evaluation that still found the rule firing.
    pub last_seen_at: DateTime<Utc>,
    pub acknowledged: Option<Acknowledged>,
    pub resolved: Option<Resolved>,
    /// When the latest notification was sent, or will be once quiet hours end.
    pub notified_at: Option<DateTime<Utc>>,
    /// Notifications produced so far; the next one is number `notification_count + 1`.
    pub notification_count: u32,
}

impl Alert {
    pub fn status(&self) -> Status {
        match (self.resolved, self.acknowledged) {
            (Some(_), _) => Status::Resolved,
            (None, Some(_)) => Status::Acknowledged,
            (None, None) => Status::Open,
        }
    }
}

/// How many local days of journal and check-ins one evaluation reads, ending today: the longest
/// rule window (21 days for `persistent`, two weeks for `worsening`), plus the days before it that
/// automatic resolution runs the rules as of.
pub fn evaluation_days(t: &AlertThresholds) -> u32 {
    let longest = t.persistent_window_days.max(2 * WEEK).max(t.symptom_lookback_days);
    longest + t.auto_resolve_clear_days.max(1) - 1
}

/// Alerts resolved since this instant can still hold back their rule (see the module docs); the
/// store reads them with the unresolved ones.
pub fn resolutions_held_since(now: DateTime<Utc>, t: &AlertThresholds) -> DateTime<Utc> {
    now - day_count(t.renotify_cooldown_days.max(t.symptom_lookback_days))
}

/// What one evaluation of a patient decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    /// Each opens an alert, or refreshes the unresolved alert of its rule.
    pub record: Vec<Finding>,
    /// Unresolved alerts whose condition has been clear long enough, with the `last_seen_at`
    /// they were read with (an evaluation that refreshed them since wins).
    pub resolve: Vec<(Uuid, DateTime<Utc>)>,
}

/// Evaluates a patient as of `today` (their local date at `now`). `alerts` are the patient's
/// unresolved alerts and those resolved since [`resolutions_held_since`]; `rollups` and
/// `check_ins` must cover the [`evaluation_days`] ending today.
pub fn review(
    alerts: &[Alert],
    rollups: &[DailyRollup],
    check_ins: &[CheckIn],
    today: NaiveDate,
    now: DateTime<Utc>,
    t: &AlertThresholds,
) -> Review {
    let findings = evaluate(rollups, check_ins, today, t);
    let unresolved = || alerts.iter().filter(|a| a.resolved.is_none());
    let resolve = unresolved()
        .filter(|alert| !findings.iter().any(|f| f.rule == alert.rule))
        .filter(|alert| clear_for(alert.rule, rollups, check_ins, today, t))
        .map(|alert| (alert.id, alert.last_seen_at))
        .collect();
    let record = findings
        .into_iter()
        .filter(|f| unresolved().any(|a| a.rule == f.rule) || !held_by_resolution(f, alerts, now, t))
        .collect();
    Review { record, resolve }
}

/// The rule has fired on none of the last `auto_resolve_clear_days` local days.
fn clear_for(
    rule: RuleId,
    rollups: &[DailyRollup],
    check_ins: &[CheckIn],
    today: NaiveDate,
    t: &AlertThresholds,
) -> bool {
    (0..t.auto_resolve_clear_days).all(|back| {
        today
            .checked_sub_signed(TimeDelta::days(back.into()))
            .is_none_or(|day| evaluate_rule(rule, rollups, check_ins, day, t).is_none())
    })
}

/// Whether the latest resolution of the finding's rule was by hand and still covers it.
fn held_by_resolution(finding: &Finding, alerts: &[Alert], now: DateTime<Utc>, t: &AlertThresholds) -> bool {
    let latest = alerts
        .iter()
        .filter(|a| a.rule == finding.rule)
        .filter_map(|a| a.resolved.map(|resolved| (resolved, a)))
        .max_by_key(|(resolved, _)| resolved.at);
    match latest {
        Some((resolved, alert)) if resolved.how == Resolution::Manual => match finding.rule {
            RuleId::Persistent | RuleId::Worsening => now < resolved.at + day_count(t.renotify_cooldown_days),
            _ => finding.evidence.iter().all(|fact| alert.evidence.contains(fact)),
        },
        _ => false,
    }
}

/// The number of the notification an alert that still fires is due for at `now`: 1 when it has
/// never been notified, the next once the cooldown has passed since the last; none once it is
/// acknowledged or resolved.
pub fn notification_due(alert: &Alert, now: DateTime<Utc>, t: &AlertThresholds) -> Option<u32> {
    if alert.status() != Status::Open {
        return None;
    }
    match alert.notified_at {
        Some(at) if now < at + day_count(t.renotify_cooldown_days) => None,
        _ => Some(alert.notification_count + 1),
    }
}

fn day_count(n: u32) -> TimeDelta {
    TimeDelta::days(n.into())
}

/// What the patient should do, in full: the API shows it with every alert (the lock-screen push
/// stays generic).
pub fn guidance(tier: Tier) -> &'static str {
    match tier {
        Tier::Emergency => {
            "Call emergency services now (999 or 112 in the UK, 112 in the EU, 911 in the US and Canada) or go \
             straight to the nearest emergency department (A&E). Do not wait to see whether it gets better."
        }
        Tier::Urgent => {
            "Contact a doctor today: your GP surgery, an urgent care service, or NHS 111 in the UK. If you cannot \
             reach one today, go to an urgent treatment centre."
        }
        Tier::SeePhysio => {
            "Book an appointment with a physiotherapist. This is not an emergency, but pain like this is worth having \
             checked. If it gets much worse, or you notice new numbness or weakness, contact a doctor. If you get \
             numbness around your bottom or genitals, problems peeing or pooping, or symptoms in both legs, call \
             emergency services now."
        }
        Tier::TherapistFollowup => {
            "Let your massage therapist know how you are; they will be told and may get in touch. Soreness after a \
             massage should ease within a day or two: if it does not, contact a doctor. If a leg becomes swollen, red, \
             warm or painful, get medical help today, and call emergency services at once if you become breathless, \
             have chest pain or cough up blood."
        }
    }
}

/// Shown with every alert.
pub const NOT_A_DIAGNOSIS: &str = "This is guidance based on what you logged, not a diagnosis. If you are worried \
                                   about your symptoms, contact a health professional.";

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::journal::Symptom;

    fn t() -> AlertThresholds {
        AlertThresholds::default()
    }

    /// Noon UTC on `today()`.
    fn now() -> DateTime<Utc> {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    fn alert(rule: RuleId, evidence: Vec<Evidence>) -> Alert {
        Alert {
            id: Uuid::now_v7(),
            patient_id: Uuid::from_u128(7),
            rule,
            tier: rule.tier(),
            evidence,
            explanation: String::new(),
            source: rule.source().into(),
            opened_at: now() - TimeDelta::days(3),
            last_seen_at: now() - TimeDelta::days(1),
            acknowledged: None,
            resolved: None,
            notified_at: Some(now() - TimeDelta::days(3)),
            notification_count: 1,
        }
    }

    fn resolved_by_hand(mut alert: Alert, at: DateTime<Utc>) -> Alert {
        alert.resolved = Some(Resolved { at, how: Resolution::Manual, by: Some(alert.patient_id) });
        alert
    }

    fn fever_on(n: i64) -> Vec<DailyRollup> {
        vec![with(ago(n), 5, &[Symptom::Fever])]
    }

    fn rules(review: &Review) -> Vec<RuleId> {
        review.record.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_firing_rule_is_recorded_whether_or_not_it_is_open() {
        let rollups = fever_on(2);
        assert_eq!(rules(&review(&[], &rollups, &[], today(), now(), &t())), [RuleId::Fever]);
        let open = alert(RuleId::Fever, vec![]);
        let again = review(std::slice::from_ref(&open), &rollups, &[], today(), now(), &t());
        assert_eq!(rules(&again), [RuleId::Fever], "refreshes the open alert");
        assert_eq!(again.resolve, []);
    }

    #[test]
    fn an_alert_resolves_once_its_rule_has_been_clear_for_seven_days() {
        let open = alert(RuleId::Fever, vec![]);
        // A fever reported 7 days ago fired until yesterday (look-back 7 days): not clear yet.
        for n in 7..=12 {
            let review = review(std::slice::from_ref(&open), &fever_on(n), &[], today(), now(), &t());
            assert_eq!(review, Review::default(), "reported {n} days ago");
        }
        // Reported 13 days ago: the rule last fired 7 days ago, so the last 7 days were clear.
        let review = review(std::slice::from_ref(&open), &fever_on(13), &[], today(), now(), &t());
        assert_eq!(review.resolve, [(open.id, open.last_seen_at)]);
        // With no report at all (the entry was deleted), it resolves at once.
        let review = super::review(std::slice::from_ref(&open), &[], &[], today(), now(), &t());
        assert_eq!(review.resolve.len(), 1);
        // Resolved alerts are not resolved again.
        let done = resolved_by_hand(open, now());
        assert_eq!(super::review(&[done], &[], &[], today(), now(), &t()), Review::default());
    }

    #[test]
    fn the_clear_days_follow_the_setting() {
        let open = alert(RuleId::Fever, vec![]);
        let short = AlertThresholds { auto_resolve_clear_days: 2, ..t() };
        assert!(review(std::slice::from_ref(&open), &fever_on(7), &[], today(), now(), &short).resolve.is_empty());
        assert_eq!(review(std::slice::from_ref(&open), &fever_on(8), &[], today(), now(), &short).resolve.len(), 1);
    }

    #[test]
    fn resolving_by_hand_holds_until_something_new_is_reported() {
        let rollups = fever_on(2);
        let finding = evaluate(&rollups, &[], today(), &t()).remove(0);
        let done = resolved_by_hand(alert(RuleId::Fever, finding.evidence.clone()), now() - TimeDelta::hours(1));
        assert_eq!(rules(&review(std::slice::from_ref(&done), &rollups, &[], today(), now(), &t())), []);
        // A fever ticked again on another day is new.
        let mut more = rollups.clone();
        more.push(with(ago(0), 4, &[Symptom::Fever]));
        assert_eq!(rules(&review(std::slice::from_ref(&done), &more, &[], today(), now(), &t())), [RuleId::Fever]);
        // An automatic resolution holds nothing back.
        let mut auto = done.clone();
        auto.resolved = Some(Resolved { at: now(), how: Resolution::Auto, by: None });
        assert_eq!(rules(&review(&[auto], &rollups, &[], today(), now(), &t())), [RuleId::Fever]);
    }

    #[test]
    fn only_the_latest_resolution_of_a_rule_counts() {
        let rollups = fever_on(2);
        let evidence = evaluate(&rollups, &[], today(), &t()).remove(0).evidence;
        let by_hand = resolved_by_hand(alert(RuleId::Fever, evidence.clone()), now() - TimeDelta::days(2));
        let mut auto = alert(RuleId::Fever, evidence);
        auto.resolved = Some(Resolved { at: now() - TimeDelta::days(1), how: Resolution::Auto, by: None });
        assert_eq!(rules(&review(&[by_hand, auto], &rollups, &[], today(), now(), &t())), [RuleId::Fever]);
    }

    #[test]
    fn trend_rules_resolved_by_hand_wait_for_the_cooldown() {
        // Pain 3 the week before last, 5 last week: `worsening` fires on every day's evaluation.
        let rollups = days(&[(13, 3), (11, 3), (9, 3), (7, 3), (6, 5), (4, 5), (2, 5), (0, 5)]);
        let finding = evaluate(&rollups, &[], today(), &t()).remove(0);
        assert_eq!(finding.rule, RuleId::Worsening);
        let resolved_at = now() - TimeDelta::days(6);
        let done = resolved_by_hand(alert(RuleId::Worsening, vec![]), resolved_at);
        assert_eq!(rules(&review(std::slice::from_ref(&done), &rollups, &[], today(), now(), &t())), []);
        let later = resolved_at + TimeDelta::days(7);
        assert_eq!(rules(&review(&[done], &rollups, &[], today(), later, &t())), [RuleId::Worsening]);
    }

    #[test]
    fn notifications_wait_for_the_cooldown_and_stop_once_acknowledged() {
        let mut open = alert(RuleId::Fever, vec![]);
        open.notified_at = None;
        open.notification_count = 0;
        assert_eq!(notification_due(&open, now(), &t()), Some(1));
        open.notified_at = Some(now());
        open.notification_count = 1;
        assert_eq!(notification_due(&open, now() + TimeDelta::days(7) - TimeDelta::seconds(1), &t()), None);
        assert_eq!(notification_due(&open, now() + TimeDelta::days(7), &t()), Some(2));
        // Scheduled for the end of quiet hours: the cooldown counts from then.
        open.notified_at = Some(now() + TimeDelta::hours(10));
        assert_eq!(notification_due(&open, now() + TimeDelta::days(7), &t()), None);
        let mut seen = open.clone();
        seen.acknowledged = Some(Acknowledged { at: now(), by: Some(seen.patient_id) });
        assert_eq!(seen.status(), Status::Acknowledged);
        assert_eq!(notification_due(&seen, now() + TimeDelta::days(30), &t()), None);
        let done = resolved_by_hand(open, now());
        assert_eq!(done.status(), Status::Resolved);
        assert_eq!(notification_due(&done, now() + TimeDelta::days(30), &t()), None);
    }

    #[test]
    fn an_evaluation_reads_the_longest_window_plus_the_clear_days() {
        assert_eq!(evaluation_days(&t()), 27);
        let long = AlertThresholds { persistent_window_days: 28, auto_resolve_clear_days: 1, ..t() };
        assert_eq!(evaluation_days(&long), 28);
        assert_eq!(resolutions_held_since(now(), &t()), now() - TimeDelta::days(7));
    }

    #[test]
    fn every_tier_has_guidance_that_says_what_to_do() {
        assert!(guidance(Tier::Emergency).starts_with("Call emergency services now"));
        assert!(guidance(Tier::Urgent).starts_with("Contact a doctor today"));
        assert!(guidance(Tier::SeePhysio).starts_with("Book an appointment with a physiotherapist"));
        assert!(guidance(Tier::TherapistFollowup).contains("therapist"));
        assert!(NOT_A_DIAGNOSIS.contains("not a diagnosis"));
    }
}
