//! The function's binary stops at its cold start when its configuration is missing, naming what it needs.

#[test]
fn refuses_to_start_unconfigured() {
    framelift_testkit::assert_refuses_to_start_unconfigured(env!("CARGO_BIN_EXE_framelift-edit"));
}
