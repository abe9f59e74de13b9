//! The skiplist as it is usually written: nodes shared through `Arc`s turned
//! into raw pointers, a full tower of `max_level` forward pointers in every
//! node, a locked thread-local generator for the levels, and an insert that
//! splices the new node in with plain stores.
//!
//! Every bug below is proved by a test:
//!
//! - it does not compile as written (the `update` vector's element type cannot
//!   be inferred): see the `compile_fail` example on [`SkipList::insert`];
//! - a single-threaded insert of a few keys frees a node that is still linked
//!   (`tests/naive_bugs.rs` counts the blocks freed), and the next insert
//!   reads it (`tests/ub.rs`, under Miri);
//! - it leaks every node, and the `update` vector leaks one count per level
//!   (`tests/naive_bugs.rs` counts the blocks, `tests/ub.rs` lets Miri see it);
//! - it is neither `Send` nor `Sync`, because of `ThreadRng`
//!   (`tests/naive_bugs.rs`, and the `compile_fail` example on [`SkipList`]);
//! - once sharing is made possible, concurrent inserts are lost
//!   (`tests/loom.rs`);
//! - every node carries `max_level` pointers whatever its height
//!   (`examples/memory.rs`).

// ANCHOR: naive_types
use loom_facade::sync::RwLock;
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use rand::Rng;
use rand::rngs::ThreadRng;
use std::ptr;
// A std `Arc`, not the facade's: under loom the naive list's counting errors
// would otherwise be reported as loom leaks before the bug a model looks for.
use std::sync::Arc;

/// The level cap the naive list is usually given.
pub const MAX_LEVEL: usize = 16;

/// A node: the key, a locked value, and a forward pointer for every level of
/// the list, whatever the node's own height.
#[derive(Debug)]
pub struct Node<K, V> {
    /// The key.
    pub key: K,
    /// The value, behind a lock so that an insert of an existing key can
    /// overwrite it.
    pub value: RwLock<V>,
    /// `max_level` forward pointers; only the first `height` are ever used.
    pub forward: Vec<AtomicPtr<Node<K, V>>>,
}

/// The naive concurrent skiplist. `R` is the generator the levels are drawn
/// from: `ThreadRng`, as usually written, unless a test swaps it.
#[derive(Debug)]
pub struct SkipList<K, V, R = ThreadRng> {
    head: Arc<Node<K, V>>,
    max_level: usize,
    rng: RwLock<R>,
}
// ANCHOR_END: naive_types

impl<K: Ord + Default, V: Default> SkipList<K, V> {
    /// An empty list whose nodes have up to `max_level` levels.
    ///
    /// The list is neither `Send` nor `Sync`: `ThreadRng` is a handle to a
    /// thread-local generator, so the list cannot even be moved to another
    /// thread, let alone shared.
    ///
    /// ```compile_fail
    /// let list = chapter_5::naive::SkipList::<u64, u64>::new(16);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| list.insert(1, 1)); // `ThreadRng` cannot be shared
    /// });
    /// ```
    pub fn new(max_level: usize) -> Self {
        Self::with_rng(max_level, rand::rng())
    }
}

impl<K: Ord + Default, V: Default, R: Rng> SkipList<K, V, R> {
    /// An empty list whose levels come from `rng`. With a generator that is
    /// `Send` (`SmallRng`), the list can be shared: this is the smallest
    /// change that makes sharing possible, and it exposes the lost inserts.
    pub fn with_rng(max_level: usize, rng: R) -> Self {
        let max_level = max_level.max(1);
        SkipList { head: Arc::new(Node::new(K::default(), V::default(), max_level)), max_level, rng: RwLock::new(rng) }
    }

    // ANCHOR: naive_level
    /// Flips coins for a level between 1 and `max_level`.
    fn random_level(&self) -> usize {
        let mut level = 1;
        let mut rng = self.rng.write().unwrap();
        while level < self.max_level && rng.random_bool(0.5) {
            level += 1;
        }
        level
    }
    // ANCHOR_END: naive_level

