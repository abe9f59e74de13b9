// Does not compile: the naive arc holds a raw pointer, which is neither
// `Send` nor `Sync`, so no handle can move to another thread.
// `compile-fail/check.sh naive_send.rs` shows what the compiler says.
// ANCHOR: naive_send
use chapter_2::naive::CompactArc;

fn main() {
    let config = CompactArc::new(String::from("shared settings"));
    let for_worker = config.clone();
    let worker = std::thread::spawn(move || for_worker.get().len());
    println!("{} {}", config.get(), worker.join().unwrap());
}
// ANCHOR_END: naive_send
