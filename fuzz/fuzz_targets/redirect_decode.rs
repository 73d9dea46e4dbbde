#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    saml_sp::fuzzing::redirect_decode(data);
});
