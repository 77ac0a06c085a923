use std::fmt;
use std::str::FromStr;

use validator::ValidateEmail;

/// An email address that has been trimmed, lower-cased and checked. Applicants are matched on this
/// form, so `Ana@Example.com ` and `ana@example.com` are the same person.
///
/// The check is the one the mail is built with (lettre's `Address`), so an address accepted here
/// can always be sent to, plus a domain rule: a dotted name of valid labels (`ana@gmail` and
/// `x@[127.0.0.1]` are refused), since mail to anything else never arrives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

const INVALID: &str = "Enter a valid email address, like name@example.com.";
const NOT_ASCII: &str = "Write the address in plain letters (a-z), digits and . _ + -; for an \
    international domain, use the form that starts with xn-- (your provider can tell you).";

/// What `EmailAddress::parse` accepts once trimmed and lower-cased, as a regular expression
/// for the API document: a dot-atom local part of 1 to 64 characters, and a domain of at least
/// two labels of letters, digits and inner hyphens, each at most 63 long, the last starting
/// with a letter and at least two long. (The 254-character limit is stated as `maxLength`.)
pub const EMAIL_PATTERN: &str = r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$";

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let normalized = raw.trim().to_lowercase();
        if normalized.is_empty() {
            return Err("Enter your email address.");
        }
        if normalized.len() > 254 {
            return Err("Email address must be at most 254 characters.");
        }
        if !normalized.is_ascii() {
            return Err(NOT_ASCII);
        }
        if !normalized.validate_email() || lettre::Address::from_str(&normalized).is_err() {
            return Err(INVALID);
        }
        let (_, domain) = normalized.rsplit_once('@').ok_or(INVALID)?;
        if !domain.contains('.') {
            return Err(
                "Enter the whole address, with the part after the dot, like name@gmail.com.",
            );
        }
        if !is_valid_domain(domain) {
            return Err(INVALID);
        }
        Ok(Self(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// A likely intended address when the domain is a near miss of a common one
    /// (`ana@gmial.com` → `ana@gmail.com`). Only a suggestion: the applicant decides.
    pub fn suggestion(&self) -> Option<EmailAddress> {
        let (local, domain) = self.0.rsplit_once('@')?;
        suggest_domain(domain).map(|d| EmailAddress(format!("{local}@{d}")))
    }
}

/// What people most often mean when they mistype a domain: the big webmail providers, and the
/// ones most used in the markets we hire in.
const COMMON_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.se",
    "hotmail.de",
    "outlook.com",
    "live.com",
    "live.se",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.se",
    "icloud.com",
    "me.com",
    "aol.com",
    "protonmail.com",
    "proton.me",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "telia.com",
    "online.no",
    "btinternet.com",
    "ziggo.nl",
];

/// Labels of letters, digits and inner hyphens, at most 63 long, and a top-level domain that is
/// not all digits.
fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// Whether `domain` is one of the big webmail domains most applicants use.
pub fn is_common_domain(domain: &str) -> bool {
    COMMON_DOMAINS.contains(&domain)
}

