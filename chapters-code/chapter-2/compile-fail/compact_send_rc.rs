// Does not compile, on purpose: `CompactArc<T>` is `Send` only when `T` is
// `Send + Sync`, and an `Rc` is neither.
// `compile-fail/check.sh compact_send_rc.rs` shows what the compiler says.
// ANCHOR: compact_send_rc
use chapter_2::CompactArc;
use std::rc::Rc;

fn main() {
    let counted = CompactArc::new(Rc::new(1));
    let for_worker = counted.clone();
    let worker = std::thread::spawn(move || Rc::strong_count(&for_worker));
    println!("{}", worker.join().unwrap());
}
// ANCHOR_END: compact_send_rc
