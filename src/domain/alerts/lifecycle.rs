//! What happens to stored alerts when a patient's journal is evaluated: which findings open or
//! refresh an alert, which alerts resolve themselves, when a notification is due, and the words
//! the patient reads. Pure: the service feeds it what the store read and writes what it decides.
//!
//! # Lifecycle
//!
//! An alert is *open* when a rule first fires, *acknowledged* once the patient has seen it (a
//! therapist's acknowledgement is recorded as theirs and silences nobody), and *resolved*
//! either automatically or by hand. At most one unresolved alert exists per patient and rule;
//! every evaluation that still finds the rule refreshes it (its evidence and `last_seen_at`)
//! instead of opening another.
//!
//! - **Notifications** ([`notification_due`]): when it opens; at once whenever its evidence
//!   shows a report ([`facts`]) its latest notification did not, acknowledged or not; an
//!   emergency the patient has not acknowledged is repeated to the patient after each of
//!   [`AlertThresholds::emergency_repeat_hours`]; any other alert the patient has not
//!   acknowledged again once per [`AlertThresholds::renotify_cooldown_days`].
//! - **Automatic resolution** ([`review`]): only when the rule, run on enough data
//!   ([`enough_data`]), does not fire today — never while the patient is simply not logging,
//!   and never an emergency or urgent alert the patient has not acknowledged. One not yet
//!   pushed is *withdrawn* at once (entries that arrived later took it back); one already
//!   pushed resolves as *cleared* once its rule has not fired on any of the last
//!   [`AlertThresholds::auto_resolve_clear_days`] local days, decided from the journal itself
//!   (the rule is run as of each of those days), not from how often evaluations ran.
//! - **Resolving by hand** ends the alert; the same facts do not raise it again. A rule that
//!   fires on reports (symptoms, check-in answers) opens a new alert only for a report the
//!   resolved alert did not show (a symptom ticked on another day, another check-in). The pain
//!   trend rules (`persistent`, `worsening`, `severe_pain`), whose evidence moves on every day, open a new
//!   alert only if they still fire once the re-notification cooldown has passed since the
//!   resolution.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::days::{Period, WEEK, logged_days};
use super::{AlertThresholds, CheckIn, Evidence, Finding, RuleId, Tier, evaluate, evaluate_rule, lookback};
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

/// Why an alert resolved itself, in words the patient reads with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResolutionReason {
    /// Entries that arrived later (a backlog synced out of order, a corrected entry) showed that
    /// its condition did not hold, before anyone had been notified: it is withdrawn and its
    /// pending notifications are cancelled.
    Withdrawn,
    /// After it was notified, entries on enough days showed that its condition has cleared.
    Cleared,
}

impl ResolutionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ResolutionReason::Withdrawn => "withdrawn",
            ResolutionReason::Cleared => "cleared",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [ResolutionReason::Withdrawn, ResolutionReason::Cleared].into_iter().find(|r| r.as_str() == value)
    }

    pub fn explain(self) -> &'static str {
        match self {
            ResolutionReason::Withdrawn => {
                "Entries added later show that this no longer applies, so it was withdrawn before you were notified."
            }
            ResolutionReason::Cleared => "Your later entries show improvement: this has cleared.",
        }
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
    /// Why it resolved itself; `None` when resolved by hand (and for automatic resolutions
    /// made before reasons were kept).
    pub reason: Option<ResolutionReason>,
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
    /// The patient's own acknowledgement: the only one that stops their notifications.
    pub acknowledged: Option<Acknowledged>,
    /// Each therapist who has seen it, once, oldest first: shown to the patient and the other
    /// therapists; it silences nobody.
    pub therapist_acknowledgements: Vec<Acknowledged>,
    pub resolved: Option<Resolved>,
    /// When the latest notification was sent, or will be once quiet hours end.
    pub notified_at: Option<DateTime<Utc>>,
    /// Notifications produced so far; the next one is number `notification_count + 1`.
    pub notification_count: u32,
    /// The reports (see [`facts`]) its latest notification told of: a report not among them
    /// is new evidence and is notified at once.
    pub notified_facts: Vec<String>,
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
    /// Unresolved alerts that resolve themselves (see the module docs).
    pub resolve: Vec<AutoResolve>,
}

