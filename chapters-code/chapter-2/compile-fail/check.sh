#!/bin/bash
# Builds one file of this folder as the `main` of a scratch crate that
# depends on chapter-2, and prints what the compiler says. The files here do
# not compile on purpose; the book quotes the errors.
# Usage: chapters-code/chapter-2/compile-fail/check.sh naive_send.rs
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
dir=$target/compile-fail/crate
mkdir -p "$dir"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "compile-fail"
version = "0.0.0"
edition = "2024"
publish = false

[[bin]]
name = "snippet"
path = "$here/$1"

[dependencies]
chapter-2 = { path = "$root/chapters-code/chapter-2" }

[workspace]
TOML
cp "$root/Cargo.lock" "$dir/Cargo.lock"
cd "$dir" && CARGO_TARGET_DIR="$target/compile-fail/target" cargo check --quiet --offline
