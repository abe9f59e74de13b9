// The naive insert's `update` vector as usually written, reduced to the lines
// that matter. It is not part of the crate: `cargo xtask outputs 5` compiles it
// with rustc to show the error (`insert`'s rustdoc checks the same code with a
// `compile_fail,E0282` example).
use std::ptr;

pub struct Node {
    pub key: u64,
}

pub fn walk(max_level: usize) {
    let mut update = vec![ptr::null(); max_level];
    for level in (0..max_level).rev() {
        if !update[level].is_null() && unsafe { (*update[level]).key } > 0 {}
        update[level] = &Node { key: 1 } as *const Node;
    }
}