/// An automatic resolution, with the `last_seen_at` the alert was read with (an evaluation that
/// refreshed it since wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoResolve {
    pub id: Uuid,
    pub last_seen_at: DateTime<Utc>,
    pub reason: ResolutionReason,
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
        .filter_map(|alert| {
            let reason = auto_resolution(alert, rollups, check_ins, today, now, t)?;
            Some(AutoResolve { id: alert.id, last_seen_at: alert.last_seen_at, reason })
        })
        .collect();
    let record = findings
        .into_iter()
        .filter(|f| unresolved().any(|a| a.rule == f.rule) || !held_by_resolution(f, alerts, now, t))
        .collect();
    Review { record, resolve }
}

/// Whether an unresolved alert whose rule does not fire today resolves itself, and why. Only
/// when enough data says its condition has cleared: not while the patient is simply not
/// logging, and never a red flag the patient has not acknowledged.
fn auto_resolution(
    alert: &Alert,
    rollups: &[DailyRollup],
    check_ins: &[CheckIn],
    today: NaiveDate,
    now: DateTime<Utc>,
    t: &AlertThresholds,
) -> Option<ResolutionReason> {
    if alert.tier.is_red_flag() && alert.acknowledged.is_none() {
        return None;
    }
    if !enough_data(alert, rollups, check_ins, today, t) {
        return None;
    }
    if !was_pushed(alert, now) {
        // Entries that arrived since it opened cancel it before anyone was told.
        return Some(ResolutionReason::Withdrawn);
    }
    clear_for(alert.rule, rollups, check_ins, today, t).then_some(ResolutionReason::Cleared)
}

/// Some notification of the alert has gone out (not merely been scheduled).
fn was_pushed(alert: &Alert, now: DateTime<Utc>) -> bool {
    match alert.notification_count {
        0 => false,
        1 => alert.notified_at.is_some_and(|at| at <= now),
        _ => true,
    }
}

/// Whether today's journal says enough for the rule's silence to mean its condition cleared.
///
/// - `persistent`: the logged days its window needs, and [`AlertThresholds::min_logged_days_per_week`]
///   in both its first and its last week.
/// - `worsening`: its minimum logged days in both weeks.
/// - Report rules (symptoms, check-in answers): that many logged days (journal days or check-in
///   answers) in the look-back, or the reports behind the alert are no longer there though
///   they are still inside the look-back (the patient deleted or corrected them).
pub fn enough_data(
    alert: &Alert,
    rollups: &[DailyRollup],
    check_ins: &[CheckIn],
    today: NaiveDate,
    t: &AlertThresholds,
) -> bool {
    let weekly = t.min_logged_days_per_week as usize;
    let logged = |period: Period| logged_days(rollups, period).len();
    match alert.rule {
        RuleId::Persistent => {
            let window = Period::ending(today, t.persistent_window_days);
            logged(window) >= t.persistent_min_logged_days as usize
                && logged(Period::starting(window.from, WEEK)) >= weekly
                && logged(Period::ending(today, WEEK)) >= weekly
        }
        RuleId::Worsening => {
            let min = t.worsening_min_logged_days_per_week.max(t.min_logged_days_per_week) as usize;
            let last = Period::ending(today, WEEK);
            logged(last) >= min && logged(last.preceding(WEEK)) >= min
        }
        _ => {
            let lookback = lookback(today, t);
            let mut days: BTreeSet<NaiveDate> = logged_days(rollups, lookback).into_iter().map(|d| d.date).collect();
            days.extend(check_ins.iter().map(|c| c.answered_on).filter(|d| lookback.contains(*d)));
            let reports: Vec<NaiveDate> = alert
                .evidence
                .iter()
                .filter_map(|e| match e {
                    Evidence::Symptom { date, .. } => Some(*date),
                    Evidence::CheckIn(c) => Some(c.answered_on),
                    _ => None,
                })
                .collect();
            let retracted = !reports.is_empty() && reports.iter().all(|d| lookback.contains(*d));
            days.len() >= weekly || retracted
        }
    }
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
            // Pain trend rules: their evidence (days and values) moves on every day.
            RuleId::Persistent | RuleId::Worsening | RuleId::SeverePain => {
                now < resolved.at + day_count(t.renotify_cooldown_days)
            }
            _ => finding.evidence.iter().all(|fact| alert.evidence.contains(fact)),
        },
        _ => false,
    }
}

