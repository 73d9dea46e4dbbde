#![no_main]

// A mutated unsigned Response, signed again with the test IdP's key before validation, so the
// profile checks behind the signature are fuzzed.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = saml_sp::fuzzing::validate_resigned(data);
});
