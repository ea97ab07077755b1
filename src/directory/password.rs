//! Password hashing: argon2id with a random salt, on a blocking thread (it is deliberately slow).

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;

use crate::error::{ScimError, ScimResult};

/// Hash a password for storage; the clear text is dropped afterwards.
pub async fn hash(password: String) -> ScimResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ScimError::internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
    .map_err(ScimError::internal)?
}

/// The hash of a password, if one was sent.
pub async fn hash_sent(password: Option<String>) -> ScimResult<Option<String>> {
    match password {
        Some(p) => Ok(Some(hash(p).await?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHash, PasswordVerifier};

    #[tokio::test]
    async fn hashes_verify_and_hide_the_password() {
        let h = super::hash("t1meMa$heen".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("t1meMa$heen"));
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(argon2::Argon2::default().verify_password(b"t1meMa$heen", &parsed).is_ok());
        assert!(argon2::Argon2::default().verify_password(b"wrong", &parsed).is_err());
    }
}
