#!/bin/bash
# Compiles one program of this folder against this chapter's crate and prints
# what the compiler says. The programs do not compile on purpose: the book
# quotes the errors (book-outputs.toml runs this). SCAFFOLD: the stand-in's.
# Usage: chapters-code/chapter-{{N}}/compile-fail/check.sh <file>.rs
set -u
folder=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$folder/../../.." && pwd)
builds=${CARGO_TARGET_DIR:-$repo/target}/compile-fail
crate=$builds/chapter-{{N}}
mkdir -p "$crate"
# A scratch package outside the workspace, its program the file given, its
# versions those of the workspace's Cargo.lock.
printf '%s\n' \
  '[package]' 'name = "compile-fail-{{N}}"' 'version = "0.0.0"' 'edition = "2024"' 'publish = false' '' \
  '[[bin]]' 'name = "program"' "path = \"$folder/$1\"" '' \
  '[dependencies]' "chapter-{{N}} = { path = \"$repo/chapters-code/chapter-{{N}}\" }" '' \
  '[workspace]' > "$crate/Cargo.toml"
cp "$repo/Cargo.lock" "$crate/Cargo.lock"
cd "$crate" && CARGO_TARGET_DIR="$builds/target" cargo check --quiet --offline
