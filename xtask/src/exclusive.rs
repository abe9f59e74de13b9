//! One run at a time in a fixed scratch folder. `cargo xtask mutants` and the
//! lab's scratch checks each copy the checkout into a folder of their own
//! under `<target>` and build it there; two runs of the same command at once
//! would overwrite each other's copy (and could each take the other's
//! artifacts for fresh), so the second waits for the first.

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Held while a run uses its scratch folder; dropping it (or the process
/// ending, however it ends) lets the next run in.
#[derive(Debug)]
pub struct Exclusive {
    /// `None` when a parent process holds the lock for this one (see
    /// [`HELD_BY_PARENT`]).
    _lock: Option<File>,
}

/// Set by a run that holds a lock on the `cargo xtask` it starts, to the lock
/// file's path: that child works under its parent's lock instead of waiting
/// for it for ever.
pub const HELD_BY_PARENT: &str = "XTASK_LOCK_HELD_BY_PARENT";

/// The lock file of `folder`.
pub fn lock_file(folder: &Path) -> PathBuf {
    folder.with_extension("lock")
}

/// Takes the lock on `folder` (the file `<folder>.lock` beside it), waiting,
/// with a message naming `what`, while another process holds it.
pub fn exclusive(folder: &Path, what: &str) -> Result<Exclusive> {
    let path = lock_file(folder);
    if std::env::var_os(HELD_BY_PARENT).is_some_and(|held| Path::new(&held) == path) {
        return Ok(Exclusive { _lock: None });
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("could not create {}", parent.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("could not open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            eprintln!("waiting for another {what} to finish with {}…", folder.display());
            file.lock().with_context(|| format!("could not lock {}", path.display()))?;
        }
        Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("could not lock {}", path.display())),
    }
    Ok(Exclusive { _lock: Some(file) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("xtask-exclusive-{}", std::process::id()));
        let folder = dir.join("scratch");
        let first = exclusive(&folder, "test").unwrap();
        // A second open file description of the same lock file is refused
        // while the first holds it, and taken once it is dropped.
        let other = OpenOptions::new().write(true).open(folder.with_extension("lock")).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop(first);
        assert!(other.try_lock().is_ok());
        drop(other);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
