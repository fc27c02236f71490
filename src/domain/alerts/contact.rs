//! Whom a patient calls: the emergency number and the same-day service of their region, so that
//! "call emergency services" names a number that works where they are.
//!
//! The region is the region subtag of the patient's locale (`en-GB` → GB); without one, the
//! country of their IANA time zone; without a known country, 112 (it reaches emergency services
//! from mobiles across the EU and in many other countries). Numbers from
//! `notes/clinical-sources.md`: UK 999, Ireland 112 or 999, EU 112, US and Canada 911, Australia
//! 000 (112 from mobiles), New Zealand 111.

use crate::domain::account::Locale;
use crate::domain::time::TimeZone;

/// The emergency and same-day contacts of one region, worded to fit into advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmergencyContact {
    /// ISO 3166 country code the contacts were chosen for; `None` for the 112 fallback.
    pub country: Option<&'static str>,
    /// What to dial, as said in a sentence: "999", "112 or 999", "000 (112 from a mobile)".
    pub call: &'static str,
    /// Where to go instead: "A&E", "an emergency department", "the emergency room".
    pub emergency_department: &'static str,
    /// Same-day medical help: "contact your GP or call NHS 111", "contact a doctor".
    pub same_day: &'static str,
}

/// The 27 EU member states.
const EU: [&str; 27] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

const FALLBACK: EmergencyContact = EmergencyContact {
    country: None,
    call: "112",
    emergency_department: "the nearest emergency department",
    same_day: "contact a doctor",
};

impl Default for EmergencyContact {
    fn default() -> Self {
        FALLBACK
    }
}

impl EmergencyContact {
    /// The contacts for a patient with `locale` living in `zone`.
    pub fn for_patient(locale: &Locale, zone: TimeZone) -> Self {
        match locale_region(locale).or_else(|| zone_country(zone.tz().name())) {
            Some(country) => Self::for_country(&country),
            None => FALLBACK,
        }
    }

    /// The contacts of an ISO 3166 alpha-2 country (upper case); 112 for one not listed.
    pub fn for_country(country: &str) -> Self {
        let country = if country == "UK" { "GB" } else { country };
        let contact = |code, call, emergency_department, same_day| EmergencyContact {
            country: Some(code),
            call,
            emergency_department,
            same_day,
        };
        match country {
            "GB" => contact("GB", "999", "A&E", "contact your GP or call NHS 111"),
            "IE" => contact("IE", "112 or 999", "an emergency department", "contact your GP"),
            "US" => contact("US", "911", "the emergency room", "contact a doctor"),
            "CA" => contact("CA", "911", "the emergency department", "contact a doctor"),
            "AU" => contact("AU", "000 (112 from a mobile)", "the emergency department", "contact a doctor"),
            "NZ" => contact("NZ", "111", "the emergency department", "contact a doctor"),
            eu => match EU.iter().find(|c| **c == eu) {
                Some(code) => contact(code, "112", "the nearest emergency department", "contact a doctor"),
                None => FALLBACK,
            },
        }
    }
}

/// The region subtag of a language tag: two letters after the language (and any script).
/// Numeric regions (`es-419`) name no single country.
fn locale_region(locale: &Locale) -> Option<String> {
    locale
        .as_str()
        .split('-')
        .skip(1)
        .find(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_alphabetic()))
        .map(|part| part.to_ascii_uppercase())
}

