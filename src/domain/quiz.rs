//! Skills quizzes: the question bank format, server-side scoring with partial credit, and item
//! analysis (Moodle's quiz statistics are the model).
//!
//! Scores are fractions of full credit in [0, 1] here; storage keeps them as integer basis
//! points (`to_basis_points`) so nothing stored is a float.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Pick one choice.
    Single,
    /// Pick any number; each choice adds its (possibly negative) credit.
    Multiple,
    /// Situational judgement: pick the best and the worst reply; scored against a ranking.
    Judgement,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub key: String,
    pub text: String,
    /// Single and multiple choice: the share of the question's credit this choice is worth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<f64>,
    /// Judgement: 1 is the best reply, the highest number the worst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable across versions; editing an answered question makes a new version, same key.
    pub key: String,
    pub category: String,
    pub kind: Kind,
    #[serde(default = "one")]
    pub weight: f64,
    pub prompt: String,
    /// Why the key is right. Shown to recruiters, never to applicants.
    pub explanation: String,
    #[serde(rename = "choice")]
    pub choices: Vec<Choice>,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BankFile {
    #[serde(default)]
    question: Vec<Question>,
}

/// Parses and checks a question bank file. Every problem is reported, each naming the question
/// and the field.
pub fn parse_bank(text: &str) -> Result<Vec<Question>, Vec<String>> {
    let file: BankFile = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
    let mut problems = Vec::new();
    let mut keys = HashSet::new();
    for (i, q) in file.question.iter().enumerate() {
        let at = if q.key.is_empty() {
            format!("question #{}", i + 1)
        } else {
            format!("question {}", q.key)
        };
        if q.key.is_empty() {
            problems.push(format!("{at}: key: give the question a key"));
        } else if !keys.insert(q.key.as_str()) {
            problems.push(format!("{at}: key: used by another question"));
        }
        for p in q.check() {
            problems.push(format!("{at}: {p}"));
        }
    }
    if problems.is_empty() {
        Ok(file.question)
    } else {
        Err(problems)
    }
}

/// The bank as a file `parse_bank` reads back, with the format explained at the top.
pub fn write_bank(questions: &[Question]) -> String {
    let body = toml::to_string(&BankFile {
        question: questions.to_vec(),
    })
    .expect("questions serialize to TOML");
    format!("{BANK_HEADER}\n{body}")
}

const BANK_HEADER: &str = "\
# onramp question bank. Each [[question]] has: key (stable slug), category (e.g. tone,
# language:sv), kind (single | multiple | judgement), weight (default 1), prompt, explanation
# (recruiters only) and [[question.choice]] entries with key and text. Single and multiple
# choice: each choice has a credit, the share of the question's credit it earns (single:
# exactly one is 1; multiple: positive credits add up to 1, wrong ones are negative). Judgement:
# each choice has a rank, 1 = best reply. Import with `onramp quiz import FILE`; a changed
# question becomes a new version and answered versions never change.
";

const EPS: f64 = 1e-6;