/// Why a notification of an alert is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueReason {
    /// It has never been notified.
    Opened,
    /// It shows a report its latest notification did not: told at once, to everyone, whatever
    /// the acknowledgements or the cooldown.
    NewEvidence,
    /// Unacknowledged by the patient and still firing once the cooldown has passed.
    Cooldown,
    /// An emergency the patient has not acknowledged, repeated to the patient alone.
    Repeat,
}

impl DueReason {
    /// Whether therapists get a copy: not of the patient's emergency repeats.
    pub fn reaches_therapists(self) -> bool {
        self != DueReason::Repeat
    }

    /// Whether the write that caused it returns the alert: it was raised or escalated.
    pub fn raises(self) -> bool {
        matches!(self, DueReason::Opened | DueReason::NewEvidence)
    }
}

/// A notification due for an alert: its number (the next after `notification_count`) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub number: u32,
    pub reason: DueReason,
}

/// The reports behind an alert, as re-notification compares them: each symptom by name (a
/// symptom ticked again on another day is the same evidence, held back by the cooldown) and
/// each check-in answer by session and check-in. Pain figures are not reports: the trend rules
/// move with every day logged and are only re-notified after the cooldown.
pub fn facts(evidence: &[Evidence]) -> Vec<String> {
    let facts: BTreeSet<String> = evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Symptom { symptom, .. } => Some(format!("symptom:{}", symptom.as_str())),
            Evidence::CheckIn(c) => Some(format!("check_in:{}:{}", c.session_id, c.hours_after)),
            _ => None,
        })
        .collect();
    facts.into_iter().collect()
}

/// The notification an unresolved alert that still fires is due for at `now`, if any:
///
/// 1. never notified: at once;
/// 2. a report not in [`Alert::notified_facts`]: at once, acknowledged or not;
/// 3. acknowledged by the patient: nothing more (a therapist's acknowledgement does not count);
/// 4. an emergency: repeated to the patient after each interval of
///    [`AlertThresholds::emergency_repeat_hours`] in turn, the last one over and over;
/// 5. otherwise again once [`AlertThresholds::renotify_cooldown_days`] have passed.
pub fn notification_due(alert: &Alert, now: DateTime<Utc>, t: &AlertThresholds) -> Option<Due> {
    if alert.resolved.is_some() {
        return None;
    }
    let number = alert.notification_count + 1;
    let due = |reason| Some(Due { number, reason });
    let Some(last) = alert.notified_at.filter(|_| alert.notification_count > 0) else {
        return due(DueReason::Opened);
    };
    if facts(&alert.evidence).iter().any(|fact| !alert.notified_facts.contains(fact)) {
        return due(DueReason::NewEvidence);
    }
    if alert.acknowledged.is_some() {
        return None;
    }
    if alert.tier == Tier::Emergency {
        let step = repeat_interval(alert.notification_count, t);
        return if now >= last + step { due(DueReason::Repeat) } else { None };
    }
    if now >= last + day_count(t.renotify_cooldown_days) { due(DueReason::Cooldown) } else { None }
}