/// The country of the time zones of the regions this service names numbers for. Zones shared by
/// several countries, or of other countries, give `None` (and the fallback).
fn zone_country(zone: &str) -> Option<String> {
    const ZONES: &[(&str, &[&str])] = &[
        ("GB", &["Europe/London", "Europe/Belfast", "GB", "GB-Eire"]),
        ("IE", &["Europe/Dublin", "Eire"]),
        ("AT", &["Europe/Vienna"]),
        ("BE", &["Europe/Brussels"]),
        ("BG", &["Europe/Sofia"]),
        ("HR", &["Europe/Zagreb"]),
        ("CY", &["Asia/Nicosia", "Asia/Famagusta", "Europe/Nicosia"]),
        ("CZ", &["Europe/Prague"]),
        ("DK", &["Europe/Copenhagen"]),
        ("EE", &["Europe/Tallinn"]),
        ("FI", &["Europe/Helsinki"]),
        ("FR", &["Europe/Paris"]),
        ("DE", &["Europe/Berlin", "Europe/Busingen"]),
        ("GR", &["Europe/Athens"]),
        ("HU", &["Europe/Budapest"]),
        ("IT", &["Europe/Rome"]),
        ("LV", &["Europe/Riga"]),
        ("LT", &["Europe/Vilnius"]),
        ("LU", &["Europe/Luxembourg"]),
        ("MT", &["Europe/Malta"]),
        ("NL", &["Europe/Amsterdam"]),
        ("PL", &["Europe/Warsaw", "Poland"]),
        ("PT", &["Europe/Lisbon", "Atlantic/Madeira", "Atlantic/Azores", "Portugal"]),
        ("RO", &["Europe/Bucharest"]),
        ("SK", &["Europe/Bratislava"]),
        ("SI", &["Europe/Ljubljana"]),
        ("ES", &["Europe/Madrid", "Africa/Ceuta", "Atlantic/Canary"]),
        ("SE", &["Europe/Stockholm"]),
        ("NZ", &["Pacific/Auckland", "Pacific/Chatham", "NZ", "NZ-CHAT"]),
    ];
    if let Some((country, _)) = ZONES.iter().find(|(_, zones)| zones.contains(&zone)) {
        return Some((*country).to_owned());
    }
    // Whole families of zones.
    if zone.starts_with("Australia/") {
        return Some("AU".to_owned());
    }
    if zone.starts_with("US/")
        || matches!(
            zone,
            "America/New_York"
                | "America/Chicago"
                | "America/Denver"
                | "America/Los_Angeles"
                | "America/Phoenix"
                | "America/Anchorage"
                | "America/Juneau"
                | "America/Sitka"
                | "America/Yakutat"
                | "America/Nome"
                | "America/Metlakatla"
                | "America/Adak"
                | "America/Boise"
                | "America/Detroit"
                | "America/Menominee"
                | "Pacific/Honolulu"
        )
        || zone.starts_with("America/Indiana/")
        || zone.starts_with("America/Kentucky/")
        || zone.starts_with("America/North_Dakota/")
    {
        return Some("US".to_owned());
    }
    if zone.starts_with("Canada/")
        || matches!(
            zone,
            "America/Toronto"
                | "America/Vancouver"
                | "America/Edmonton"
                | "America/Winnipeg"
                | "America/Halifax"
                | "America/St_Johns"
                | "America/Regina"
                | "America/Moncton"
                | "America/Glace_Bay"
                | "America/Goose_Bay"
                | "America/Whitehorse"
                | "America/Dawson"
                | "America/Dawson_Creek"
                | "America/Fort_Nelson"
                | "America/Creston"
                | "America/Cambridge_Bay"
                | "America/Inuvik"
                | "America/Iqaluit"
                | "America/Rankin_Inlet"
                | "America/Resolute"
                | "America/Swift_Current"
        )
    {
        return Some("CA".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(locale: &str, zone: &str) -> EmergencyContact {
        EmergencyContact::for_patient(&Locale::parse(locale).unwrap(), TimeZone::parse(zone).unwrap())
    }

    #[test]
    fn the_locale_region_decides() {
        assert_eq!(contact("en-GB", "Europe/Berlin").call, "999");
        assert_eq!(contact("en-IE", "America/New_York").call, "112 or 999");
        assert_eq!(contact("de-DE", "Europe/London").call, "112");
        assert_eq!(contact("fr-FR", "Europe/London").country, Some("FR"));
        assert_eq!(contact("en-US", "Europe/London").call, "911");
        assert_eq!(contact("fr-CA", "Europe/Paris").call, "911");
        assert_eq!(contact("en-AU", "Europe/London").call, "000 (112 from a mobile)");
        assert_eq!(contact("en-NZ", "Europe/London").call, "111");
        assert_eq!(contact("zh-Hant-TW", "Europe/London"), EmergencyContact::default());
        assert_eq!(contact("en-GB", "Europe/London").emergency_department, "A&E");
        assert_eq!(contact("en-GB", "Europe/London").same_day, "contact your GP or call NHS 111");
    }

    #[test]
    fn without_a_region_the_time_zone_decides() {
        assert_eq!(contact("en", "Europe/London").call, "999");
        assert_eq!(contact("en", "Europe/Dublin").call, "112 or 999");
        assert_eq!(contact("de", "Europe/Berlin").call, "112");
        assert_eq!(contact("pt", "Atlantic/Azores").country, Some("PT"));
        assert_eq!(contact("en", "America/Chicago").call, "911");
        assert_eq!(contact("en", "America/Indiana/Knox").country, Some("US"));
        assert_eq!(contact("en", "Pacific/Honolulu").country, Some("US"));
        assert_eq!(contact("en", "America/Toronto").country, Some("CA"));
        assert_eq!(contact("en", "Australia/Sydney").call, "000 (112 from a mobile)");
        assert_eq!(contact("en", "Pacific/Auckland").call, "111");
        // Numeric regions name no country: the zone decides.
        assert_eq!(contact("es-419", "America/New_York").call, "911");
    }

    #[test]
    fn anywhere_else_is_112() {
        assert_eq!(contact("en", "Asia/Tokyo"), EmergencyContact::default());
        assert_eq!(contact("en", "UTC").call, "112");
        assert_eq!(EmergencyContact::for_country("BR").call, "112");
        assert_eq!(EmergencyContact::for_country("UK").call, "999");
        for country in EU {
            assert_eq!(EmergencyContact::for_country(country).country, Some(country));
        }
    }
}
