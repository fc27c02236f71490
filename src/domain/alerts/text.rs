//! Plain-language pieces of explanations. Dates are written as ISO dates (2026-11-12): the
//! explanation is read by patients and therapists in any locale, and clients can render the
//! structured evidence in their own format.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::contact::EmergencyContact;
use super::{RuleId, Tier};
use crate::domain::journal::{LegSymptom, Side, Symptom};

/// What the patient should do about a finding of `rule`, with the numbers of their region.
/// Every see-physio advice ends with the safety net: which symptoms mean emergency services now.
pub(super) fn advice(rule: RuleId, contact: &EmergencyContact) -> String {
    match rule.tier() {
        Tier::Emergency => {
            format!("Call emergency services on {} or go to {} now.", contact.call, contact.emergency_department)
        }
        // NHS DVT advice: medical help today; emergency services now with signs that a clot has
        // reached the lungs.
        Tier::Urgent if rule == RuleId::LegSwelling => format!(
            "Get medical help today: {}. Call emergency services on {} at once if you become breathless, have chest \
             pain or cough up blood.",
            contact.same_day, contact.call
        ),
        Tier::Urgent => format!("Get medical help today: {}.", contact.same_day),
        Tier::SeePhysio => format!("{} {}", Tier::SeePhysio.advice(), safety_net(contact)),
        Tier::TherapistFollowup => Tier::TherapistFollowup.advice().to_owned(),
    }
}

/// A stored explanation ("<what fired> <advice> (<sources>).") in its parts for a reader who
/// wants them apart: what fired, and the advice the patient was given (each ending in a full
/// stop). The advice is found by how every advice of the rule's tier begins, whatever the
/// patient's emergency number; an explanation worded otherwise comes back whole as the finding.
pub fn split_explanation<'a>(explanation: &'a str, rule: RuleId, source: &str) -> (&'a str, &'a str) {
    let text = explanation.strip_suffix(&format!(" ({source}).")).unwrap_or(explanation);
    let opening = match rule.tier() {
        Tier::Emergency => "Call emergency services on ",
        Tier::Urgent => "Get medical help today",
        tier => tier.advice().trim_end_matches('.'),
    };
    match text.find(opening) {
        Some(at) if at > 0 => (text[..at].trim_end(), text[at..].trim_end_matches('.')),
        _ => (text, ""),
    }
}

/// The safety net of every see-physio advice (NHS back-pain pages): the cauda equina signs and
/// symptoms in both legs mean emergency services now, whatever else the patient was told.
pub fn safety_net(contact: &EmergencyContact) -> String {
    format!(
        "If you get numbness around your bottom or genitals, problems peeing or pooping, or symptoms in both legs, \
         call emergency services on {} now.",
        contact.call
    )
}

/// What the patient reported, as a phrase that fits "… on <dates>".
pub(super) fn symptom_phrase(symptom: Symptom) -> String {
    if let Some((kind, side)) = symptom.leg() {
        let side = match side {
            Side::Left => "left",
            Side::Right => "right",
        };
        return match kind {
            LegSymptom::Numbness => format!("numbness in the {side} leg"),
            LegSymptom::Tingling => format!("tingling in the {side} leg"),
            LegSymptom::Weakness => format!("weakness in the {side} leg"),
            LegSymptom::RadiatingPain => format!("pain spreading down the {side} leg"),
        };
    }
    match symptom {
        Symptom::SaddleNumbness => "numbness around the genitals, buttocks or inner thighs",
        Symptom::BladderOrBowelChange => "a new problem passing urine or controlling the bladder or bowels",
        Symptom::Fever => "a fever",
        Symptom::UnexplainedWeightLoss => "weight loss with no known reason",
        Symptom::NightPainNotEasedByRest => "pain at night that rest does not ease",
        Symptom::PainAfterFallOrAccident => "pain after a fall or accident",
        Symptom::LegSwellingRednessWarmth => "a swollen, red, warm or painful leg",
        // Leg symptoms were answered above.
        other => other.as_str(),
    }
    .to_owned()
}

/// "a", "a and b", "a, b and c".
pub(super) fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "2026-11-10", "2026-11-10 and 2026-11-12", …
pub(super) fn dates(dates: &[NaiveDate]) -> String {
    join_and(&dates.iter().map(|d| d.to_string()).collect::<Vec<_>>())
}

