//! `deboot-fetch`: see the library's crate docs for the command line and exit status.

fn main() -> std::process::ExitCode {
    deboot_fetch::run(std::env::args_os())
}
