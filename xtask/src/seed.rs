//! Seeding a build folder with the crates.io dependencies another folder has
//! already compiled.
//!
//! Several commands compile the same dependencies with the same flags in
//! folders of their own: `cargo xtask loom` in `<target>/loom`, the mutants
//! in `<target>/mutants/target`, the lab's loom models in its scratch
//! folder. Each would compile them again (about 75 CPU-seconds of release
//! builds for the mutants' first solution alone). Before it builds, such a
//! folder is seeded with copies of the other folders' crates.io units; cargo
//! then finds fresh the ones whose hash it computes itself (same version,
//! features, flags and profile) and compiles only the rest. A unit cargo
//! would not compute is never used, so a seed can make a build faster but
//! never change what it builds.
//!
//! Only crates.io units are copied. Cargo names a workspace member's units by
//! the member's path within the workspace, so a scratch copy's member and the
//! checkout's have the same names: a copied member could be taken for fresh
//! and hide a change. Each unit is copied fingerprint first (so a unit caught
//! half-built has no complete fingerprint, and is rebuilt), with its files'
//! modification times (cargo compares them), from a folder whose build lock
//! this holds while it copies.

use crate::workspace::{relative, root};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::fs::{File, FileTimes};
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Lock {
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    source: Option<String>,
}

/// The names of the packages that `lock_file` (a `Cargo.lock`) takes from a
/// registry.
fn registry_packages(lock_file: &Path) -> Result<HashSet<String>> {
    let text = std::fs::read_to_string(lock_file).with_context(|| format!("could not read {}", lock_file.display()))?;
    let lock: Lock = toml::from_str(&text).with_context(|| format!("could not parse {}", lock_file.display()))?;
    Ok(lock
        .package
        .into_iter()
        .filter(|p| p.source.as_deref().is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+")))
        .map(|p| p.name)
        .collect())
}

/// The unit hash an entry of `.fingerprint`, `build` or `deps` is named
/// with: `regex-ee5fe2cb1ea781a2`, `libregex-ee5fe2cb1ea781a2.rlib` ->
/// `ee5fe2cb1ea781a2`.
fn unit_hash(entry: &str) -> Option<&str> {
    let stem = entry.split('.').next()?;
    let (_, hash) = stem.rsplit_once('-')?;
    (hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hash)
}

/// Cargo's lock on a profile folder (`<folder>/.cargo-lock`), held while
/// copying from or into it; `None` when the folder has none yet, or cargo is
/// building in it right now.
///
/// A busy folder is skipped, not waited for. A seed only saves compiling,
/// and the folders it reads are those of the steps that `cargo xtask test`
/// runs beside each other, which build most of the time: the lab's
/// self-test and the mutants each waited for the other's folder (up to a
/// minute, polling), with both of their cores idle, several times a run.
/// Compiling the units instead keeps the core busy, and what one run of a
/// step compiles, its next seed finds.
fn lock_folder(folder: &Path) -> Option<File> {
    let file = File::options().read(true).write(true).open(folder.join(".cargo-lock")).ok()?;
    file.try_lock().is_ok().then_some(file)
}

/// Copies `from` (a file, or a folder and everything in it) to `to`, each
/// file with its modification time; what is there already stays.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to).with_context(|| format!("could not create {}", to.display()))?;
        for entry in std::fs::read_dir(from).with_context(|| format!("could not list {}", from.display()))? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    if to.exists() {
        return Ok(());
    }
    let modified =
        from.metadata().and_then(|m| m.modified()).with_context(|| format!("no time on {}", from.display()))?;
    std::fs::copy(from, to).with_context(|| format!("could not copy {} to {}", from.display(), to.display()))?;
    File::options()
        .write(true)
        .open(to)
        .and_then(|f| f.set_times(FileTimes::new().set_modified(modified)))
        .with_context(|| format!("could not set the time of {}", to.display()))
}

