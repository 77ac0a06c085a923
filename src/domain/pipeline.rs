//! The stages after the quiz, and which moves between stages staff may make. The stages are data
//! (`[pipeline]` in `onramp.toml`): admins add review stages such as a phone screen, and the list
//! of reasons a rejection must give. The order of the flow is fixed around them:
//!
//! `quiz_passed` → `shortlisted` → review stages (any, in order, each optional) → `offered` →
//! `onboarding` → `live` ⇄ `paused` → `offboarded`; from any open stage also `rejected` (with a
//! listed reason), `withdrawn` and, while recruiting, `on_hold`. A declined or expired cohort
//! offer returns an applicant from `offered` to `shortlisted`.

use serde::Deserialize;

use super::time::Span;

/// A review stage an admin defines, between `shortlisted` and `offered`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReviewStage {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineSettings {
    /// Optional stages between `shortlisted` and `offered`, in order.
    pub review_stages: Vec<ReviewStage>,
    /// The reasons a move to `rejected` may give; one is required.
    pub reject_reasons: Vec<String>,
    /// How long an applicant may stay in a stage before they count as stuck: the `idle_nudge`
    /// job nudges them once per stay, and the applicant list's `stuck` filter shows them. A
    /// stage not named has no limit.
    pub idle_limits: std::collections::BTreeMap<String, Span>,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        let stage = |id: &str, label: &str| ReviewStage {
            id: id.into(),
            label: label.into(),
        };
        Self {
            review_stages: vec![
                stage("phone_screen", "Phone screen"),
                stage("references", "References"),
            ],
            reject_reasons: [
                "Not enough hours available",
                "Language level not sufficient",
                "Did not respond",
                "Phone screen not passed",
                "References not satisfactory",
                "Role filled",
                "Other",
            ]
            .map(String::from)
            .to_vec(),
            // Built-in stages only: review stages are the admin's to define, and to limit.
            idle_limits: [
                ("quiz_passed", 5),
                ("shortlisted", 7),
                ("on_hold", 30),
                ("onboarding", 14),
            ]
            .into_iter()
            .map(|(stage, days)| (stage.to_string(), Span::hours(days * 24)))
            .collect(),
        }
    }
}

/// What part of the flow a stage belongs to; the moves follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Before the quiz is passed: signup, email, screening, quiz. The system moves these.
    Screening,
    QuizPassed,
    Shortlisted,
    /// An admin-defined review stage, with its place among them.
    Review(usize),
    Offered,
    Onboarding,
    Live,
    Paused,
    OnHold,
    /// The final stages.
    Rejected,
    Withdrawn,
    Offboarded,
    /// Never confirmed their email in time (the verify_reminder job moves them); the address
    /// may apply again, which reopens the application.
    Expired,
}

impl Kind {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Kind::Rejected | Kind::Withdrawn | Kind::Offboarded | Kind::Expired
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub id: String,
    pub label: String,
    pub kind: Kind,
}

/// The built-in stages with a fixed place: id, label, kind.
const BUILT_IN: &[(&str, &str, Kind)] = &[
    ("applied", "Applied, email not confirmed", Kind::Screening),
    ("verified", "Email confirmed", Kind::Screening),
    ("waitlisted", "Waitlisted", Kind::Screening),
    ("quiz_failed", "Quiz not passed", Kind::Screening),
    ("quiz_passed", "Quiz passed", Kind::QuizPassed),
    ("shortlisted", "Shortlisted", Kind::Shortlisted),
    ("offered", "Offered a cohort place", Kind::Offered),
    ("onboarding", "Onboarding", Kind::Onboarding),
    ("live", "Live", Kind::Live),
    ("paused", "Paused", Kind::Paused),
    ("on_hold", "On hold", Kind::OnHold),
    ("rejected", "Rejected", Kind::Rejected),
    ("withdrawn", "Withdrawn", Kind::Withdrawn),
    ("offboarded", "Offboarded", Kind::Offboarded),
    ("expired", "Expired, email never confirmed", Kind::Expired),
];

