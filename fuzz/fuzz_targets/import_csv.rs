#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| autointel_fuzz::import_csv(data));
