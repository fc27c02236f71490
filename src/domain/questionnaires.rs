//! Validated questionnaires and their scoring.

use super::validation::FieldProblem;

/// PEG: three 0–10 items — average pain, interference with enjoyment of life, interference with
/// general activity (Krebs et al., J Gen Intern Med 2009; LOINC panel 91148-7). Score: the mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peg {
    pub pain: u8,
    pub enjoyment: u8,
    pub activity: u8,
}

impl Peg {
    pub fn new(pain: i64, enjoyment: i64, activity: i64) -> Result<Self, Vec<(&'static str, FieldProblem)>> {
        let item = |v: i64| {
            u8::try_from(v)
                .ok()
                .filter(|v| *v <= 10)
                .ok_or_else(|| FieldProblem::new("out_of_range", "must be 0 to 10"))
        };
        match (item(pain), item(enjoyment), item(activity)) {
            (Ok(pain), Ok(enjoyment), Ok(activity)) => Ok(Self { pain, enjoyment, activity }),
            (p, e, a) => Err([("pain", p), ("enjoyment", e), ("activity", a)]
                .into_iter()
                .filter_map(|(name, r)| r.err().map(|e| (name, e)))
                .collect()),
        }
    }

    pub fn score(self) -> f64 {
        f64::from(u16::from(self.pain) + u16::from(self.enjoyment) + u16::from(self.activity)) / 3.0
    }
}

/// Roland-Morris Disability Questionnaire: 24 statements ticked yes or no (Roland & Fairbank,
/// Spine 2000). Score: how many were ticked, 0–24; a 5-point change is meaningful.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolandMorris {
    answers: [bool; 24],
}

impl RolandMorris {
    pub const ITEMS: usize = 24;
    pub const MEANINGFUL_CHANGE: u8 = 5;

    pub fn new(answers: &[bool]) -> Result<Self, FieldProblem> {
        let answers: [bool; 24] =
            answers.try_into().map_err(|_| FieldProblem::new("wrong_length", "must have exactly 24 yes/no answers"))?;
        Ok(Self { answers })
    }

    pub fn answers(&self) -> &[bool; 24] {
        &self.answers
    }

    pub fn score(&self) -> u8 {
        self.answers.iter().filter(|a| **a).count() as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peg_worked_examples() {
        // Pain 6, enjoyment 5, activity 7: (6 + 5 + 7) / 3 = 6.0.
        assert_eq!(Peg::new(6, 5, 7).unwrap().score(), 6.0);
        // 4, 4, 5: 13 / 3 = 4.333…
        assert!((Peg::new(4, 4, 5).unwrap().score() - 13.0 / 3.0).abs() < 1e-12);
        assert_eq!(Peg::new(0, 0, 0).unwrap().score(), 0.0);
        assert_eq!(Peg::new(10, 10, 10).unwrap().score(), 10.0);
        let errors = Peg::new(11, 5, -1).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.0).collect::<Vec<_>>(), ["pain", "activity"]);
    }

    #[test]
    fn roland_morris_worked_examples() {
        let mut answers = [false; 24];
        assert_eq!(RolandMorris::new(&answers).unwrap().score(), 0);
        for i in [0, 2, 4, 10, 11, 23] {
            answers[i] = true;
        }
        assert_eq!(RolandMorris::new(&answers).unwrap().score(), 6);
        assert_eq!(RolandMorris::new(&[true; 24]).unwrap().score(), 24);
        assert_eq!(RolandMorris::new(&[true; 23]).unwrap_err().code, "wrong_length");
    }
}
