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

/// Text as the bank keeps it: LF line ends (browsers post CRLF from a textarea) and no space at
/// either end, so the same words always compare equal.
pub fn normalize_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

fn is_valid_category(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 40
        && c.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == ':' || ch == '_')
}

/// What an applicant submitted for one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// An item's score in hundredths of a point: `weight_bp × score_bp / 10⁶`, rounded. Rest-of-test
/// scores are sums of these, so they stay exact integers.
pub fn centipoints(weight_bp: i64, score_bp: i64) -> i64 {
    (weight_bp * score_bp + 500_000) / 1_000_000
}

/// Running sums from which every item statistic follows. Kept per quiz and question version in
/// storage and updated as each attempt is scored, so the analysis page reads one row per item
/// instead of every attempt. x is the item score in basis points of full credit, y the rest of
/// the attempt's weighted score in centipoints.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ItemSums {
    pub n: i64,
    pub full_credit: i64,
    pub sum_x: i64,
    pub sum_xx: i64,
    pub sum_y: i64,
    pub sum_yy: i64,
    pub sum_xy: i64,
    pub timed: i64,
    pub sum_seconds: i64,
    pub choices: BTreeMap<String, i64>,
}

impl ItemSums {
    pub fn add(&mut self, x_bp: i64, rest_cp: i64, seconds: Option<i64>, picked: &[&str]) {
        self.n += 1;
        self.full_credit += i64::from(x_bp >= 10_000);
        self.sum_x += x_bp;
        self.sum_xx += x_bp * x_bp;
        self.sum_y += rest_cp;
        self.sum_yy += rest_cp * rest_cp;
        self.sum_xy += x_bp * rest_cp;
        if let Some(s) = seconds {
            self.timed += 1;
            self.sum_seconds += s;
        }
        let distinct: HashSet<&str> = picked.iter().copied().collect();
        for k in distinct {
            *self.choices.entry(k.to_string()).or_insert(0) += 1;
        }
    }

    /// The statistics, with flags once there are at least `min_attempts` attempts: with fewer,
    /// chance alone makes most items look too easy, too hard or weak.
    pub fn stats(&self, min_attempts: i64) -> ItemStats {
        let n = self.n.max(1) as f64;
        let facility = self.sum_x as f64 / (n * 10_000.0);
        let discrimination = self.pearson();
        let mean_seconds = (self.timed > 0).then(|| self.sum_seconds as f64 / self.timed as f64);
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
        let enough_attempts = self.n >= min_attempts;
        if !enough_attempts {
            flags.clear();
        }
        ItemStats {
            attempts: self.n,
            full_credit: self.full_credit,
            facility,
            discrimination,
            mean_seconds,
            choices: self.choices.clone(),
            enough_attempts,
            flags,
        }
    }