/// The profile folders of the build folder `root` (`CARGO_TARGET_DIR`), as
/// paths within it: `debug`, `release`, and those of a named target, such as
/// the `x86_64-unknown-linux-gnu/debug` of a Miri build.
fn profile_folders(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.filter_map(|e| e.ok()).filter(|e| e.path().is_dir()) {
        let name = PathBuf::from(entry.file_name());
        if entry.path().join(".fingerprint").is_dir() {
            found.push(name);
        } else if let Ok(inner) = std::fs::read_dir(entry.path()) {
            found.extend(
                inner
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().join(".fingerprint").is_dir())
                    .map(|e| name.join(e.file_name())),
            );
        }
    }
    found
}

/// Seeds every profile folder of the build folder `dest` from the same
/// profile folder of each of the build folders `sources` (see [`seed`]).
pub fn seed_build_folder(dest: &Path, sources: &[PathBuf], lock_file: &Path) -> Result<usize> {
    let mut copied = 0;
    for source in sources.iter().filter(|s| s.as_path() != dest) {
        for profile in profile_folders(source) {
            copied += seed(&dest.join(&profile), &[source.join(&profile)], lock_file)?;
        }
    }
    Ok(copied)
}

/// Seeds the profile folder `dest` (such as `<target>/loom/release`) with
/// the crates.io units of the profile folders `sources` that it lacks.
/// `lock_file` is the `Cargo.lock` of the workspace built there. Returns how
/// many units were copied.
pub fn seed(dest: &Path, sources: &[PathBuf], lock_file: &Path) -> Result<usize> {
    let registry = registry_packages(lock_file)?;
    std::fs::create_dir_all(dest).with_context(|| format!("could not create {}", dest.display()))?;
    File::create(dest.join(".cargo-lock"))
        .with_context(|| format!("could not create the lock in {}", dest.display()))?;
    let Some(_dest_lock) = lock_folder(dest) else { return Ok(0) };
    let mut copied = 0;
    for source in sources.iter().filter(|s| s.as_path() != dest) {
        let Some(_source_lock) = lock_folder(source) else { continue };
        let Ok(fingerprints) = std::fs::read_dir(source.join(".fingerprint")) else { continue };
        let mut units = HashSet::new();
        for entry in fingerprints.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_registry = name.rsplit_once('-').is_some_and(|(package, _)| registry.contains(package));
            if is_registry && !dest.join(".fingerprint").join(&name).exists() {
                units.extend(unit_hash(&name).map(str::to_owned));
            }
        }
        // Fingerprints first: see the module's comment.
        for sub in [".fingerprint", "build", "deps"] {
            let Ok(entries) = std::fs::read_dir(source.join(sub)) else { continue };
            std::fs::create_dir_all(dest.join(sub))?;
            for entry in entries.filter_map(|e| e.ok()) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if unit_hash(&name).is_some_and(|h| units.contains(h)) {
                    copy_tree(&entry.path(), &dest.join(sub).join(&name))?;
                }
            }
        }
        copied += units.len();
    }
    Ok(copied)
}