pub const REJECTED: &str = "rejected";

/// Why a move was refused. `UnknownStage` and the reason errors are the caller's input (422);
/// `NotAllowed` is a move the flow does not have (409).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveError {
    UnknownStage,
    NotAllowed(String),
    ReasonMissing,
    ReasonNotListed,
}

impl MoveError {
    /// The field the problem is about, and what to tell the person.
    pub fn field_and_message(&self, reasons: &[String]) -> (&'static str, String) {
        match self {
            MoveError::UnknownStage => ("to", "There is no stage with that name.".into()),
            MoveError::NotAllowed(why) => ("to", why.clone()),
            MoveError::ReasonMissing => (
                "reason",
                format!("Choose the reason for rejecting: {}.", reasons.join(", ")),
            ),
            MoveError::ReasonNotListed => (
                "reason",
                format!("Choose one of the listed reasons: {}.", reasons.join(", ")),
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    stages: Vec<Stage>,
    reasons: Vec<String>,
    idle_limits: Vec<(String, chrono::Duration)>,
}

impl Pipeline {
    /// The pipeline the settings describe, or what is wrong with them (naming the setting).
    pub fn new(s: &PipelineSettings) -> Result<Self, String> {
        let mut stages: Vec<Stage> = BUILT_IN
            .iter()
            .map(|(id, label, kind)| Stage {
                id: (*id).into(),
                label: (*label).into(),
                kind: *kind,
            })
            .collect();
        for (i, r) in s.review_stages.iter().enumerate() {
            let valid = !r.id.is_empty()
                && r.id.len() <= 40
                && r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if !valid {
                return Err(format!(
                    "pipeline.review_stages: {:?} is not a valid id (lower-case letters and _)",
                    r.id
                ));
            }
            if r.label.trim().is_empty() {
                return Err(format!("pipeline.review_stages: {} needs a label", r.id));
            }
            if stages.iter().any(|st| st.id == r.id) {
                return Err(format!(
                    "pipeline.review_stages: {} is already a stage",
                    r.id
                ));
            }
            // Review stages sit in the flow after the shortlist, before an offer, and are
            // listed there.
            let after_shortlist = stages
                .iter()
                .position(|st| st.kind == Kind::Shortlisted)
                .expect("shortlisted is built in")
                + 1
                + i;
            stages.insert(
                after_shortlist,
                Stage {
                    id: r.id.clone(),
                    label: r.label.clone(),
                    kind: Kind::Review(i),
                },
            );
        }
        if s.reject_reasons.iter().all(|r| r.trim().is_empty()) {
            return Err("pipeline.reject_reasons: list at least one reason".into());
        }
        for stage in s.idle_limits.keys() {
            if !stages.iter().any(|st| &st.id == stage) {
                return Err(format!(
                    "pipeline.idle_limits (ONRAMP_IDLE_LIMITS): {stage:?} is not a stage"
                ));
            }
        }
        // In the flow's order, as people read them.
        let mut idle_limits: Vec<(Kind, String, chrono::Duration)> = stages
            .iter()
            .filter_map(|st| {
                s.idle_limits
                    .get(&st.id)
                    .map(|l| (st.kind, st.id.clone(), l.duration()))
            })
            .collect();
        idle_limits.sort_by_key(|(kind, ..)| flow_order(*kind));
        Ok(Self {
            stages,
            reasons: s.reject_reasons.clone(),
            idle_limits: idle_limits
                .into_iter()
                .map(|(_, id, limit)| (id, limit))
                .collect(),
        })
    }

    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Each stage with a time limit, and the limit.
    pub fn idle_limits(&self) -> &[(String, chrono::Duration)] {
        &self.idle_limits
    }

    pub fn reject_reasons(&self) -> &[String] {
        &self.reasons
    }

    /// Whether the flow has a move from `from` to `to`.
    fn allowed(&self, from: Kind, to: Kind) -> bool {
        use Kind::*;
        let recruiting = |k: Kind| matches!(k, QuizPassed | Shortlisted | Review(_) | Offered);
        match (from, to) {
            (f, _) if f.is_final() => false,
            // Only the unconfirmed expire (the scheduled job moves them; see
            // usecases::pipeline::agent_step_only).
            (Screening, Expired) => true,
            (_, Expired) => false,
            (_, Screening | QuizPassed) => false,
            (_, Rejected | Withdrawn) => true,
            (Live | Paused, Offboarded) => true,
            (f, OnHold) => recruiting(f),
            (QuizPassed | Review(_) | OnHold, Shortlisted) => true,
            (Shortlisted | OnHold, Review(_)) => true,
            (Review(a), Review(b)) => a != b,
            (Shortlisted | Review(_) | OnHold, Offered) => true,
            (Offered, Onboarding) => true,
            // A declined or expired offer returns the applicant to the shortlist.
            (Offered, Shortlisted) => true,
            (Onboarding | Paused, Live) => true,
            (Live, Paused) => true,
            _ => false,
        }
    }

    /// The stages `from` may move to, in flow order.
    pub fn next_stages(&self, from: &str) -> Vec<&Stage> {
        let Some(f) = self.stage(from) else {
            return Vec::new();
        };
        let mut out: Vec<&Stage> = self
            .stages
            .iter()
            .filter(|s| s.id != f.id && self.allowed(f.kind, s.kind))
            .collect();
        out.sort_by_key(|s| flow_order(s.kind));
        out
    }

    /// Checks a move, with the reason it gives (needed, from the list, for `rejected`).
    pub fn check_move(&self, from: &str, to: &str, reason: Option<&str>) -> Result<(), MoveError> {
        let target = self.stage(to).ok_or(MoveError::UnknownStage)?;
        let source = self.stage(from).ok_or_else(|| {
            MoveError::NotAllowed(format!(
                "The applicant's stage {from:?} is not in the pipeline."
            ))
        })?;
        if source.id == target.id {
            return Err(MoveError::NotAllowed(format!(
                "The applicant is already in {}.",
                target.label
            )));
        }
        if !self.allowed(source.kind, target.kind) {
            let next: Vec<&str> = self
                .next_stages(from)
                .iter()
                .map(|s| s.label.as_str())
                .collect();
            let why = match source.kind {
                k if k.is_final() => format!("{} is final: nothing follows it.", source.label),
                Kind::Screening
                    if matches!(
                        target.kind,
                        Kind::Shortlisted | Kind::Review(_) | Kind::Offered
                    ) =>
                {
                    format!(
                    "Only applicants who passed the skills quiz can go to {}; this one is at {}.",
                    target.label, source.label
                )
                }
                _ if next.is_empty() => format!("Nothing can follow {}.", source.label),
                _ => format!(
                    "{} can't follow {}. From there an applicant can go to: {}.",
                    target.label,
                    source.label,
                    next.join(", ")
                ),
            };
            return Err(MoveError::NotAllowed(why));
        }
        if target.id == REJECTED {
            match reason.map(str::trim).filter(|r| !r.is_empty()) {
                None => return Err(MoveError::ReasonMissing),
                Some(r) if !self.reasons.iter().any(|l| l == r) => {
                    return Err(MoveError::ReasonNotListed)
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// Where a kind sits in the flow, for listing next stages in a sensible order.
fn flow_order(k: Kind) -> usize {
    match k {
        Kind::Screening => 0,
        Kind::QuizPassed => 1,
        Kind::Shortlisted => 2,
        Kind::Review(i) => 3 + i,
        Kind::Offered => 100,
        Kind::Onboarding => 101,
        Kind::Live => 102,
        Kind::Paused => 103,
        Kind::OnHold => 104,
        Kind::Rejected => 105,
        Kind::Withdrawn => 106,
        Kind::Offboarded => 107,
        Kind::Expired => 108,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> Pipeline {
        Pipeline::new(&PipelineSettings::default()).unwrap()
    }

    #[test]
    fn the_flow_moves_forward_and_review_stages_are_optional() {
        let p = pipeline();
        for (from, to) in [
            ("quiz_passed", "shortlisted"),
            ("shortlisted", "phone_screen"),
            ("shortlisted", "offered"),
            ("phone_screen", "references"),
            ("references", "phone_screen"),
            ("references", "offered"),
            ("offered", "onboarding"),
            ("onboarding", "live"),
            ("live", "paused"),
            ("paused", "live"),
            ("live", "offboarded"),
            ("shortlisted", "on_hold"),
            ("on_hold", "phone_screen"),
            ("verified", "withdrawn"),
        ] {
            assert_eq!(p.check_move(from, to, None), Ok(()), "{from} -> {to}");
        }
    }

    #[test]
    fn moves_the_flow_does_not_have_say_why() {
        let p = pipeline();
        let refused = |from: &str, to: &str| match p.check_move(from, to, Some("Other")) {
            Err(MoveError::NotAllowed(why)) => why,
            other => panic!("{from} -> {to}: {other:?}"),
        };
        assert!(refused("verified", "shortlisted").contains("passed the skills quiz"));
        assert!(refused("rejected", "shortlisted").contains("final"));
        assert!(refused("shortlisted", "live").contains("From there an applicant can go to"));
        assert!(refused("shortlisted", "quiz_passed").contains("can't follow"));
        assert!(refused("shortlisted", "shortlisted").contains("already"));
        assert!(refused("live", "on_hold").contains("can't follow"));
        assert!(refused("shortlisted", "offboarded").contains("can't follow"));
        assert_eq!(
            p.check_move("shortlisted", "hired", None),
            Err(MoveError::UnknownStage)
        );
    }

    #[test]
    fn rejecting_needs_a_listed_reason() {
        let p = pipeline();
        assert_eq!(
            p.check_move("shortlisted", "rejected", None),
            Err(MoveError::ReasonMissing)
        );
        assert_eq!(
            p.check_move("shortlisted", "rejected", Some("  ")),
            Err(MoveError::ReasonMissing)
        );
        assert_eq!(
            p.check_move("shortlisted", "rejected", Some("Too tall")),
            Err(MoveError::ReasonNotListed)
        );
        assert_eq!(
            p.check_move("shortlisted", "rejected", Some("Role filled")),
            Ok(())
        );
        assert_eq!(
            p.check_move("quiz_failed", "rejected", Some("Other")),
            Ok(())
        );
    }

    #[test]
    fn admins_define_review_stages_and_bad_ones_are_refused() {
        let mut s = PipelineSettings::default();
        s.review_stages.push(ReviewStage {
            id: "work_sample".into(),
            label: "Work sample".into(),
        });
        let p = Pipeline::new(&s).unwrap();
        assert_eq!(p.check_move("references", "work_sample", None), Ok(()));
        let names: Vec<&str> = p
            .next_stages("shortlisted")
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "phone_screen",
                "references",
                "work_sample",
                "offered",
                "on_hold",
                "rejected",
                "withdrawn"
            ]
        );
        for (id, label) in [
            ("live", "Live again"),
            ("Phone Screen", "x"),
            ("", "x"),
            ("ok", " "),
        ] {
            let s = PipelineSettings {
                review_stages: vec![ReviewStage {
                    id: id.into(),
                    label: label.into(),
                }],
                ..Default::default()
            };
            assert!(
                Pipeline::new(&s)
                    .unwrap_err()
                    .contains("pipeline.review_stages"),
                "{id}"
            );
        }
        let s = PipelineSettings {
            reject_reasons: vec![],
            ..Default::default()
        };
        assert!(Pipeline::new(&s).unwrap_err().contains("reject_reasons"));
    }
}
