//! Use cases: each runs one thing a person or a job does, in one transaction, through `store`,
//! with the rules from `domain`. The web, the CLI and the jobs call these; none of them talks to
//! the database for a change of their own.

pub mod assessment;
pub mod bulk;
pub mod cohorts;
pub mod import;
pub mod intake;
pub mod mail;
pub mod onboarding;
pub mod pipeline;
pub mod privacy;
pub mod quality;
pub mod reminders;
pub mod reports;
pub mod staff;
pub mod webhooks;
