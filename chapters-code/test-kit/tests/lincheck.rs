//! The linearizability checker on hand-written histories (each one small
//! enough to check by eye) and on real concurrent runs.

use std::collections::VecDeque;
use std::sync::Mutex;
use test_kit::lincheck::models::{MapOp, MapRet, Queue, QueueOp, Register, Stack, StackOp};
use test_kit::lincheck::{self, History, Operation, Recorder, check};

type S = Stack<u32>;
type R = Register<u8, u32>;

fn op<M: lincheck::Model>(thread: usize, op: M::Op, ret: M::Ret, invoked: u64, returned: u64) -> Operation<M> {
    Operation::new(thread, op, ret, invoked, returned)
}

fn history<M: lincheck::Model>(ops: Vec<Operation<M>>) -> History<M> {
    History { ops }
}

#[test]
fn an_empty_history_is_linearizable() {
    assert_eq!(check(&S::new(), &history(vec![])).unwrap(), Vec::<usize>::new());
}

#[test]
fn a_sequential_history_is_accepted_in_its_own_order() {
    let h = history::<S>(vec![
        op(0, StackOp::Push(1), None, 0, 1),
        op(0, StackOp::Push(2), None, 2, 3),
        op(1, StackOp::Pop, Some(2), 4, 5),
        op(0, StackOp::Pop, Some(1), 6, 7),
        op(1, StackOp::Pop, None, 8, 9),
    ]);
    assert_eq!(check(&S::new(), &h).unwrap(), vec![0, 1, 2, 3, 4]);
}

#[test]
fn a_pop_that_overtakes_a_later_push_is_rejected() {
    // Push(1) then Push(2), one after the other; a later pop gets 1: the
    // bottom of the stack, not the top.
    let h = history::<S>(vec![
        op(0, StackOp::Push(1), None, 0, 1),
        op(0, StackOp::Push(2), None, 2, 3),
        op(1, StackOp::Pop, Some(1), 4, 5),
    ]);
    let v = check(&S::new(), &h).unwrap_err();
    assert_eq!(v.placed(), 2);
    assert_eq!(v.state(), &Stack { items: vec![1, 2] });
    assert_eq!(v.unplaced().map(|o| o.ret).collect::<Vec<_>>(), vec![Some(1)]);
}

#[test]
fn overlapping_operations_may_take_effect_in_either_order() {
    // The two pushes overlap, so Push(2) may take effect first; then pops
    // that return 1 and then 2 are a stack's behaviour.
    let h = history::<S>(vec![
        op(0, StackOp::Push(1), None, 0, 5),
        op(1, StackOp::Push(2), None, 1, 3),
        op(1, StackOp::Pop, Some(1), 6, 7),
        op(0, StackOp::Pop, Some(2), 8, 9),
    ]);
    assert_eq!(check(&S::new(), &h).unwrap(), vec![1, 0, 2, 3]);
}

#[test]
fn real_time_order_is_respected() {
    // The same results, but Push(1) now returns before Push(2) is called:
    // Push(2) must be on top, and the first pop cannot return 1.
    let h = history::<S>(vec![
        op(0, StackOp::Push(1), None, 0, 1),
        op(1, StackOp::Push(2), None, 2, 3),
        op(1, StackOp::Pop, Some(1), 6, 7),
        op(0, StackOp::Pop, Some(2), 8, 9),
    ]);
    assert!(check(&S::new(), &h).is_err());
}

#[test]
fn a_return_and_a_call_at_the_same_tick_overlap() {
    // Hand-written histories may reuse a tick: operations that touch at a
    // tick are concurrent, so the pop may go before the push.
    let h = history::<S>(vec![op(0, StackOp::Pop, None, 0, 2), op(1, StackOp::Push(1), None, 2, 3)]);
    assert_eq!(check(&S::new(), &h).unwrap(), vec![0, 1]);
    let h = history::<S>(vec![op(0, StackOp::Push(1), None, 0, 2), op(1, StackOp::Pop, None, 2, 3)]);
    assert_eq!(check(&S::new(), &h).unwrap(), vec![1, 0]);
}

#[test]
fn a_read_of_a_value_never_written_is_rejected() {
    let h = history::<R>(vec![
        op(0, MapOp::Insert(0, 7), MapRet::Value(None), 0, 3),
        op(1, MapOp::Get(0), MapRet::Value(Some(9)), 1, 2),
    ]);
    let v = check(&R::empty(), &h).unwrap_err();
    // Placing the insert first gets furthest, and then the read still fails.
    assert_eq!(v.placed(), 1);
    assert_eq!(v.state(), &R::holding(7));
}

