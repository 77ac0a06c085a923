//! Staff accounts: roles and password hashing.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Admin,
    Recruiter,
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Recruiter => "recruiter",
            Role::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Role::Admin, Role::Recruiter, Role::Manager]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// What an API key may do. `Intake` (the default) only submits applications, and learns
/// nothing about who has applied; the others may do what the staff role of the same name may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyRole {
    Intake,
    Recruiter,
    Manager,
    Admin,
}

impl KeyRole {
    pub const ALL: [KeyRole; 4] = [
        KeyRole::Intake,
        KeyRole::Recruiter,
        KeyRole::Manager,
        KeyRole::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Intake => "intake",
            KeyRole::Recruiter => "recruiter",
            KeyRole::Manager => "manager",
            KeyRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The staff role with the same powers, if any.
    pub fn staff_role(self) -> Option<Role> {
        match self {
            KeyRole::Intake => None,
            KeyRole::Recruiter => Some(Role::Recruiter),
            KeyRole::Manager => Some(Role::Manager),
            KeyRole::Admin => Some(Role::Admin),
        }
    }
}

pub const MIN_PASSWORD_LEN: usize = 12;

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        anyhow::bail!("password: use at least {MIN_PASSWORD_LEN} characters");
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password of 20 characters from an alphabet without look-alikes (no 0/O, 1/l/I).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_short_passwords_are_refused() {
        let pw = generate_password();
        let h = hash_password(&pw).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&pw, &h));
        assert!(!verify_password("wrong password!", &h));
        assert!(hash_password("short").is_err());
    }
}