    /// Pearson's r from the sums, in exact integer arithmetic up to the last division; None
    /// when either the item or the rest of the test does not vary.
    fn pearson(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let n = i128::from(self.n);
        let (sx, sy) = (i128::from(self.sum_x), i128::from(self.sum_y));
        let sxx = n * i128::from(self.sum_xx) - sx * sx;
        let syy = n * i128::from(self.sum_yy) - sy * sy;
        let sxy = n * i128::from(self.sum_xy) - sx * sy;
        (sxx > 0 && syy > 0).then(|| sxy as f64 / ((sxx as f64) * (syy as f64)).sqrt())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemStats {
    pub attempts: i64,
    /// Attempts that earned full credit.
    pub full_credit: i64,
    /// Mean share of full credit: how easy the item is.
    pub facility: f64,
    /// Pearson correlation between the item's score and the rest of the test's score in the same
    /// attempts; None when either does not vary.
    pub discrimination: Option<f64>,
    pub mean_seconds: Option<f64>,
    /// How often each choice was picked.
    pub choices: BTreeMap<String, i64>,
    /// Whether there are enough attempts to judge the item; flags wait for them.
    pub enough_attempts: bool,
    /// Why the item needs a look; empty when it is fine, or when there are too few attempts to
    /// tell.
    pub flags: Vec<String>,
}

/// Statistics per item over finished attempts, straight from the scored items. The
/// rest-of-test score is the attempt's weighted total without this item, so an item is not
/// correlated with itself.
pub fn item_analysis(items: &[ScoredItem<'_>], min_attempts: i64) -> Vec<(u64, ItemStats)> {
    let cp = |s: &ScoredItem<'_>| {
        centipoints(
            (s.weight * 10_000.0).round() as i64,
            to_basis_points(s.score),
        )
    };
    let mut totals: BTreeMap<u64, i64> = BTreeMap::new();
    for s in items {
        *totals.entry(s.attempt).or_default() += cp(s);
    }
    let mut sums: BTreeMap<u64, ItemSums> = BTreeMap::new();
    for s in items {
        sums.entry(s.item).or_default().add(
            to_basis_points(s.score),
            totals[&s.attempt] - cp(s),
            s.seconds.map(|t| t.round() as i64),
            &s.picked,
        );
    }
    sums.into_iter()
        .map(|(k, v)| (k, v.stats(min_attempts)))
        .collect()
}

fn is_valid_slug(s: &str) -> bool {
    (1..=60).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn yes() -> bool {
    true
}

fn two() -> u32 {
    2
}

/// A quiz: what to draw from the bank, how long, what passes, and who takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuizDef {
    pub slug: String,
    pub title: String,
    #[serde(default = "yes")]
    pub active: bool,
    pub time_limit_minutes: u32,
    /// Overall pass mark, percent of the weighted score.
    pub pass_percent: u32,
    #[serde(default = "two")]
    pub max_attempts: u32,
    /// Shortest wait after a failed attempt before the next.
    #[serde(default)]
    pub cooldown_hours: u32,
    /// ISO 3166-1 countries this quiz is for; empty means every market.
    #[serde(default)]
    pub markets: Vec<String>,
    /// ISO 639-1 languages; the applicant must speak one. Empty means any.
    #[serde(default)]
    pub languages: Vec<String>,
    /// How many questions to draw from each category.
    pub draw: BTreeMap<String, u32>,
    /// Optional pass marks per category, percent.
    #[serde(default)]
    pub category_pass_percent: BTreeMap<String, u32>,
}

pub const MAX_QUESTIONS_PER_QUIZ: u32 = 100;

impl QuizDef {
    /// Problems by field. `bank` holds how many questions each category has.
    pub fn check(&self, bank: &BTreeMap<String, usize>) -> crate::domain::FieldErrors {
        use crate::domain::add_error;
        let mut e = crate::domain::FieldErrors::new();
        if !is_valid_slug(&self.slug) {
            add_error(
                &mut e,
                "slug",
                "Use 1 to 60 lower-case letters, digits and hyphens.",
            );
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 120 {
            add_error(
                &mut e,
                "title",
                "Give the quiz a title of up to 120 characters.",
            );
        }
        if !(1..=180).contains(&self.time_limit_minutes) {
            add_error(
                &mut e,
                "time_limit_minutes",
                "Use a time limit from 1 to 180 minutes.",
            );
        }
        if !(1..=100).contains(&self.pass_percent) {
            add_error(
                &mut e,
                "pass_percent",
                "Use a pass mark from 1 to 100 percent.",
            );
        }
        if !(1..=10).contains(&self.max_attempts) {
            add_error(&mut e, "max_attempts", "Allow from 1 to 10 attempts.");
        }
        if self.cooldown_hours > 24 * 365 {
            add_error(
                &mut e,
                "cooldown_hours",
                "Use a cooldown of at most 8760 hours.",
            );
        }
        for m in &self.markets {
            if crate::domain::iso::country_name(m).is_none() {
                add_error(
                    &mut e,
                    "markets",
                    format!("{m:?} is not a two-letter ISO 3166-1 country code."),
                );
            }
        }
        for l in &self.languages {
            if crate::domain::iso::language_name(l).is_none() {
                add_error(
                    &mut e,
                    "languages",
                    format!("{l:?} is not a two-letter ISO 639-1 language code."),
                );
            }
        }
        let total: u32 = self.draw.values().sum();
        if total == 0 {
            add_error(&mut e, "draw", "Draw at least one question.");
        } else if total > MAX_QUESTIONS_PER_QUIZ {
            add_error(
                &mut e,
                "draw",
                format!("Draw at most {MAX_QUESTIONS_PER_QUIZ} questions in all."),
            );
        }
        for (category, n) in &self.draw {
            let have = bank.get(category).copied().unwrap_or(0);
            if *n as usize > have {
                add_error(
                    &mut e,
                    &format!("draw.{category}"),
                    format!("The bank has {have} {category} questions; draw at most that many."),
                );
            }
        }
        for (category, p) in &self.category_pass_percent {
            if self.draw.get(category).copied().unwrap_or(0) == 0 {
                add_error(
                    &mut e,
                    &format!("pass.{category}"),
                    format!("No {category} questions are drawn, so there is nothing to pass."),
                );
            } else if !(1..=100).contains(p) {
                add_error(
                    &mut e,
                    &format!("pass.{category}"),
                    "Use a pass mark from 1 to 100 percent.",
                );
            }
        }
        e
    }

    pub fn question_count(&self) -> u32 {
        self.draw.values().sum()
    }

    /// Whether an applicant from `country` speaking `languages` takes this quiz.
    pub fn applies_to(&self, country: &str, languages: &[&str]) -> bool {
        self.active
            && (self.markets.is_empty() || self.markets.iter().any(|m| m == country))
            && (self.languages.is_empty()
                || self
                    .languages
                    .iter()
                    .any(|l| languages.contains(&l.as_str())))
    }

    /// Narrower quizzes win: one for a market beats one for everyone.
    pub fn specificity(&self) -> u8 {
        u8::from(!self.markets.is_empty()) * 2 + u8::from(!self.languages.is_empty())
    }
}

/// The quiz for an applicant: the most specific active one that applies, then by slug. `def`
/// reads the definition out of whatever the caller holds (a definition, or one with its id).
pub fn quiz_for<'a, T>(
    quizzes: &'a [T],
    def: impl Fn(&T) -> &QuizDef,
    country: &str,
    languages: &[&str],
) -> Option<&'a T> {
    quizzes
        .iter()
        .filter(|q| def(q).applies_to(country, languages))
        .min_by(|a, b| {
            let (a, b) = (def(a), def(b));
            b.specificity()
                .cmp(&a.specificity())
                .then_with(|| a.slug.cmp(&b.slug))
        })
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuizFile {
    #[serde(default)]
    quiz: Vec<QuizDef>,
}

/// Reads quiz definitions (`seed/quizzes.toml`); problems name the quiz and the field.
pub fn parse_quizzes(
    text: &str,
    bank: &BTreeMap<String, usize>,
) -> Result<Vec<QuizDef>, Vec<String>> {
    let file: QuizFile = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
    let problems: Vec<String> = file
        .quiz
        .iter()
        .flat_map(|q| {
            q.check(bank).into_iter().flat_map(move |(field, msgs)| {
                msgs.into_iter()
                    .map(move |m| format!("quiz {}: {field}: {m}", q.slug))
            })
        })
        .collect();
    if problems.is_empty() {
        Ok(file.quiz)
    } else {
        Err(problems)
    }
}

/// Draws an attempt: `def.draw[c]` distinct items from each category's pool, then the whole
/// list shuffled, so categories are interleaved and every attempt has its own order.
pub fn draw<T: Clone, R: rand::Rng>(
    def: &QuizDef,
    pools: &BTreeMap<String, Vec<T>>,
    rng: &mut R,
) -> Result<Vec<(String, T)>, String> {
    use rand::seq::SliceRandom;
    let mut out = Vec::new();
    for (category, n) in &def.draw {
        let pool = pools.get(category).map(Vec::as_slice).unwrap_or(&[]);
        if pool.len() < *n as usize {
            return Err(format!(
                "the bank has {} {category} questions and the quiz draws {n}",
                pool.len()
            ));
        }
        out.extend(
            pool.choose_multiple(rng, *n as usize)
                .map(|t| (category.clone(), t.clone())),
        );
    }
    out.shuffle(rng);
    Ok(out)
}

/// A fresh order for a question's choices.
pub fn shuffled_keys<R: rand::Rng>(q: &Question, rng: &mut R) -> Vec<String> {
    use rand::seq::SliceRandom;
    let mut keys: Vec<String> = q.choices.iter().map(|c| c.key.clone()).collect();
    keys.shuffle(rng);
    keys
}

impl Question {
    /// Whether `answer` fits this question: the right kind, and only its own choices.
    pub fn accepts(&self, answer: &Answer) -> Result<(), String> {
        let known = |k: &str| self.choice(k).is_some();
        match (self.kind, answer) {
            (Kind::Single, Answer::Single(k)) if known(k) => Ok(()),
            (Kind::Multiple, Answer::Multiple(ks))
                if !ks.is_empty() && ks.iter().all(|k| known(k)) =>
            {
                Ok(())
            }
            (Kind::Judgement, Answer::Judgement { best, worst }) if known(best) && known(worst) => {
                if best == worst {
                    Err("Pick different replies as the best and the worst.".into())
                } else {
                    Ok(())
                }
            }
            _ => Err("Pick from the choices shown for this question.".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryScore {
    pub category: String,
    pub score_bp: i64,
    /// The category's pass mark, if it has one.
    pub pass_bp: Option<i64>,
}

impl CategoryScore {
    pub fn passed(&self) -> bool {
        self.pass_bp.is_none_or(|p| self.score_bp >= p)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptScore {
    /// Per item, in the order given: share of full credit in basis points.
    pub items: Vec<i64>,
    /// Weighted share of the whole quiz, basis points.
    pub total_bp: i64,
    pub categories: Vec<CategoryScore>,
    pub passed: bool,
}

/// One drawn item as scored: the version it showed, its category and weight, and the answer
/// saved in time (None if unanswered or late).
pub struct ItemToScore<'a> {
    pub question: &'a Question,
    pub category: &'a str,
    pub weight_bp: i64,
    pub answer: Option<&'a Answer>,
}

/// Scores an attempt. Deterministic: the same items and answers always give the same result.
/// Pass needs the overall mark and every category mark the quiz sets.
pub fn score_attempt(def: &QuizDef, items: &[ItemToScore<'_>]) -> AttemptScore {
    let scores: Vec<i64> = items
        .iter()
        .map(|i| i.answer.map_or(0, |a| to_basis_points(i.question.score(a))))
        .collect();
    let weighted = |filter: &dyn Fn(&ItemToScore<'_>) -> bool| {
        let (mut got, mut max) = (0i64, 0i64);
        for (item, s) in items.iter().zip(&scores) {
            if filter(item) {
                got += item.weight_bp * s;
                max += item.weight_bp;
            }
        }
        if max == 0 {
            0
        } else {
            // Rounded down, so a pass is never rounded into being.
            got / max
        }
    };
    let total_bp = weighted(&|_| true);
    let mut categories: Vec<CategoryScore> = def
        .draw
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, _)| CategoryScore {
            category: c.clone(),
            score_bp: weighted(&|i| i.category == c),
            pass_bp: def
                .category_pass_percent
                .get(c)
                .map(|p| i64::from(*p) * 100),
        })
        .collect();
    categories.sort_by(|a, b| a.category.cmp(&b.category));
    let passed = total_bp >= i64::from(def.pass_percent) * 100
        && categories.iter().all(CategoryScore::passed);
    AttemptScore {
        items: scores,
        total_bp,
        categories,
        passed,
    }
}

/// Each item's rest-of-test score, in centipoints: the attempt's weighted total without it.
pub fn rest_scores(weights_bp: &[i64], scores_bp: &[i64]) -> Vec<i64> {
    let cps: Vec<i64> = weights_bp
        .iter()
        .zip(scores_bp)
        .map(|(w, s)| centipoints(*w, *s))
        .collect();
    let total: i64 = cps.iter().sum();
    cps.iter().map(|c| total - c).collect()
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
        let stats = item_analysis(&items, 1);
        assert_eq!(stats.len(), 3);
        let s1 = &stats[0].1;
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
        let s3 = &stats[2].1;
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
        let stats = item_analysis(&items, 1);
        assert_eq!(stats[0].1.discrimination, None);
        assert!(stats[0].1.flags[0].starts_with("too easy"));
        assert!(stats[1].1.flags[0].starts_with("too hard"));
        assert_eq!(stats[1].1.mean_seconds, None);
        assert_eq!(to_basis_points(0.83333), 8333);
        assert_eq!(to_basis_points(1.2), 10_000);

        // The same items with fewer attempts than the minimum: numbers, but no flags.
        let waiting = item_analysis(&items, 21);
        assert!(waiting
            .iter()
            .all(|(_, s)| s.flags.is_empty() && !s.enough_attempts));
        assert!((waiting[0].1.facility - 1.0).abs() < 1e-12);
        assert!(item_analysis(&items, 20)
            .iter()
            .all(|(_, s)| s.enough_attempts));
    }

    fn def() -> QuizDef {
        QuizDef {
            slug: "se-agents".into(),
            title: "Agents, Sweden".into(),
            active: true,
            time_limit_minutes: 20,
            pass_percent: 70,
            max_attempts: 2,
            cooldown_hours: 24,
            markets: vec!["SE".into()],
            languages: vec!["sv".into()],
            draw: [("tone".to_string(), 2), ("policy".to_string(), 1)].into(),
            category_pass_percent: [("policy".to_string(), 50)].into(),
        }
    }

    #[test]
    fn quiz_definitions_are_checked_field_by_field() {
        let bank: BTreeMap<String, usize> =
            [("tone".to_string(), 5), ("policy".to_string(), 1)].into();
        assert!(def().check(&bank).is_empty(), "{:?}", def().check(&bank));
        let mut bad = def();
        bad.slug = "Se Agents".into();
        bad.time_limit_minutes = 0;
        bad.pass_percent = 101;
        bad.markets = vec!["XX".into()];
        bad.languages = vec!["zz".into()];
        bad.draw.insert("policy".into(), 3);
        bad.category_pass_percent.insert("fraud".into(), 50);
        let e = bad.check(&bank);
        for field in [
            "slug",
            "time_limit_minutes",
            "pass_percent",
            "markets",
            "languages",
            "draw.policy",
            "pass.fraud",
        ] {
            assert!(e.contains_key(field), "{field} missing from {e:?}");
        }
        assert!(e["draw.policy"][0].contains("has 1 policy questions"));
    }

    #[test]
    fn the_most_specific_quiz_applies() {
        let mut general = def();
        general.slug = "general".into();
        general.markets.clear();
        general.languages = vec!["en".into()];
        let quizzes = vec![general, def()];
        assert_eq!(
            quiz_for(&quizzes, |q| q, "SE", &["sv", "en"]).unwrap().slug,
            "se-agents"
        );
        assert_eq!(
            quiz_for(&quizzes, |q| q, "DE", &["de", "en"]).unwrap().slug,
            "general"
        );
        assert!(quiz_for(&quizzes, |q| q, "DE", &["de"]).is_none());
    }

    #[test]
    fn draws_take_distinct_items_per_category_and_mix_them() {
        let pools: BTreeMap<String, Vec<u32>> = [
            ("tone".to_string(), (0..10).collect()),
            ("policy".to_string(), vec![100, 101]),
        ]
        .into();
        let mut rng = rand::thread_rng();
        for _ in 0..50 {
            let drawn = draw(&def(), &pools, &mut rng).unwrap();
            assert_eq!(drawn.len(), 3);
            let tone: HashSet<u32> = drawn
                .iter()
                .filter(|d| d.0 == "tone")
                .map(|d| d.1)
                .collect();
            assert_eq!(tone.len(), 2);
            assert!(tone.iter().all(|t| *t < 10));
        }
        let short: BTreeMap<String, Vec<u32>> = [("tone".to_string(), vec![1])].into();
        assert!(draw(&def(), &short, &mut rng).is_err());
    }

    #[test]
    fn attempts_pass_on_the_overall_and_every_category_mark() {
        let single = question(Kind::Single, vec![choice("a", 1.0), choice("b", 0.0)]);
        let a = Answer::Single("a".into());
        let b = Answer::Single("b".into());
        let score = |answers: [Option<&Answer>; 3]| {
            let items: Vec<ItemToScore> = [("tone", 10_000), ("tone", 20_000), ("policy", 10_000)]
                .iter()
                .zip(answers)
                .map(|((c, w), ans)| ItemToScore {
                    question: &single,
                    category: c,
                    weight_bp: *w,
                    answer: ans,
                })
                .collect();
            score_attempt(&def(), &items)
        };
        let all = score([Some(&a), Some(&a), Some(&a)]);
        assert_eq!(all.items, vec![10_000, 10_000, 10_000]);
        assert_eq!(all.total_bp, 10_000);
        assert!(all.passed);
        // Policy wrong: 3 of 4 weighted points is 75% overall, but policy's own 50% mark fails.
        let policy_wrong = score([Some(&a), Some(&a), Some(&b)]);
        assert_eq!(policy_wrong.total_bp, 7_500);
        assert!(!policy_wrong.passed);
        assert_eq!(policy_wrong.categories[0].category, "policy");
        assert_eq!(policy_wrong.categories[0].score_bp, 0);
        // The heavy tone item unanswered: 2 of 4 points.
        let unanswered = score([Some(&a), None, Some(&a)]);
        assert_eq!(unanswered.total_bp, 5_000);
        assert!(!unanswered.passed);
        assert_eq!(
            rest_scores(&[10_000, 20_000, 10_000], &all.items),
            vec![300, 200, 300]
        );
    }

    #[test]
    fn answers_must_fit_their_question() {
        let q = judgement();
        assert!(q
            .accepts(&Answer::Judgement {
                best: "a".into(),
                worst: "c".into()
            })
            .is_ok());
        assert!(q
            .accepts(&Answer::Judgement {
                best: "a".into(),
                worst: "a".into()
            })
            .is_err());
        assert!(q
            .accepts(&Answer::Judgement {
                best: "a".into(),
                worst: "zz".into()
            })
            .is_err());
        assert!(q.accepts(&Answer::Single("a".into())).is_err());
    }
}
