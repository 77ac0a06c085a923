//! Staff accounts: creating one, and setting a new password (which signs the person out
//! everywhere). The CLI and first start call these.

use anyhow::bail;

use crate::domain::email::EmailAddress;
use crate::domain::now;
use crate::domain::staff::{self, Role};
use crate::store::{sessions, users, Db, StoreError};

/// Creates an account. Fails, naming the field, when the email is taken or the password short.
pub async fn create(
    db: &Db,
    email: &EmailAddress,
    role: Role,
    password: &str,
) -> anyhow::Result<()> {
    let hash = staff::hash_password(password)?;
    let mut tx = db.begin().await?;
    match users::create(&mut tx, email.as_str(), role.as_str(), &hash, now()).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => bail!("--email: a user with this email already exists"),
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(())
}

/// Sets a new password and ends every session of that user, in one transaction. Returns how
/// many sessions ended.
pub async fn set_password(db: &Db, email: &EmailAddress, password: &str) -> anyhow::Result<u64> {
    let hash = staff::hash_password(password)?;
    let mut tx = db.begin().await?;
    let Some(id) = users::set_password_hash(&mut tx, email.as_str(), &hash).await? else {
        bail!("--email: no staff account has this email");
    };
    let ended = sessions::end_all(&mut tx, id).await?;
    tx.commit().await?;
    Ok(ended)
}
