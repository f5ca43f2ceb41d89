//! The byte-annotated transcript in `lessons/08-transcript.md` is exactly
//! what the code produces in the teaching mode: regenerated and compared.

/// `lessons/08-transcript.md` is byte for byte the output of `rfmp transcript`.
#[test]
fn transcript_lesson_matches_the_code() {
    let committed = std::fs::read_to_string("lessons/08-transcript.md").expect("the lesson");
    let generated = rfmp::teach::transcript::render().expect("the transcript renders");
    assert!(
        committed == generated,
        "lessons/08-transcript.md is out of date: regenerate it with\n\
         cargo run -q -- transcript > lessons/08-transcript.md"
    );
}

/// The teaching mode is deterministic: two renderings are identical, and
/// they really depend on the seed (a test that cannot fail is no test).
#[test]
fn transcript_is_deterministic_and_seeded() {
    let first = rfmp::teach::transcript::render().unwrap();
    assert_eq!(first, rfmp::teach::transcript::render().unwrap());
    // The session key printed in 11.a is the first 16 bytes of the seeded generator.
    let mut rng = rfmp::teach::transcript::teaching_rng();
    let key = rfmp::handshake::packets::generate_session_key(&mut rng);
    assert!(first.contains(&hex::encode(key.as_bytes())));
}

/// `diagrams/transcript.md` is byte for byte `rfmp transcript --diagram`.
#[test]
fn transcript_diagram_matches_the_code() {
    let committed = std::fs::read_to_string("diagrams/transcript.md").expect("the diagram");
    let generated = rfmp::teach::transcript::diagram().expect("the diagram renders");
    assert!(
        committed == generated,
        "diagrams/transcript.md is out of date: regenerate it with\n\
         cargo run -q -- transcript --diagram > diagrams/transcript.md"
    );
    assert!(generated.contains("C->>S: 11.a EC, 804 B"), "{generated}");
}