impl Question {
    /// What is wrong with this question, as `field: message` lines.
    pub fn check(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !is_valid_category(&self.category) {
            p.push("category: use a lower-case name like tone or language:sv".into());
        }
        if !(self.weight > 0.0 && self.weight <= 10.0) {
            p.push("weight: use a number above 0 and at most 10".into());
        }
        if self.prompt.trim().is_empty() {
            p.push("prompt: write the question".into());
        }
        if self.explanation.trim().is_empty() {
            p.push("explanation: explain the answer key for recruiters".into());
        }
        let n = self.choices.len();
        if !(2..=8).contains(&n) {
            p.push("choice: give between 2 and 8 choices".into());
        }
        let mut keys = HashSet::new();
        for c in &self.choices {
            if c.key.trim().is_empty() || !keys.insert(c.key.as_str()) {
                p.push(format!(
                    "choice {:?}: key: give each choice its own key",
                    c.key
                ));
            }
            if c.text.trim().is_empty() {
                p.push(format!("choice {}: text: write the choice", c.key));
            }
        }
        match self.kind {
            Kind::Single | Kind::Multiple => {
                if self
                    .choices
                    .iter()
                    .any(|c| c.rank.is_some() || c.credit.is_none())
                {
                    p.push("choice: give every choice a credit (and no rank)".into());
                    return p;
                }
                let credits: Vec<f64> = self.choices.iter().filter_map(|c| c.credit).collect();
                if credits.iter().any(|c| !(-1.0..=1.0).contains(c)) {
                    p.push("choice: credits lie between -1 and 1".into());
                }
                if self.kind == Kind::Single {
                    let full = credits.iter().filter(|c| (*c - 1.0).abs() < EPS).count();
                    if full != 1 || credits.iter().any(|c| *c < 0.0) {
                        p.push("choice: exactly one choice has credit 1, none negative".into());
                    }
                } else {
                    let positive: f64 = credits.iter().filter(|c| **c > 0.0).sum();
                    if (positive - 1.0).abs() > 0.011 {
                        p.push("choice: the positive credits add up to 1".into());
                    }
                }
            }
            Kind::Judgement => {
                if self.choices.iter().any(|c| c.credit.is_some()) {
                    p.push("choice: judgement choices have a rank, not a credit".into());
                }
                let mut ranks: Vec<u32> = self.choices.iter().filter_map(|c| c.rank).collect();
                ranks.sort_unstable();
                if ranks != (1..=n as u32).collect::<Vec<_>>() {
                    p.push(format!(
                        "choice: rank the {n} replies 1 (best) to {n} (worst), each rank once"
                    ));
                }
            }
        }
        p
    }

    fn choice(&self, key: &str) -> Option<&Choice> {
        self.choices.iter().find(|c| c.key == key)
    }

    /// The share of full credit an answer earns, in [0, 1]. Deterministic; an answer naming a
    /// choice the question does not have earns nothing (callers reject it before scoring).
    pub fn score(&self, answer: &Answer) -> f64 {
        let s = match (self.kind, answer) {
            (Kind::Single, Answer::Single(k)) => {
                self.choice(k).and_then(|c| c.credit).unwrap_or(0.0)
            }
            (Kind::Multiple, Answer::Multiple(keys)) => {
                let picked: HashSet<&str> = keys.iter().map(String::as_str).collect();
                if picked.iter().any(|k| self.choice(k).is_none()) {
                    return 0.0;
                }
                picked
                    .iter()
                    .filter_map(|k| self.choice(k).and_then(|c| c.credit))
                    .sum()
            }
            (Kind::Judgement, Answer::Judgement { best, worst }) => {
                let n = self.choices.len() as f64;
                let rank = |k: &str| self.choice(k).and_then(|c| c.rank).map(f64::from);
                match (rank(best), rank(worst)) {
                    (Some(b), Some(w)) if best != worst => {
                        // Half the credit for each pick, less the further it is from the key.
                        0.5 * (1.0 - (b - 1.0) / (n - 1.0)) + 0.5 * (1.0 - (n - w) / (n - 1.0))
                    }
                    _ => 0.0,
                }
            }
            _ => 0.0,
        };
        s.clamp(0.0, 1.0)
    }
}

fn is_valid_category(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 40
        && c.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == ':' || ch == '_')
}

/// What an applicant submitted for one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    Single(String),
    Multiple(Vec<String>),
    Judgement { best: String, worst: String },
}

impl Answer {
    /// The choice keys this answer picked, for choice frequencies.
    pub fn picked(&self) -> Vec<&str> {
        match self {
            Answer::Single(k) => vec![k.as_str()],
            Answer::Multiple(ks) => ks.iter().map(String::as_str).collect(),
            Answer::Judgement { best, worst } => vec![best.as_str(), worst.as_str()],
        }
    }
}

pub fn to_basis_points(fraction: f64) -> i64 {
    (fraction.clamp(0.0, 1.0) * 10_000.0).round() as i64
}

/// One scored item of one finished attempt: the input to item analysis.
#[derive(Debug, Clone)]
pub struct ScoredItem<'a> {
    pub attempt: u64,
    /// The question version.
    pub item: u64,
    /// Share of full credit, [0, 1].
    pub score: f64,
    pub weight: f64,
    pub picked: Vec<&'a str>,
    pub seconds: Option<f64>,
}

