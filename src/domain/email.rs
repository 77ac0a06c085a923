use std::fmt;
use validator::ValidateEmail;

/// An email address that has been trimmed, lower-cased and checked. Applicants are matched on this
/// form, so `Ana@Example.com ` and `ana@example.com` are the same person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let normalized = raw.trim().to_lowercase();
        if normalized.is_empty() {
            return Err("Enter your email address.");
        }
        if normalized.len() > 254 {
            return Err("Email address must be at most 254 characters.");
        }
        if !normalized.validate_email() {
            return Err("Enter a valid email address, like name@example.com.");
        }
        Ok(Self(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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

    #[test]
    fn rejects_invalid() {
        for bad in [
            "",
            "   ",
            "ana",
            "ana@",
            "@example.com",
            "a b@example.com",
            "ana@@x.se",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }
}
