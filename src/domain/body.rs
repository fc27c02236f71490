//! Parts of the body that pain, symptoms and massage sessions refer to.

use std::fmt;

/// A body region. Legs and paired regions carry their side because one-sided and two-sided
/// symptoms mean different things (see the alert rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Region {
    Neck,
    UpperBack,
    MidBack,
    LowerBack,
    LeftShoulder,
    RightShoulder,
    LeftHip,
    RightHip,
    Glutes,
    LeftLeg,
    RightLeg,
}

impl Region {
    pub const ALL: [Region; 11] = [
        Region::Neck,
        Region::UpperBack,
        Region::MidBack,
        Region::LowerBack,
        Region::LeftShoulder,
        Region::RightShoulder,
        Region::LeftHip,
        Region::RightHip,
        Region::Glutes,
        Region::LeftLeg,
        Region::RightLeg,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Region::Neck => "neck",
            Region::UpperBack => "upper_back",
            Region::MidBack => "mid_back",
            Region::LowerBack => "lower_back",
            Region::LeftShoulder => "left_shoulder",
            Region::RightShoulder => "right_shoulder",
            Region::LeftHip => "left_hip",
            Region::RightHip => "right_hip",
            Region::Glutes => "glutes",
            Region::LeftLeg => "left_leg",
            Region::RightLeg => "right_leg",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

impl super::Named for Region {
    const TYPE_NAME: &'static str = "Region";
    const DESCRIPTION: &'static str = "A body region. Paired regions carry their side.";

    fn all() -> &'static [Self] {
        &Self::ALL
    }

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn description(self) -> &'static str {
        match self {
            Region::Neck => "The neck.",
            Region::UpperBack => "Between the shoulder blades.",
            Region::MidBack => "Below the shoulder blades, above the waist.",
            Region::LowerBack => "The lower back, above the buttocks.",
            Region::LeftShoulder => "The left shoulder.",
            Region::RightShoulder => "The right shoulder.",
            Region::LeftHip => "The left hip.",
            Region::RightHip => "The right hip.",
            Region::Glutes => "The buttocks.",
            Region::LeftLeg => "The left leg.",
            Region::RightLeg => "The right leg.",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for region in Region::ALL {
            assert_eq!(Region::parse(region.as_str()), Some(region));
        }
        assert_eq!(Region::parse("left_arm"), None);
    }
}