/// Journal symptoms grouped by symptom: "numbness in the left leg on 2026-11-10 and 2026-11-12,
/// and tingling in the right leg on 2026-11-12" (lower case, no final full stop).
pub(super) fn symptom_reports(reports: &[(NaiveDate, Symptom)]) -> String {
    let mut by_symptom: BTreeMap<Symptom, Vec<NaiveDate>> = BTreeMap::new();
    for (date, symptom) in reports {
        by_symptom.entry(*symptom).or_default().push(*date);
    }
    let parts: Vec<String> = by_symptom
        .into_iter()
        .map(|(symptom, mut on)| {
            on.sort_unstable();
            on.dedup();
            format!("{} on {}", symptom_phrase(symptom), dates(&on))
        })
        .collect();
    match parts.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

/// A median kept doubled, written as "5" or "5.5".
pub(super) fn half_points(x2: u32) -> String {
    if x2.is_multiple_of(2) { (x2 / 2).to_string() } else { format!("{}.5", x2 / 2) }
}

/// "3 weeks" for multiples of 7, else "20 days".
pub(super) fn span(days: u32) -> String {
    match days {
        7 => "week".to_owned(),
        d if d.is_multiple_of(7) => format!("{} weeks", d / 7),
        1 => "day".to_owned(),
        d => format!("{d} days"),
    }
}

/// `part` of `whole` in whole percent, rounded down (so a share shown never exceeds the truth).
pub(super) fn percent(part: u32, whole: u32) -> u32 {
    if whole == 0 { 0 } else { (u64::from(part) * 100 / u64::from(whole)) as u32 }
}

pub(super) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_cover_every_symptom() {
        for symptom in Symptom::ALL {
            assert!(!symptom_phrase(*symptom).is_empty());
        }
        assert_eq!(symptom_phrase(Symptom::RadiatingPainRightLeg), "pain spreading down the right leg");
    }

    #[test]
    fn explanations_split_into_finding_and_advice_for_any_region() {
        for country in ["GB", "US", "AU", "DE"] {
            let contact = EmergencyContact::for_country(country);
            for rule in RuleId::ALL {
                let advice = advice(*rule, &contact);
                let explanation =
                    format!("Pain 7 on 2026-11-12. Worse. {} ({}).", advice.trim_end_matches('.'), rule.source());
                let (finding, told) = split_explanation(&explanation, *rule, rule.source());
                assert_eq!(finding, "Pain 7 on 2026-11-12. Worse.", "{rule:?} in {country}");
                assert_eq!(told, advice.trim_end_matches('.'), "{rule:?} in {country}");
            }
        }
        assert_eq!(split_explanation("Something else.", RuleId::Fever, "x"), ("Something else.", ""));
    }

    #[test]
    fn advice_names_the_regions_numbers_and_see_physio_carries_the_safety_net() {
        let uk = EmergencyContact::for_country("GB");
        let us = EmergencyContact::for_country("US");
        assert_eq!(advice(RuleId::CaudaEquinaSigns, &uk), "Call emergency services on 999 or go to A&E now.");
        assert_eq!(advice(RuleId::BothLegs, &us), "Call emergency services on 911 or go to the emergency room now.");
        assert_eq!(advice(RuleId::Fever, &uk), "Get medical help today: contact your GP or call NHS 111.");
        assert_eq!(
            advice(RuleId::LegSwelling, &uk),
            "Get medical help today: contact your GP or call NHS 111. Call emergency services on 999 at once if you \
             become breathless, have chest pain or cough up blood."
        );
        for rule in RuleId::ALL.iter().filter(|r| r.tier() == Tier::SeePhysio) {
            let text = advice(*rule, &EmergencyContact::for_country("AU"));
            assert!(
                text.ends_with(
                    "If you get numbness around your bottom or genitals, problems peeing or pooping, or symptoms in \
                     both legs, call emergency services on 000 (112 from a mobile) now."
                ),
                "{rule:?}: {text}"
            );
        }
        assert!(!advice(RuleId::SorenessAfterMassage, &uk).contains("emergency"));
    }

    #[test]
    fn lists_and_numbers() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(join_and(&["a".into()]), "a");
        assert_eq!(join_and(&["a".into(), "b".into(), "c".into()]), "a, b and c");
        assert_eq!(
            symptom_reports(&[
                (d("2026-11-12"), Symptom::TinglingRightLeg),
                (d("2026-11-10"), Symptom::NumbnessLeftLeg),
                (d("2026-11-12"), Symptom::NumbnessLeftLeg),
            ]),
            "numbness in the left leg on 2026-11-10 and 2026-11-12, and tingling in the right leg on 2026-11-12"
        );
        assert_eq!(capitalize("numbness"), "Numbness");
        assert_eq!((half_points(10), half_points(13)), ("5".to_owned(), "6.5".to_owned()));
        assert_eq!((span(21), span(7), span(20)), ("3 weeks".to_owned(), "week".to_owned(), "20 days".to_owned()));
        assert_eq!((percent(15, 18), percent(14, 20), percent(2, 3)), (83, 70, 66));
    }
}