#[test]
fn a_resurrected_value_is_rejected() {
    // 1 is replaced by 2, 2 is removed, and a read that starts after all of
    // that sees 1 again. Every value is still accounted for exactly once,
    // which is why a conservation test cannot see this.
    let h = history::<R>(vec![
        op(0, MapOp::Insert(0, 1), MapRet::Value(None), 0, 1),
        op(0, MapOp::Insert(0, 2), MapRet::Value(Some(1)), 2, 3),
        op(1, MapOp::Remove(0), MapRet::Value(Some(2)), 4, 5),
        op(2, MapOp::Get(0), MapRet::Value(Some(1)), 6, 7),
    ]);
    let v = check(&R::empty(), &h).unwrap_err();
    assert_eq!(v.placed(), 3);
    assert_eq!(v.state(), &R::empty());
}

#[test]
fn a_read_that_overlaps_the_overwrite_may_see_the_old_value() {
    let h = history::<R>(vec![
        op(0, MapOp::Insert(0, 1), MapRet::Value(None), 0, 1),
        op(0, MapOp::Insert(0, 2), MapRet::Value(Some(1)), 2, 5),
        op(1, MapOp::Get(0), MapRet::Value(Some(1)), 3, 4),
        op(1, MapOp::Get(0), MapRet::Value(Some(2)), 6, 7),
    ]);
    assert_eq!(check(&R::empty(), &h).unwrap(), vec![0, 2, 1, 3]);
}

#[test]
fn two_try_inserts_cannot_both_win() {
    let both = history::<R>(vec![
        op(0, MapOp::TryInsert(0, 1), MapRet::Tried(Ok(())), 0, 3),
        op(1, MapOp::TryInsert(0, 2), MapRet::Tried(Ok(())), 1, 2),
    ]);
    assert!(check(&R::empty(), &both).is_err());
    let one = history::<R>(vec![
        op(0, MapOp::TryInsert(0, 1), MapRet::Tried(Err(())), 0, 3),
        op(1, MapOp::TryInsert(0, 2), MapRet::Tried(Ok(())), 1, 2),
        op(1, MapOp::Get(0), MapRet::Value(Some(2)), 4, 5),
    ]);
    assert_eq!(check(&R::empty(), &one).unwrap(), vec![1, 0, 2]);
}

#[test]
fn a_queue_is_first_in_first_out() {
    let fifo = history::<Queue<u32>>(vec![
        op(0, QueueOp::Enqueue(1), None, 0, 1),
        op(0, QueueOp::Enqueue(2), None, 2, 3),
        op(1, QueueOp::Dequeue, Some(1), 4, 5),
        op(1, QueueOp::Dequeue, Some(2), 6, 7),
    ]);
    assert!(check(&Queue::new(), &fifo).is_ok());
    let lifo = history::<Queue<u32>>(vec![
        op(0, QueueOp::Enqueue(1), None, 0, 1),
        op(0, QueueOp::Enqueue(2), None, 2, 3),
        op(1, QueueOp::Dequeue, Some(2), 4, 5),
    ]);
    assert!(check(&Queue::new(), &lifo).is_err());
}

#[test]
fn per_key_histories_start_from_their_own_state() {
    let h = history::<R>(vec![
        op(0, MapOp::Insert(1, 10), MapRet::Value(None), 0, 1),
        op(1, MapOp::Insert(2, 20), MapRet::Value(Some(5)), 2, 3),
        op(0, MapOp::Get(1), MapRet::Value(Some(10)), 4, 5),
    ]);
    // Key 2 held 5 before the run.
    lincheck::assert_linearizable_per_key(h, MapOp::key, |&k| if k == 2 { R::holding(5) } else { R::empty() });
}

#[test]
fn partition_keeps_each_operations_ticks() {
    let h = history::<R>(vec![
        op(0, MapOp::Insert(1, 10), MapRet::Value(None), 0, 1),
        op(1, MapOp::Insert(2, 20), MapRet::Value(None), 2, 3),
        op(0, MapOp::Get(1), MapRet::Value(Some(10)), 4, 5),
    ]);
    let parts = h.partition(MapOp::key);
    let ticks = |k: u8| parts[&k].ops.iter().map(|o| (o.invoked, o.returned)).collect::<Vec<_>>();
    assert_eq!(parts.len(), 2);
    assert_eq!(ticks(1), vec![(0, 1), (4, 5)]);
    assert_eq!(ticks(2), vec![(2, 3)]);
}

