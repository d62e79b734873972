#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| autointel_fuzz::wire_to_domain(data));
