//! Demo data from `seed/`, loaded into an empty database on first start (and by `onramp seed`).
//! Demo applicants go through the same validation and screening as real ones, without email.

use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::domain::application::RawApplication;
use crate::domain::now;
use crate::intake::{Channel, Intake};
use crate::store::{applications, Db};

#[derive(Deserialize)]
struct ApplicantsFile {
    applicant: Vec<toml::Table>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub applicants: usize,
    pub skipped: usize,
}

/// Loads `applicants.toml` from `dir`. Entries whose email already exists are skipped, so running
/// it twice changes nothing. A malformed entry stops the load with its position and field.
pub async fn load_demo(db: &Db, intake: &Intake, dir: &Path) -> anyhow::Result<Loaded> {
    let path = dir.join("applicants.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: ApplicantsFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    // Check every entry before storing any, so a bad file loads nothing rather than half.
    let mut parsed = Vec::with_capacity(file.applicant.len());
    for (i, mut entry) in file.applicant.into_iter().enumerate() {
        let verified = entry
            .remove("verified")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let (raw, mut errors) = RawApplication::from_json(&serde_json::to_value(&entry)?);
        match raw.parse() {
            Ok(app) if errors.is_empty() => parsed.push((app, verified)),
            Ok(_) => bail!("{} applicant #{}: {:?}", path.display(), i + 1, errors),
            Err(more) => {
                errors.extend(more);
                bail!("{} applicant #{}: {:?}", path.display(), i + 1, errors)
            }
        }
    }
    let mut loaded = Loaded::default();
    for (app, verified) in parsed {
        let done = intake.submit(app, Channel::Seed).await?;
        if !done.created {
            loaded.skipped += 1;
            continue;
        }
        if verified {
            let mut tx = db.begin().await?;
            applications::mark_email_verified(&mut tx, done.id, now()).await?;
            tx.commit().await?;
        }
        loaded.applicants += 1;
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shipped_demo_applicants_are_all_valid() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seed/applicants.toml");
        let text = std::fs::read_to_string(dir).unwrap();
        let file: super::ApplicantsFile = toml::from_str(&text).unwrap();
        assert!(file.applicant.len() >= 20);
        for mut entry in file.applicant {
            entry.remove("verified");
            let (raw, errors) =
                super::RawApplication::from_json(&serde_json::to_value(&entry).unwrap());
            assert!(errors.is_empty(), "{errors:?}");
            raw.parse().unwrap();
        }
    }
}
