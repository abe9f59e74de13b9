//! CPU time: how much of the machine each step of `cargo xtask test` used.
//! On two cores the steps that run side by side share the machine, so a
//! step's wall time says little about its cost; the CPU seconds of its
//! commands (user and system, theirs and their children's) add up to the
//! run's.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

/// Seconds in a `timeval`.
fn secs(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// User and system seconds of a `rusage`.
fn total(usage: &libc::rusage) -> f64 {
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Runs `cmd` to its end; its exit status and the CPU seconds it and every
/// process it waited for used. (The child is reaped here, by `wait4`, which
/// reports its resources, so `Child::wait` must not be called after.)
pub fn status_and_cpu(cmd: &mut Command) -> io::Result<(ExitStatus, f64)> {
    let child = cmd.spawn()?;
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid for writes for the call;
        // `pid` is our own child, not yet reaped (nothing else waits for it).
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            return Ok((ExitStatus::from_raw(status), total(&usage)));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// `getrusage` of `who` in CPU seconds.
fn usage(who: libc::c_int) -> f64 {
    // SAFETY: as above, a zeroed `rusage` is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for writes; `who` is one of the constants
    // getrusage takes, so the call cannot fail.
    unsafe { libc::getrusage(who, &mut usage) };
    total(&usage)
}

/// CPU seconds of this process's children that have been reaped so far
/// (by any thread).
pub fn reaped_children() -> f64 {
    usage(libc::RUSAGE_CHILDREN)
}

/// CPU seconds of the calling thread.
pub fn this_thread() -> f64 {
    usage(libc::RUSAGE_THREAD)
}

/// CPU seconds of this process, every thread.
pub fn this_process() -> f64 {
    usage(libc::RUSAGE_SELF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_child_and_its_own_children_are_counted() {
        // A shell that starts a busy child of its own: both are counted.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'; exit 3"]);
        let (status, cpu) = status_and_cpu(&mut cmd).unwrap();
        assert_eq!(status.code(), Some(3));
        assert!(cpu > 0.05, "{cpu} CPU seconds for a busy loop");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        assert!(status_and_cpu(&mut Command::new("/nonexistent/program")).is_err());
    }
}
