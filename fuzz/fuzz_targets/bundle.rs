#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bedside_fuzz::bundle(data));