/// The common domain `domain` most likely meant, if it is one or two keystrokes away (a letter
/// missing, extra, wrong or two swapped) and not itself a common domain.
pub fn suggest_domain(domain: &str) -> Option<&'static str> {
    if domain.len() < 5 || COMMON_DOMAINS.contains(&domain) {
        return None;
    }
    COMMON_DOMAINS
        .iter()
        .map(|c| (edit_distance(domain, c), *c))
        .filter(|(d, c)| *d <= if c.len() > 8 { 2 } else { 1 })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_whitespace() {
        let a = EmailAddress::parse("  Ana.Lind@Example.COM \t").unwrap();
        assert_eq!(a.as_str(), "ana.lind@example.com");
    }

    /// Refused, each for a reason a sender or a mail server would refuse it too.
    const REJECTED: &[&str] = &[
        "",
        "   ",
        "ana",
        "ana@",
        "@example.com",
        "a b@example.com",
        "ana@@x.se",
        // No dot in the domain: mail never arrives.
        "ana@gmail",
        "x@example",
        // What the message builder refuses: these were accepted and then never sent.
        ".ada@example.com",
        "vic..tim@example.com",
        "ada.@example.com",
        "ada@[127.0.0.1]",
        // Labels that are not host names.
        "ada@-example.com",
        "ada@example-.com",
        "ada@example..com",
        "ada@example.c",
        "ada@example.123",
        "ada@example.1a",
        "ada@exa_mple.com",
        // Not plain ASCII: many mail servers cannot take it (no SMTPUTF8).
        "ana@bücher.example",
        "åsa@example.se",
    ];

    const ACCEPTED: &[&str] = &[
        "ana@example.com",
        "ana.lind+jobs@mail.example.co.uk",
        "o'brien@example.ie",
        "ana@xn--bcher-kva.example",
        "ana@example.xn--p1ai",
        "a@b.se",
        "a@b.c1",
        "x{|}~-@1.example",
    ];

    #[test]
    fn rejects_invalid() {
        let long = format!("{}@example.com", "a".repeat(250));
        let local_65 = format!("{}@example.com", "a".repeat(65));
        let label_64 = format!("a@{}.com", "a".repeat(64));
        for bad in REJECTED
            .iter()
            .copied()
            .chain([&*long, &*local_65, &*label_64])
        {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(EmailAddress::parse("ana@gmail")
            .unwrap_err()
            .contains("after the dot"));
        assert!(EmailAddress::parse("ana@bücher.example")
            .unwrap_err()
            .contains("xn--"));
    }

    #[test]
    fn every_accepted_address_builds_a_message() {
        let local_64 = format!("{}@example.com", "a".repeat(64));
        let label_63 = format!("a@{}.com", "a".repeat(63));
        for good in ACCEPTED.iter().copied().chain([&*local_64, &*label_63]) {
            let a = EmailAddress::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            let mailbox: lettre::message::Mailbox = a.as_str().parse().unwrap();
            lettre::Message::builder()
                .from("x@example.com".parse().unwrap())
                .to(mailbox)
                .subject("s")
                .body(String::from("b"))
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    /// The pattern the API document publishes accepts exactly what `parse` accepts (for an
    /// address already trimmed and lower-cased): on the lists above, and on thousands of
    /// addresses put together from pieces that sit near each rule's edge.
    #[test]
    fn the_published_pattern_agrees_with_parse() {
        let pattern = fancy_regex::Regex::new(EMAIL_PATTERN).unwrap();
        let agree = |s: &str| {
            let matched = pattern.is_match(s).unwrap();
            let parsed = EmailAddress::parse(s).is_ok();
            assert_eq!(matched, parsed, "{s:?}: pattern {matched}, parse {parsed}");
        };
        for s in ACCEPTED.iter().chain(REJECTED) {
            agree(s);
        }
        const LOCAL: &[&str] = &["a", "z9", ".", "-", "+", "_", "'", "ü", "~", " "];
        const DOMAIN: &[&str] = &["a", "b2", "-", ".", "1", "xn--p1ai", "_", "é", "q"];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as usize % n
        };
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..1 + next(4) {
                s.push_str(LOCAL[next(LOCAL.len())]);
            }
            s.push('@');
            for _ in 0..1 + next(6) {
                s.push_str(DOMAIN[next(DOMAIN.len())]);
            }
            if s == s.trim() {
                agree(&s);
            }
        }
    }

    #[test]
    fn near_misses_of_common_domains_get_a_suggestion() {
        let s = |a: &str| EmailAddress::parse(a).unwrap().suggestion().map(|e| e.0);
        assert_eq!(s("ana@gmial.com").as_deref(), Some("ana@gmail.com"));
        assert_eq!(s("ana@gmail.con").as_deref(), Some("ana@gmail.com"));
        assert_eq!(s("ana@hotmial.com").as_deref(), Some("ana@hotmail.com"));
        assert_eq!(s("ana@outlok.com").as_deref(), Some("ana@outlook.com"));
        assert_eq!(s("ana@yaho.com").as_deref(), Some("ana@yahoo.com"));
        assert_eq!(s("ana@icloud.co").as_deref(), Some("ana@icloud.com"));
        // Right already, or not close to anything common: no suggestion.
        assert_eq!(s("ana@gmail.com"), None);
        assert_eq!(s("ana@example.com"), None);
        assert_eq!(s("ana@company.se"), None);
        assert_eq!(s("ana@me.se"), None);
    }
}