#[test]
#[should_panic(expected = "key 2: history is not linearizable")]
fn per_key_check_names_the_key_that_fails() {
    let h = history::<R>(vec![
        op(0, MapOp::Insert(1, 10), MapRet::Value(None), 0, 1),
        op(1, MapOp::Remove(2), MapRet::Value(Some(20)), 2, 3),
    ]);
    lincheck::assert_linearizable_per_key(h, MapOp::key, |_| R::empty());
}

#[test]
#[should_panic(expected = "returns at tick 1 before it is called at tick 2")]
fn an_operation_that_returns_before_its_call_is_refused() {
    let h = history::<S>(vec![op(0, StackOp::Pop, None, 2, 1)]);
    let _ = check(&S::new(), &h);
}

#[test]
fn the_recorder_gives_each_thread_increasing_intervals() {
    let recorder = Recorder::<S>::new(2);
    let stack = Mutex::new(Vec::new());
    let per = test_kit::scaled(1000);
    test_kit::stress::run(2, 5, |w| {
        for n in 0..per as u32 {
            let got = recorder.record(w.index, StackOp::Push(n), || {
                stack.lock().unwrap().push(n);
                None
            });
            assert_eq!(got, None, "record returns what the call returned");
        }
    });
    let h = recorder.into_history();
    assert_eq!(h.len(), 2 * per);
    let mut ticks: Vec<u64> = h.ops.iter().flat_map(|o| [o.invoked, o.returned]).collect();
    for t in 0..2 {
        let mine: Vec<&Operation<S>> = h.ops.iter().filter(|o| o.thread == t).collect();
        assert_eq!(mine.len(), per);
        for pair in mine.windows(2) {
            assert!(pair[0].invoked < pair[0].returned && pair[0].returned < pair[1].invoked);
        }
    }
    ticks.sort_unstable();
    ticks.dedup();
    assert_eq!(ticks.len(), 4 * per, "every event has its own tick");
}

/// Operations per thread in one run, and how many runs: a stack or a queue
/// is checked in short runs on fresh structures (see the module docs).
fn runs() -> (usize, usize) {
    (test_kit::scaled(2_000).min(250), if cfg!(miri) { 1 } else { 8 })
}

/// `threads` workers push their own values and pop, on a fresh stack; then
/// the main thread, alone, pushes two values and pops once. Returns the
/// recorded history.
fn stress_stack(
    threads: usize,
    per: usize,
    seed: u64,
    pop: impl Fn(&mut Vec<u32>) -> Option<u32> + Sync,
) -> History<S> {
    let stack = Mutex::new(Vec::new());
    let recorder = Recorder::<S>::with_capacity(threads + 1, per + 3);
    test_kit::stress::run(threads, seed, |w| {
        for n in 0..per {
            let v = (w.index * per + n) as u32;
            if n % 2 == 0 {
                recorder.record(w.index, StackOp::Push(v), || {
                    stack.lock().unwrap().push(v);
                    None
                });
            } else {
                recorder.record(w.index, StackOp::Pop, || pop(&mut stack.lock().unwrap()));
            }
        }
    });
    let main = threads;
    for v in [1_000_000, 1_000_001] {
        recorder.record(main, StackOp::Push(v), || {
            stack.lock().unwrap().push(v);
            None
        });
    }
    recorder.record(main, StackOp::Pop, || pop(&mut stack.lock().unwrap()));
    recorder.into_history()
}

#[test]
fn real_runs_of_a_locked_stack_are_linearizable() {
    let threads = test_kit::stress::default_threads();
    let (per, runs) = runs();
    for seed in 0..runs as u64 {
        let h = stress_stack(threads, per, seed, |s| s.pop());
        assert_eq!(h.len(), threads * per + 3);
        lincheck::assert_linearizable(&S::new(), &h);
    }
}

#[test]
fn a_stack_whose_pop_takes_the_bottom_is_caught() {
    // Every value pushed is popped at most once, so a conservation check
    // passes. The last pop of each run comes alone after two pushes of its
    // own: a stack must return the second, and this one returns whatever is
    // at the bottom, so no run can be linearizable, whatever the threads did
    // before.
    let threads = test_kit::stress::default_threads();
    let (per, runs) = runs();
    for seed in 0..runs as u64 {
        let h = stress_stack(threads, per, seed, |s| if s.is_empty() { None } else { Some(s.remove(0)) });
        let text = check(&S::new(), &h).unwrap_err().to_string();
        assert!(text.contains("history is not linearizable"), "{text}");
        // The report stays readable however long the history is.
        assert!(text.lines().count() < 80, "{} lines", text.lines().count());
    }
}