    // ANCHOR: naive_insert
    /// Inserts `key`, or overwrites its value.
    ///
    /// As usually written, the `update` vector has no type annotation, and the
    /// first use of an element is a dereference: the compiler cannot infer
    /// the pointee type and refuses the code. The smallest change that makes
    /// it compile is the annotation `Vec<*const Node<K, V>>`.
    ///
    /// ```compile_fail,E0282
    /// use std::ptr;
    /// struct Node { key: u64 }
    /// fn walk(max_level: usize) {
    ///     let mut update = vec![ptr::null(); max_level];
    ///     for level in (0..max_level).rev() {
    ///         // error[E0282]: type annotations needed
    ///         if !update[level].is_null() && unsafe { (*update[level]).key } > 0 {}
    ///         update[level] = &Node { key: 1 } as *const Node;
    ///     }
    /// }
    /// ```
    pub fn insert(&self, key: K, value: V) {
        let mut update: Vec<*const Node<K, V>> = vec![ptr::null(); self.max_level];
        let mut current = Arc::clone(&self.head);
        for level in (0..self.max_level).rev() {
            loop {
                let next = current.forward[level].load(Ordering::Acquire);
                // SAFETY: NOT SOUND — `next` is assumed to be a live node, but
                // nothing keeps it alive: a node whose count was stolen below
                // may already have been freed.
                if !next.is_null() && unsafe { &(*next).key } < &key {
                    // SAFETY: NOT SOUND — `from_raw` takes over a count that
                    // was never leaked for this pointer: when `current` moves
                    // on or goes out of scope, the node loses a count it never
                    // had, and is freed while still linked.
                    current = unsafe { Arc::from_raw(next) };
                } else {
                    break;
                }
            }
            // Leaks one count per level: these pointers are never turned back
            // into `Arc`s.
            update[level] = Arc::into_raw(Arc::clone(&current));
        }

        // SAFETY: NOT SOUND — `update[0]` points to a node kept alive only by
        // the count leaked just above; its successor by nothing at all.
        let next = unsafe { &*update[0] }.forward[0].load(Ordering::Acquire);
        // SAFETY: NOT SOUND — as above, `next` may have been freed.
        if !next.is_null() && unsafe { (*next).key == key } {
            // SAFETY: NOT SOUND — as above.
            *unsafe { &*next }.value.write().unwrap() = value;
            return;
        }

        let height = self.random_level();
        let node = Arc::new(Node::new(key, value, self.max_level));
        for (level, &prev) in update.iter().enumerate().take(height) {
            // SAFETY: NOT SOUND — as above.
            let prev = unsafe { &*prev };
            // Splice with two plain stores: another insert that read the same
            // `prev.forward[level]` overwrites this one, and one node is lost.
            node.forward[level].store(prev.forward[level].load(Ordering::Acquire), Ordering::Relaxed);
            prev.forward[level].store(Arc::into_raw(Arc::clone(&node)).cast_mut(), Ordering::Release);
        }
    }
    // ANCHOR_END: naive_insert

    /// The value of `key`, cloned.
    pub fn get(&self, key: &K) -> Option<V>
    where
        V: Clone,
    {
        let mut current: &Node<K, V> = &self.head;
        for level in (0..self.max_level).rev() {
            loop {
                let next = current.forward[level].load(Ordering::Acquire);
                if next.is_null() {
                    break;
                }
                // SAFETY: NOT SOUND — `next` may have been freed by `insert`.
                let node = unsafe { &*next };
                if &node.key < key {
                    current = node;
                } else {
                    break;
                }
            }
        }
        let next = current.forward[0].load(Ordering::Acquire);
        // SAFETY: NOT SOUND — as above.
        let node = unsafe { next.as_ref() }?;
        (&node.key == key).then(|| node.value.read().unwrap().clone())
    }

    /// The keys at the bottom level, in order (a debugging walk).
    pub fn keys(&self) -> Vec<K>
    where
        K: Clone,
    {
        let mut keys = Vec::new();
        let mut next = self.head.forward[0].load(Ordering::Acquire);
        // SAFETY: NOT SOUND — as in `get`.
        while let Some(node) = unsafe { next.as_ref() } {
            keys.push(node.key.clone());
            next = node.forward[0].load(Ordering::Acquire);
        }
        keys
    }
}

impl<K, V> Node<K, V> {
    fn new(key: K, value: V, max_level: usize) -> Self {
        Node {
            key,
            value: RwLock::new(value),
            forward: (0..max_level).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
        }
    }
}
