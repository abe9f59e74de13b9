//! Disk space: what `cargo xtask test` has at its start, the least it has
//! while it runs, and what it frees. A cold run of every check builds the
//! workspace several times over (debug, loom, Miri, the mutants' and the
//! lab's scratch checkouts, the book's tools), and a full disk fails a step
//! half an hour in with "No space left on device": the run says at its start
//! what it needs and what there is, and at its end how low it went.

use crate::workspace::relative;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use walkdir::WalkDir;

/// One gibibyte, for messages.
pub const GIB: f64 = (1u64 << 30) as f64;

/// Bytes free to this user on the file system that holds `path`.
pub fn free(path: &Path) -> io::Result<u64> {
    let mut name = path.as_os_str().as_bytes().to_vec();
    name.push(0);
    // SAFETY: an all-zero `statvfs` is a valid value of this plain C struct.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a NUL-terminated string that outlives the call, and
    // `stats` is valid for writes.
    if unsafe { libc::statvfs(name.as_ptr().cast(), &mut stats) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // Blocks available to an unprivileged user (`f_bavail`, not `f_bfree`),
    // each `f_frsize` bytes.
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Bytes in the files under `dir` (0 when it does not exist).
pub fn size(dir: &Path) -> u64 {
    WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Removes `dir` and everything under it; returns the bytes its files held
/// (0 when it did not exist).
pub fn remove(dir: &Path) -> io::Result<u64> {
    if !dir.exists() {
        return Ok(0);
    }
    let bytes = size(dir);
    std::fs::remove_dir_all(dir)?;
    Ok(bytes)
}

/// The least free space [`watch`] has seen; `u64::MAX` before it starts.
static LOWEST: AtomicU64 = AtomicU64::new(u64::MAX);

/// Starts a thread that samples the free space on `path`'s file system
/// every second, for as long as the program runs, keeping the least seen
/// (read it with [`lowest`]). A statvfs call a second costs nothing next
/// to the builds it watches.
pub fn watch(path: &Path) {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        while let Ok(bytes) = free(&path) {
            // Relaxed: a lone running minimum, read once at the end.
            LOWEST.fetch_min(bytes, Ordering::Relaxed);
            std::thread::sleep(Duration::from_secs(1));
        }
    });
}

/// The least free space [`watch`] has seen, if it has sampled any.
pub fn lowest() -> Option<u64> {
    match LOWEST.load(Ordering::Relaxed) {
        u64::MAX => None,
        bytes => Some(bytes),
    }
}

/// "1.2 GiB", or "8 MiB" under a gibibyte.
pub fn amount(bytes: u64) -> String {
    let gib = bytes as f64 / GIB;
    if gib >= 1.0 { format!("{gib:.1} GiB") } else { format!("{:.0} MiB", gib * 1024.0) }
}

/// Removes `dir` (see [`remove`]) and says so, for a command's output:
/// "removed target/lab/scratch-target (1.8 GiB), …", or why it could not;
/// `None` when there was nothing to remove.
pub fn remove_and_say(dir: &Path) -> Option<String> {
    match remove(dir) {
        Ok(0) if !dir.exists() => None,
        Ok(bytes) => Some(format!("removed {} ({}), which nothing after this uses", relative(dir), amount(bytes))),
        Err(e) => Some(format!("could not remove {}: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_some_and_a_missing_path_is_an_error() {
        let here = free(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(here > 0, "the disk this builds on has room for the build");
        assert!(free(Path::new("/no/such/folder/here")).is_err());
    }

    #[test]
    fn remove_counts_what_it_removes() {
        let dir = std::env::temp_dir().join(format!("xtask-disk-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/one"), [0u8; 100]).unwrap();
        std::fs::write(dir.join("a/b/two"), [0u8; 23]).unwrap();
        assert_eq!(size(&dir), 123);
        assert_eq!(remove(&dir).unwrap(), 123);
        assert!(!dir.exists());
        assert_eq!(remove(&dir).unwrap(), 0, "a missing folder frees nothing");
        assert_eq!(remove_and_say(&dir), None, "nothing to say about a missing folder");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("three"), [0u8; 3]).unwrap();
        let said = remove_and_say(&dir).unwrap();
        assert!(said.starts_with("removed ") && said.contains("(0 MiB)") && !dir.exists(), "{said}");
    }

    #[test]
    fn amounts_read_in_gibibytes_or_mebibytes() {
        assert_eq!(amount(3 << 29), "1.5 GiB");
        assert_eq!(amount(8 << 20), "8 MiB");
        assert_eq!(amount(0), "0 MiB");
    }

    #[test]
    fn the_watch_keeps_the_least_it_saw() {
        watch(Path::new(env!("CARGO_MANIFEST_DIR")));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while lowest().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(lowest().is_some_and(|b| b > 0));
    }
}