#[test]
fn real_runs_of_a_locked_queue_are_linearizable() {
    let threads = test_kit::stress::default_threads();
    let (per, runs) = runs();
    for seed in 0..runs as u64 {
        let queue = Mutex::new(VecDeque::new());
        let recorder = Recorder::<Queue<u32>>::new(threads);
        test_kit::stress::run(threads, seed, |w| {
            for n in 0..per {
                let v = (w.index * per + n) as u32;
                if n % 2 == 0 {
                    recorder.record(w.index, QueueOp::Enqueue(v), || {
                        queue.lock().unwrap().push_back(v);
                        None
                    });
                } else {
                    recorder.record(w.index, QueueOp::Dequeue, || queue.lock().unwrap().pop_front());
                }
            }
        });
        lincheck::assert_linearizable(&Queue::new(), &recorder.into_history());
    }
}

#[test]
fn a_violation_shows_the_state_the_candidates_and_a_timeline() {
    let h = history::<S>(vec![
        op(0, StackOp::Push(1), None, 0, 1),
        op(0, StackOp::Push(2), None, 2, 3),
        op(1, StackOp::Pop, Some(1), 4, 7),
        op(2, StackOp::Pop, Some(1), 5, 6),
    ]);
    let text = check(&S::new(), &h).unwrap_err().to_string();
    for needle in [
        "history is not linearizable: no order of its 4 operations is one a sequential Stack<u32> could produce",
        "places 2 of the 4:",
        "Stack { items: [1, 2] }",
        "thread 2: Pop -> Some(1)  [5, 6]: the model would return Some(2)",
        "thread 1: Pop -> Some(1)  [4, 7]: the model would return Some(2)",
        "| thread 0",
        "| * Pop",
        "| #2 Push(2)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn a_violation_is_cut_down_to_the_operations_that_show_it() {
    // A long correct stretch (push then pop, 200 times), then the pop that
    // overtakes: the report keeps the two pushes and the pop, and nothing
    // of the rest.
    let pairs = if cfg!(miri) { 20 } else { 200 };
    let mut ops: Vec<Operation<S>> = Vec::new();
    for i in 0..pairs {
        let t = u64::from(i) * 4;
        ops.push(op(0, StackOp::Push(i), None, t, t + 1));
        ops.push(op(1, StackOp::Pop, Some(i), t + 2, t + 3));
    }
    let t = u64::from(pairs) * 4;
    ops.push(op(0, StackOp::Push(1000), None, t, t + 1));
    ops.push(op(1, StackOp::Push(1001), None, t + 2, t + 3));
    ops.push(op(0, StackOp::Pop, Some(1000), t + 4, t + 5));
    let v = check(&S::new(), &history(ops)).unwrap_err();
    assert_eq!(v.placed(), 2);
    assert_eq!(v.state(), &Stack { items: vec![1000, 1001] });
    let text = v.to_string();
    let total = 2 * pairs + 3;
    assert!(text.contains(&format!("no order of its {total} operations")), "{text}");
    let rest = 2 * pairs;
    assert!(text.contains(&format!("3 of them are enough to show it: without the other {rest},")), "{text}");
}

#[test]
fn cutting_down_keeps_the_story_of_the_value_that_fails() {
    // Without the writes of 1 and 2 and the removal, the read of 1 would fail
    // too, from an empty key; the report keeps them, since they mention 1 or
    // lead to the state the read fails in.
    let h = history::<R>(vec![
        op(0, MapOp::Insert(0, 1), MapRet::Value(None), 0, 1),
        op(0, MapOp::Insert(0, 2), MapRet::Value(Some(1)), 2, 3),
        op(1, MapOp::Remove(0), MapRet::Value(Some(2)), 4, 5),
        op(2, MapOp::Get(0), MapRet::Value(Some(1)), 6, 7),
    ]);
    let text = check(&R::empty(), &h).unwrap_err().to_string();
    assert!(!text.contains("are enough to show it"), "{text}");
    assert!(text.contains("thread 0: Insert(0, 1)"), "{text}");
}
