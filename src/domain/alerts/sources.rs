//! The references behind each alert rule (from `notes/clinical-sources.md`), written so that a
//! clinician can look them up: publisher, title and link, or a citation. Several references are
//! separated by semicolons.

macro_rules! nhs_back_pain {
    () => {
        "NHS, \"Back pain\", https://www.nhs.uk/conditions/back-pain/"
    };
}
macro_rules! nhs_cauda_equina {
    () => {
        "NHS, \"Cauda equina syndrome\", https://www.nhs.uk/conditions/cauda-equina-syndrome/"
    };
}
macro_rules! sbns_bass {
    () => {
        "Society of British Neurological Surgeons and British Association of Spine Surgeons, \"Standards of care \
         for investigation and management of cauda equina syndrome\" (2018)"
    };
}
macro_rules! nhs_sciatica {
    () => {
        "NHS, \"Sciatica\", https://www.nhs.uk/conditions/sciatica/"
    };
}
macro_rules! nhs_dvt {
    () => {
        "NHS, \"DVT (deep vein thrombosis)\", https://www.nhs.uk/conditions/deep-vein-thrombosis/"
    };
}
macro_rules! nice_ng59 {
    () => {
        "NICE guideline NG59, \"Low back pain and sciatica in over 16s: assessment and management\", \
         https://www.nice.org.uk/guidance/ng59"
    };
}
macro_rules! farrar {
    () => {
        "Farrar JT et al., \"Clinically important changes in pain intensity measured on an 11-point numerical pain \
         rating scale\", Pain 2001;94(2):149-158"
    };
}
macro_rules! medbridge {
    () => {
        "MedBridge, Pathways remote therapeutic monitoring: pain alert levels (critical at pain 7 or more)"
    };
}

pub(super) const CAUDA_EQUINA: &str = concat!(nhs_cauda_equina!(), "; ", sbns_bass!());
pub(super) const RED_FLAGS: &str = nhs_back_pain!();
pub(super) const LEG_SWELLING: &str = concat!(nhs_dvt!(), "; ", nhs_back_pain!());
pub(super) const PERSISTENT: &str = concat!(nhs_back_pain!(), "; ", farrar!());
pub(super) const WORSENING: &str = concat!(nhs_back_pain!(), "; ", farrar!());
pub(super) const NEUROLOGICAL: &str = concat!(nhs_sciatica!(), "; ", nhs_back_pain!());
pub(super) const SEVERE_PAIN: &str = concat!(nhs_back_pain!(), "; ", medbridge!());
/// Pain rather than soreness after a massage is for the therapist to hear about; massage belongs
/// in a package of care with exercise (NICE NG59).
pub(super) const SORENESS_AFTER_MASSAGE: &str = nice_ng59!();