pub const FACILITY_HIGH: f64 = 0.95;
pub const FACILITY_LOW: f64 = 0.10;
pub const DISCRIMINATION_LOW: f64 = 0.15;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemStats {
    pub item: u64,
    pub attempts: usize,
    /// Mean share of full credit: how easy the item is.
    pub facility: f64,
    /// Pearson correlation between the item's score and the rest of the test's score in the same
    /// attempts; None when either does not vary.
    pub discrimination: Option<f64>,
    pub mean_seconds: Option<f64>,
    /// How often each choice was picked.
    pub choices: BTreeMap<String, usize>,
    /// Why the item needs a look; empty when it is fine.
    pub flags: Vec<String>,
}

/// Statistics per item over finished attempts. The rest-of-test score is the attempt's weighted
/// total without this item, so an item is not correlated with itself.
pub fn item_analysis(items: &[ScoredItem<'_>]) -> Vec<ItemStats> {
    let mut totals: BTreeMap<u64, f64> = BTreeMap::new();
    for s in items {
        *totals.entry(s.attempt).or_default() += s.score * s.weight;
    }
    let mut by_item: BTreeMap<u64, Vec<&ScoredItem<'_>>> = BTreeMap::new();
    for s in items {
        by_item.entry(s.item).or_default().push(s);
    }
    by_item
        .into_iter()
        .map(|(item, rows)| {
            let n = rows.len();
            let x: Vec<f64> = rows.iter().map(|r| r.score).collect();
            let rest: Vec<f64> = rows
                .iter()
                .map(|r| totals[&r.attempt] - r.score * r.weight)
                .collect();
            let facility = x.iter().sum::<f64>() / n as f64;
            let discrimination = pearson(&x, &rest);
            let times: Vec<f64> = rows.iter().filter_map(|r| r.seconds).collect();
            let mean_seconds =
                (!times.is_empty()).then(|| times.iter().sum::<f64>() / times.len() as f64);
            let mut choices = BTreeMap::new();
            for r in &rows {
                for k in &r.picked {
                    *choices.entry(k.to_string()).or_insert(0) += 1;
                }
            }
            let mut flags = Vec::new();
            if facility > FACILITY_HIGH {
                flags.push(format!(
                    "too easy: facility {facility:.2} is above {FACILITY_HIGH}"
                ));
            }
            if facility < FACILITY_LOW {
                flags.push(format!(
                    "too hard: facility {facility:.2} is below {FACILITY_LOW}"
                ));
            }
            if let Some(d) = discrimination {
                if d < DISCRIMINATION_LOW {
                    flags.push(format!(
                        "weak discrimination: {d:.2} is below {DISCRIMINATION_LOW}"
                    ));
                }
            }
            ItemStats {
                item,
                attempts: n,
                facility,
                discrimination,
                mean_seconds,
                choices,
                flags,
            }
        })
        .collect()
}

fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 2 {
        return None;
    }
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > EPS && syy > EPS).then(|| sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(key: &str, credit: f64) -> Choice {
        Choice {
            key: key.into(),
            text: format!("choice {key}"),
            credit: Some(credit),
            rank: None,
        }
    }

    fn question(kind: Kind, choices: Vec<Choice>) -> Question {
        Question {
            key: "q-001".into(),
            category: "tone".into(),
            kind,
            weight: 1.0,
            prompt: "Which?".into(),
            explanation: "Because.".into(),
            choices,
        }
    }

    fn judgement() -> Question {
        let c = |k: &str, r| Choice {
            key: k.into(),
            text: k.into(),
            credit: None,
            rank: Some(r),
        };
        question(
            Kind::Judgement,
            vec![c("a", 2), c("b", 1), c("c", 4), c("d", 3)],
        )
    }

    #[test]
    fn single_choice_scores_the_picked_credit() {
        let q = question(
            Kind::Single,
            vec![choice("a", 0.0), choice("b", 1.0), choice("c", 0.5)],
        );
        assert!(q.check().is_empty(), "{:?}", q.check());
        assert_eq!(q.score(&Answer::Single("b".into())), 1.0);
        assert_eq!(q.score(&Answer::Single("c".into())), 0.5);
        assert_eq!(q.score(&Answer::Single("a".into())), 0.0);
        assert_eq!(q.score(&Answer::Single("zz".into())), 0.0);
        assert_eq!(q.score(&Answer::Multiple(vec!["b".into()])), 0.0);
    }

    #[test]
    fn multiple_choice_gives_partial_credit_and_penalises_guessing() {
        let q = question(
            Kind::Multiple,
            vec![
                choice("a", 0.5),
                choice("b", 0.5),
                choice("c", -0.5),
                choice("d", -0.5),
            ],
        );
        assert!(q.check().is_empty());
        let s = |keys: &[&str]| {
            q.score(&Answer::Multiple(
                keys.iter().map(|k| k.to_string()).collect(),
            ))
        };
        assert_eq!(s(&["a", "b"]), 1.0);
        assert_eq!(s(&["a"]), 0.5);
        assert_eq!(s(&["a", "c"]), 0.0);
        assert_eq!(s(&["a", "b", "c", "d"]), 0.0);
        assert_eq!(s(&[]), 0.0);
        // Naming the same choice twice counts once; a foreign choice voids the answer.
        assert_eq!(s(&["a", "a"]), 0.5);
        assert_eq!(s(&["a", "b", "x"]), 0.0);
    }

    #[test]
    fn judgement_scores_distance_from_the_ranking() {
        let q = judgement();
        assert!(q.check().is_empty(), "{:?}", q.check());
        let s = |b: &str, w: &str| {
            q.score(&Answer::Judgement {
                best: b.into(),
                worst: w.into(),
            })
        };
        // Best is b (rank 1), worst is c (rank 4).
        assert_eq!(s("b", "c"), 1.0);
        // Second-best as best: 0.5 * (1 - 1/3) + 0.5 = 0.8333.
        assert!((s("a", "c") - (0.5 * (2.0 / 3.0) + 0.5)).abs() < 1e-9);
        // Exactly backwards.
        assert_eq!(s("c", "b"), 0.0);
        // The same reply as best and worst earns nothing.
        assert_eq!(s("b", "b"), 0.0);
    }

    #[test]
    fn bank_problems_name_the_question_and_field() {
        let text = r#"
            [[question]]
            key = "p-001"
            category = "Policy"
            kind = "single"
            prompt = "?"
            explanation = ""
            [[question.choice]]
            key = "a"
            text = "yes"
            credit = 0.5
            [[question.choice]]
            key = "b"
            text = "no"
            credit = 0.0

            [[question]]
            key = "p-001"
            category = "policy"
            kind = "judgement"
            prompt = "?"
            explanation = "x"
            [[question.choice]]
            key = "a"
            text = "x"
            rank = 1
            [[question.choice]]
            key = "b"
            text = "y"
            rank = 1
        "#;
        let problems = parse_bank(text).unwrap_err();
        let joined = problems.join("\n");
        assert!(joined.contains("question p-001: category:"), "{joined}");
        assert!(joined.contains("question p-001: explanation:"), "{joined}");
        assert!(
            joined.contains("exactly one choice has credit 1"),
            "{joined}"
        );
        assert!(
            joined.contains("question p-001: key: used by another question"),
            "{joined}"
        );
        assert!(joined.contains("rank the 2 replies"), "{joined}");
    }

    #[test]
    fn export_reads_back_the_same() {
        let q = judgement();
        let text = write_bank(std::slice::from_ref(&q));
        assert!(text.starts_with("# onramp question bank"));
        assert_eq!(parse_bank(&text).unwrap(), vec![q]);
    }

    #[test]
    fn the_shipped_bank_is_valid_and_broad() {
        let text = include_str!("../../seed/questions.toml");
        let bank = parse_bank(text).unwrap_or_else(|p| panic!("{}", p.join("\n")));
        assert!(bank.len() >= 60, "{} questions", bank.len());
        let categories: HashSet<&str> = bank.iter().map(|q| q.category.as_str()).collect();
        assert!(categories.len() >= 5, "{categories:?}");
        for kind in [Kind::Single, Kind::Multiple, Kind::Judgement] {
            assert!(bank.iter().any(|q| q.kind == kind), "no {kind:?} questions");
        }
    }

    /// Four attempts at three unit-weight items, computed by hand:
    ///
    /// ```text
    ///            item 1  item 2  item 3   total
    /// attempt 1    1       1       0        2
    /// attempt 2    1       0       0        1
    /// attempt 3    0       1       1        2
    /// attempt 4    0       0       0        0
    /// ```
    /// Item 1: facility 0.5; rest scores 1, 0, 2, 0 (mean 0.75); deviations of the item ±0.5,
    /// of the rest 0.25, -0.75, 1.25, -0.75; covariance sum -0.5, item sum of squares 1, rest
    /// 2.75; r = -0.5 / sqrt(2.75) = -0.30151.
    #[test]
    fn item_statistics_match_hand_computed_values() {
        let grid = [
            [1.0, 1.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 1.0],
            [0.0, 0.0, 0.0],
        ];
        let mut items = Vec::new();
        for (a, row) in grid.iter().enumerate() {
            for (i, score) in row.iter().enumerate() {
                items.push(ScoredItem {
                    attempt: a as u64,
                    item: i as u64 + 1,
                    score: *score,
                    weight: 1.0,
                    picked: vec![if *score > 0.0 { "right" } else { "wrong" }],
                    seconds: Some(10.0 * (a as f64 + 1.0)),
                });
            }
        }
        let stats = item_analysis(&items);
        assert_eq!(stats.len(), 3);
        let s1 = &stats[0];
        assert_eq!(s1.attempts, 4);
        assert!((s1.facility - 0.5).abs() < 1e-12);
        assert!((s1.discrimination.unwrap() - (-0.5 / 2.75f64.sqrt())).abs() < 1e-9);
        assert!((s1.discrimination.unwrap() + 0.30151).abs() < 1e-5);
        assert_eq!(s1.mean_seconds, Some(25.0));
        assert_eq!(s1.choices["right"], 2);
        assert_eq!(s1.choices["wrong"], 2);
        assert_eq!(s1.flags.len(), 1);
        assert!(s1.flags[0].starts_with("weak discrimination"));

        // Item 3: x = (0, 0, 1, 0), rest = (2, 1, 1, 0). Means 0.25 and 1. Deviations
        // x: -0.25, -0.25, 0.75, -0.25; rest: 1, 0, 0, -1. Covariance sum -0.25 + 0 + 0 + 0.25
        // = 0, so r = 0: flagged as weak, and facility 0.25 is fine.
        let s3 = &stats[2];
        assert!((s3.facility - 0.25).abs() < 1e-12);
        assert!(s3.discrimination.unwrap().abs() < 1e-12);
        assert_eq!(s3.flags.len(), 1);
    }

    #[test]
    fn constant_items_have_no_discrimination_and_extreme_facility_is_flagged() {
        let items: Vec<ScoredItem> = (0..20)
            .flat_map(|a| {
                [
                    ScoredItem {
                        attempt: a,
                        item: 1,
                        score: 1.0,
                        weight: 1.0,
                        picked: vec!["a"],
                        seconds: None,
                    },
                    ScoredItem {
                        attempt: a,
                        item: 2,
                        score: 0.0,
                        weight: 1.0,
                        picked: vec!["b"],
                        seconds: None,
                    },
                    ScoredItem {
                        attempt: a,
                        item: 3,
                        score: (a % 2) as f64,
                        weight: 2.0,
                        picked: vec![],
                        seconds: None,
                    },
                ]
            })
            .collect();
        let stats = item_analysis(&items);
        assert_eq!(stats[0].discrimination, None);
        assert!(stats[0].flags[0].starts_with("too easy"));
        assert!(stats[1].flags[0].starts_with("too hard"));
        assert_eq!(stats[1].mean_seconds, None);
        assert_eq!(to_basis_points(0.83333), 8333);
        assert_eq!(to_basis_points(1.2), 10_000);
    }
}