/// The wait after notification `count` (1 for the first) before an emergency is repeated.
pub fn repeat_interval(count: u32, t: &AlertThresholds) -> TimeDelta {
    let steps = &t.emergency_repeat_hours;
    let index = (count.max(1) - 1) as usize;
    let hours = steps.get(index).or(steps.last()).copied().unwrap_or(12);
    TimeDelta::hours(hours.max(1).into())
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
        let notified = facts(&evidence);
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
            notified_facts: notified,
            therapist_acknowledgements: vec![],
        }
    }

    fn seen_by_patient(mut alert: Alert) -> Alert {
        alert.acknowledged = Some(Acknowledged { at: now(), by: Some(alert.patient_id) });
        alert
    }

    /// Every day of the evaluation window logged at pain 2, plus a fever `n` days ago.
    fn daily_with_fever_on(n: i64) -> Vec<DailyRollup> {
        let mut rollups: Vec<DailyRollup> = (0..27).filter(|d| *d != n).map(|d| day(ago(d), 2)).collect();
        rollups.extend(fever_on(n));
        rollups
    }

    fn resolved_by_hand(mut alert: Alert, at: DateTime<Utc>) -> Alert {
        alert.resolved = Some(Resolved { at, how: Resolution::Manual, by: Some(alert.patient_id), reason: None });
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
    fn an_alert_resolves_once_enough_entries_show_it_clear_for_seven_days() {
        let open = seen_by_patient(alert(RuleId::Fever, vec![]));
        // A fever reported 7 days ago fired until yesterday (look-back 7 days): not clear yet.
        for n in 7..=12 {
            let review = review(std::slice::from_ref(&open), &daily_with_fever_on(n), &[], today(), now(), &t());
            assert_eq!(review, Review::default(), "reported {n} days ago");
        }
        // Reported 13 days ago: the rule last fired 7 days ago, so the last 7 days were clear.
        let review = review(std::slice::from_ref(&open), &daily_with_fever_on(13), &[], today(), now(), &t());
        let cleared = AutoResolve { id: open.id, last_seen_at: open.last_seen_at, reason: ResolutionReason::Cleared };
        assert_eq!(review.resolve, [cleared]);
        // Resolved alerts are not resolved again.
        let done = resolved_by_hand(open, now());
        assert_eq!(super::review(&[done], &[], &[], today(), now(), &t()), Review::default());
    }

    #[test]
    fn silence_is_not_recovery() {
        let open = seen_by_patient(alert(RuleId::Fever, vec![]));
        // Reported 13 days ago, then nothing: not enough data, it stays.
        let review = review(std::slice::from_ref(&open), &fever_on(13), &[], today(), now(), &t());
        assert_eq!(review, Review::default());
        // The look-back (7 days) needs 3 logged days: 2 is below, 3 at, 4 above.
        for (logged, resolves) in [(2, false), (3, true), (4, true)] {
            let mut rollups = fever_on(13);
            rollups.extend((0..logged).map(|d| day(ago(d), 2)));
            let review = super::review(std::slice::from_ref(&open), &rollups, &[], today(), now(), &t());
            assert_eq!(review.resolve.len(), usize::from(resolves), "{logged} logged days");
        }
    }

    #[test]
    fn a_red_flag_the_patient_has_not_acknowledged_never_resolves_itself() {
        let unseen = alert(RuleId::Fever, vec![]);
        let review = review(std::slice::from_ref(&unseen), &daily_with_fever_on(20), &[], today(), now(), &t());
        assert_eq!(review.resolve, []);
        let mut therapist_saw_it = unseen.clone();
        therapist_saw_it.therapist_acknowledgements = vec![Acknowledged { at: now(), by: Some(Uuid::from_u128(9)) }];
        let review = super::review(&[therapist_saw_it], &daily_with_fever_on(20), &[], today(), now(), &t());
        assert_eq!(review.resolve, [], "a therapist's acknowledgement is not the patient's");
    }

    #[test]
    fn an_alert_not_yet_pushed_is_withdrawn_when_later_entries_clear_it() {
        // Worsening opened on a partial week, its notification waiting (settling, quiet hours).
        let mut waiting = alert(RuleId::Worsening, vec![]);
        waiting.notified_at = Some(now() + TimeDelta::minutes(10));
        // The synced journal shows both weeks at 5: enough data, not worsening.
        let rollups = days(&[(13, 5), (11, 5), (9, 5), (7, 5), (6, 5), (4, 5), (2, 5), (0, 5)]);
        let review = review(std::slice::from_ref(&waiting), &rollups, &[], today(), now(), &t());
        assert_eq!(review.resolve[0].reason, ResolutionReason::Withdrawn);
        // Three days in the previous week are not enough for worsening (4): nothing is decided.
        let thin = days(&[(13, 5), (11, 5), (9, 5), (6, 5), (4, 5), (2, 5), (0, 5)]);
        assert_eq!(super::review(std::slice::from_ref(&waiting), &thin, &[], today(), now(), &t()).resolve, []);
        // Once pushed, it resolves only after the clear days, with a reason the patient can read.
        let mut pushed = waiting.clone();
        pushed.notified_at = Some(now() - TimeDelta::hours(1));
        let review = super::review(std::slice::from_ref(&pushed), &rollups, &[], today(), now(), &t());
        assert_eq!(review.resolve[0].reason, ResolutionReason::Cleared);
        assert!(ResolutionReason::Cleared.explain().contains("later entries show improvement"));
    }

    #[test]
    fn the_clear_days_follow_the_setting() {
        let open = seen_by_patient(alert(RuleId::Fever, vec![]));
        let short = AlertThresholds { auto_resolve_clear_days: 2, ..t() };
        let at = |n| review(std::slice::from_ref(&open), &daily_with_fever_on(n), &[], today(), now(), &short);
        assert!(at(7).resolve.is_empty());
        assert_eq!(at(8).resolve.len(), 1);
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
        auto.resolved = Some(Resolved { at: now(), how: Resolution::Auto, by: None, reason: None });
        assert_eq!(rules(&review(&[auto], &rollups, &[], today(), now(), &t())), [RuleId::Fever]);
    }

    #[test]
    fn only_the_latest_resolution_of_a_rule_counts() {
        let rollups = fever_on(2);
        let evidence = evaluate(&rollups, &[], today(), &t()).remove(0).evidence;
        let by_hand = resolved_by_hand(alert(RuleId::Fever, evidence.clone()), now() - TimeDelta::days(2));
        let mut auto = alert(RuleId::Fever, evidence);
        auto.resolved =
            Some(Resolved { at: now() - TimeDelta::days(1), how: Resolution::Auto, by: None, reason: None });
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

    fn due(number: u32, reason: DueReason) -> Option<Due> {
        Some(Due { number, reason })
    }

    #[test]
    fn notifications_wait_for_the_cooldown_and_stop_once_the_patient_acknowledges() {
        let mut open = alert(RuleId::Fever, vec![]);
        open.notified_at = None;
        open.notification_count = 0;
        assert_eq!(notification_due(&open, now(), &t()), due(1, DueReason::Opened));
        open.notified_at = Some(now());
        open.notification_count = 1;
        assert_eq!(notification_due(&open, now() + TimeDelta::days(7) - TimeDelta::seconds(1), &t()), None);
        assert_eq!(notification_due(&open, now() + TimeDelta::days(7), &t()), due(2, DueReason::Cooldown));
        // Scheduled for the end of quiet hours: the cooldown counts from then.
        open.notified_at = Some(now() + TimeDelta::hours(10));
        assert_eq!(notification_due(&open, now() + TimeDelta::days(7), &t()), None);
        // A therapist's acknowledgement silences nothing.
        let mut therapist_saw_it = open.clone();
        therapist_saw_it.therapist_acknowledgements = vec![Acknowledged { at: now(), by: Some(Uuid::from_u128(9)) }];
        assert_eq!(therapist_saw_it.status(), Status::Open);
        assert_eq!(notification_due(&therapist_saw_it, now() + TimeDelta::days(30), &t()), due(2, DueReason::Cooldown));
        let seen = seen_by_patient(open.clone());
        assert_eq!(seen.status(), Status::Acknowledged);
        assert_eq!(notification_due(&seen, now() + TimeDelta::days(30), &t()), None);
        let done = resolved_by_hand(open, now());
        assert_eq!(done.status(), Status::Resolved);
        assert_eq!(notification_due(&done, now() + TimeDelta::days(30), &t()), None);
    }

    #[test]
    fn a_new_report_is_notified_at_once_whatever_the_acknowledgement_or_cooldown() {
        let saddle = Evidence::Symptom { date: ago(2), symptom: Symptom::SaddleNumbness };
        let mut seen = seen_by_patient(alert(RuleId::CaudaEquinaSigns, vec![saddle.clone()]));
        seen.notified_facts = facts(&seen.evidence);
        seen.notified_at = Some(now() - TimeDelta::minutes(5));
        assert_eq!(notification_due(&seen, now(), &t()), None);
        // The same symptom ticked again on another day is the same evidence.
        seen.evidence.push(Evidence::Symptom { date: ago(0), symptom: Symptom::SaddleNumbness });
        assert_eq!(notification_due(&seen, now(), &t()), None);
        // Loss of bladder control is new.
        seen.evidence.push(Evidence::Symptom { date: ago(0), symptom: Symptom::BladderOrBowelChange });
        assert_eq!(notification_due(&seen, now(), &t()), due(2, DueReason::NewEvidence));
        assert!(DueReason::NewEvidence.reaches_therapists() && DueReason::NewEvidence.raises());
        // Another check-in answer is new too.
        let mut sore = seen_by_patient(alert(RuleId::SorenessAfterMassage, vec![]));
        let first = check_in(48, 8, ago(1), None);
        sore.evidence = vec![Evidence::CheckIn(first.clone())];
        sore.notified_facts = facts(&sore.evidence);
        assert_eq!(notification_due(&sore, now(), &t()), None);
        let other = CheckIn { session_id: Uuid::from_u128(0x0a), ..first };
        sore.evidence.push(Evidence::CheckIn(other));
        assert_eq!(notification_due(&sore, now(), &t()), due(2, DueReason::NewEvidence));
    }

    #[test]
    fn an_unacknowledged_emergency_is_repeated_to_the_patient_at_growing_intervals() {
        let saddle = Evidence::Symptom { date: ago(0), symptom: Symptom::SaddleNumbness };
        let mut open = alert(RuleId::CaudaEquinaSigns, vec![saddle]);
        open.notified_facts = facts(&open.evidence);
        open.notified_at = Some(now());
        // 1 h after the first, 4 h after the second, 12 h after the third and from then on.
        for (count, hours) in [(1, 1), (2, 4), (3, 12), (4, 12), (9, 12)] {
            open.notification_count = count;
            let step = TimeDelta::hours(hours);
            assert_eq!(notification_due(&open, now() + step - TimeDelta::seconds(1), &t()), None, "{count}");
            assert_eq!(notification_due(&open, now() + step, &t()), due(count + 1, DueReason::Repeat), "{count}");
            assert_eq!(
                notification_due(&open, now() + step + TimeDelta::hours(1), &t()),
                due(count + 1, DueReason::Repeat)
            );
        }
        assert!(!DueReason::Repeat.reaches_therapists() && !DueReason::Repeat.raises());
        // The intervals are configurable.
        let fast = AlertThresholds { emergency_repeat_hours: vec![2], ..t() };
        open.notification_count = 1;
        assert_eq!(notification_due(&open, now() + TimeDelta::hours(1), &fast), None);
        assert_eq!(notification_due(&open, now() + TimeDelta::hours(2), &fast), due(2, DueReason::Repeat));
        // Acknowledged by the patient: no more repeats.
        assert_eq!(notification_due(&seen_by_patient(open), now() + TimeDelta::days(3), &t()), None);
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
