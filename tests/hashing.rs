//! Password hashing in a fixed pool of Argon2 work areas: the hashes are
//! ordinary Argon2id PHC strings, and memory stays bounded however many
//! threads hash at once.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, Params};
use rfmp::chat::hashing::HashingPool;
use std::sync::Arc;

/// Small parameters (64 KiB, 1 pass) so the tests are fast; the server
/// uses OWASP's 19 MiB and 2 passes.
fn small() -> Params {
    Params::new(64, 1, 1, None).unwrap()
}

/// The right password verifies, a wrong one does not.
#[test]
fn a_pooled_hash_verifies_only_the_right_password() {
    let pool = HashingPool::with_params(1, small());
    let stored = pool.hash("correct horse battery").unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{stored}");
    assert!(pool.verify("correct horse battery", &stored).unwrap());
    assert!(!pool.verify("correct horse battery!", &stored).unwrap());
}

/// With the server's parameters the string is the standard OWASP Argon2id
/// one, and the argon2 crate's own verifier accepts it, and the other way
/// round: nothing here is a private format.
#[test]
fn pooled_hashes_are_standard_argon2id_phc_strings() {
    let pool = HashingPool::new(1);
    let stored = pool.hash("correct horse battery").unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    let parsed = PasswordHash::new(&stored).unwrap();
    assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
    let theirs = Argon2::default().hash_password(b"staple").unwrap().to_string();
    assert!(pool.verify("staple", &theirs).unwrap());
    assert!(!pool.verify("stapler", &theirs).unwrap());
}

/// Eight threads hashing at once share the pool's two work areas: no more
/// are ever made, which is the memory bound.
#[test]
fn many_threads_share_a_fixed_number_of_work_areas() {
    let pool = Arc::new(HashingPool::with_params(2, small()));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                for j in 0..5 {
                    let password = format!("password {i} {j}");
                    let stored = pool.hash(&password).unwrap();
                    assert!(pool.verify(&password, &stored).unwrap());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(pool.areas_made() >= 1);
    assert!(pool.areas_made() <= 2, "made {}", pool.areas_made());
    assert_eq!(pool.max_bytes(), 2 * 64 * 1024);
}

/// A stored hash that asks for more memory than the pool hashes with is
/// refused (it could otherwise make the server allocate without bound).
#[test]
fn a_stored_hash_needing_more_memory_is_refused() {
    let pool = HashingPool::with_params(1, small());
    let big = Argon2::default().hash_password(b"staple").unwrap().to_string();
    let error = pool.verify("staple", &big).unwrap_err().to_string();
    assert!(error.contains("19456 KiB"), "{error}");
    let garbage = pool.verify("staple", "$md5$nope").unwrap_err().to_string();
    assert!(garbage.contains("does not parse") || garbage.contains("expected argon2id"));
}
