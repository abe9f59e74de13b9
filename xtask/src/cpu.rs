//! CPU time: how much of the machine each step of `cargo xtask test` used.
//! On two cores the steps that run side by side share the machine, so a
//! step's wall time says little about its cost; the CPU seconds of its
//! commands (user and system, theirs and their children's) add up to the
//! run's.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// The machine's busy and total time so far, in clock ticks, from the
/// first line of `/proc/stat` (`cpu  user nice system idle iowait irq
/// softirq steal …`): idle and iowait are idle, the rest busy. `None` where
/// there is no such line.
fn busy_and_total(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line.split_whitespace().take(8).map(str::parse).collect::<Result<_, _>>().ok()?;
    let total: u64 = ticks.iter().sum();
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// One sample a [`watch_machine`] minute: the `/proc/stat` counters at its start.
static SAMPLES: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// Starts a thread that reads the whole machine's CPU counters once a
/// minute, for as long as the program runs, so that [`cores_busy`] can say
/// how many of the cores were in use minute by minute: where a run leaves
/// cores idle, and so where reordering or splitting its steps could help.
/// (Machine-wide: anything else running counts too.)
pub fn watch_machine() {
    std::thread::spawn(|| {
        let start = Instant::now();
        for minute in 1u32.. {
            // A failed read loses its minute (the next window spans two), not
            // the rest of the watch.
            if let Some(sample) = std::fs::read_to_string("/proc/stat").ok().as_deref().and_then(busy_and_total) {
                SAMPLES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(sample);
            }
            // To the next whole minute from the start, not 60 s from now: on
            // a loaded machine the time between wake-ups would otherwise add
            // up, and the windows would no longer be minutes.
            let next = start + Duration::from_secs(60) * minute;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    });
}

/// The cores in use on average in each whole minute [`watch_machine`] has
/// seen, and in the part minute up to now.
pub fn cores_busy() -> Vec<f64> {
    let mut samples = SAMPLES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    if let Some(now) = std::fs::read_to_string("/proc/stat").ok().as_deref().and_then(busy_and_total) {
        samples.push(now);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    samples
        .windows(2)
        .map(|w| {
            let (busy, total) = (w[1].0.saturating_sub(w[0].0), w[1].1.saturating_sub(w[0].1));
            if total == 0 { 0.0 } else { cores * busy as f64 / total as f64 }
        })
        .collect()
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

    #[test]
    fn the_machine_s_busy_time_comes_from_the_first_line_of_proc_stat() {
        let stat = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n";
        assert_eq!(busy_and_total(stat), Some((160, 1000)));
        assert_eq!(busy_and_total("intr 1 2 3\n"), None);
        assert!(busy_and_total(&std::fs::read_to_string("/proc/stat").unwrap()).is_some_and(|(b, t)| b <= t));
    }
}