/// Seeds the build folder `dest` from `sources` (see [`seed`]), and says how
/// it went, if there is anything to say. A failure to seed only costs time,
/// so it is reported and the build goes on.
pub fn seeded(dest: &Path, sources: &[PathBuf], whose: &str) -> Option<String> {
    match seed_build_folder(dest, sources, &root().join("Cargo.lock")) {
        Ok(0) => None,
        Ok(n) => Some(format!("({n} crates.io build units copied into {} from {whose})", relative(dest))),
        Err(e) => Some(format!("(could not copy the crates.io build units of {whose} into {}: {e:#})", relative(dest))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn unit_hashes_are_read_from_every_kind_of_entry() {
        assert_eq!(unit_hash("regex-ee5fe2cb1ea781a2"), Some("ee5fe2cb1ea781a2"));
        assert_eq!(unit_hash("libregex-ee5fe2cb1ea781a2.rlib"), Some("ee5fe2cb1ea781a2"));
        assert_eq!(unit_hash("regex_automata-731172b98fce6b74.d"), Some("731172b98fce6b74"));
        assert_eq!(unit_hash(".cargo-lock"), None);
        assert_eq!(unit_hash("build-script-build"), None);
    }

    #[test]
    fn profile_folders_are_found_at_both_depths() {
        let dir = std::env::temp_dir().join(format!("xtask-seed-profiles-{}", std::process::id()));
        for profile in ["release/.fingerprint", "x86_64-unknown-linux-gnu/debug/.fingerprint", "tmp/nothing"] {
            std::fs::create_dir_all(dir.join(profile)).unwrap();
        }
        let mut found = profile_folders(&dir);
        found.sort();
        assert_eq!(found, [PathBuf::from("release"), PathBuf::from("x86_64-unknown-linux-gnu/debug")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_members_of_a_registry_are_seeded() {
        let dir = std::env::temp_dir().join(format!("xtask-seed-test-{}", std::process::id()));
        let (source, dest) = (dir.join("source/release"), dir.join("dest/release"));
        let lock = dir.join("Cargo.lock");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            &lock,
            "version = 4\n\n[[package]]\nname = \"regex\"\nversion = \"1.0.0\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
             [[package]]\nname = \"chapter-0\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        for (sub, name) in [
            (".fingerprint", "regex-00000000000000aa/lib-regex"),
            ("deps", "libregex-00000000000000aa.rlib"),
            (".fingerprint", "chapter-0-00000000000000bb/lib-chapter_0"),
            ("deps", "libchapter_0-00000000000000bb.rlib"),
        ] {
            let file = source.join(sub).join(name);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, name).unwrap();
        }
        std::fs::write(source.join(".cargo-lock"), "").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let rlib = source.join("deps/libregex-00000000000000aa.rlib");
        File::options().write(true).open(&rlib).unwrap().set_times(FileTimes::new().set_modified(old)).unwrap();

        assert_eq!(seed(&dest, std::slice::from_ref(&source), &lock).unwrap(), 1);
        assert!(dest.join(".fingerprint/regex-00000000000000aa/lib-regex").is_file());
        let copied = dest.join("deps/libregex-00000000000000aa.rlib");
        assert_eq!(copied.metadata().unwrap().modified().unwrap(), old, "the copy keeps its time");
        assert!(!dest.join(".fingerprint/chapter-0-00000000000000bb").exists(), "a member is never seeded");
        assert!(!dest.join("deps/libchapter_0-00000000000000bb.rlib").exists());
        assert_eq!(seed(&dest, &[source], &lock).unwrap(), 0, "what is there already is not copied again");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_cargo_is_building_in_is_skipped_at_once() {
        let dir = std::env::temp_dir().join(format!("xtask-seed-busy-{}", std::process::id()));
        let (source, dest) = (dir.join("source/release"), dir.join("dest/release"));
        let lock = dir.join("Cargo.lock");
        std::fs::create_dir_all(source.join(".fingerprint/regex-00000000000000aa")).unwrap();
        std::fs::write(
            &lock,
            "version = 4\n\n[[package]]\nname = \"regex\"\nversion = \"1.0.0\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        )
        .unwrap();
        // Another open file holding the lock, as the cargo that builds there.
        let building = File::create(source.join(".cargo-lock")).unwrap();
        building.lock().unwrap();
        let start = Instant::now();
        assert_eq!(
            seed(&dest, std::slice::from_ref(&source), &lock).unwrap(),
            0,
            "nothing is copied from a busy folder"
        );
        assert!(start.elapsed() < Duration::from_secs(5), "skipped, not waited for: {:?}", start.elapsed());
        building.unlock().unwrap();
        assert_eq!(seed(&dest, &[source], &lock).unwrap(), 1, "and copied once it is free");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
