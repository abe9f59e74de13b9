//! Stress test of the fixed cell: many threads race to set and read many
//! cells. SCAFFOLD: the stand-in's; replace it with the structure's own
//! conservation invariant. The exercise's tests
//! (`exercises/exercise-{{N}}/tests/cases/`) check the rest, through `solution-{{N}}`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_{{N}}::{{Type}};
use rand::Rng;

// ANCHOR: stress
/// Every worker tries to set every cell to a value of its own, in a random
/// order of its own, and reads each cell after its try. Conservation: each
/// cell has exactly one winner, and every read, by winners and losers alike,
/// sees the winner's value. Nothing leaks: every lost value is handed back
/// and dropped, every won value is dropped with its cell.
#[test]
fn stress_each_cell_has_one_winner_that_every_reader_sees() {
    let threads = test_kit::stress::default_threads();
    test_kit::alloc::assert_no_leaks(|| {
        let cells: Vec<{{Type}}<Box<usize>>> = (0..test_kit::scaled(2_000)).map(|_| {{Type}}::new()).collect();
        let wins = test_kit::stress::run(threads, 0x5eed_0000 + {{N}}, |mut w| {
            let mut order: Vec<usize> = (0..cells.len()).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, w.rng.random_range(0..=i));
            }
            let mut won = Vec::new();
            for i in order {
                if cells[i].set(Box::new(i * w.threads + w.index)).is_ok() {
                    won.push(i);
                }
                let seen = **cells[i].get().expect("a cell is set once a set has returned");
                assert_eq!(seen / w.threads, i, "cell {i} holds another cell's value");
            }
            won
        });
        let mut winners = vec![0; cells.len()];
        for (worker, won) in wins.iter().enumerate() {
            for &i in won {
                winners[i] += 1;
                assert_eq!(**cells[i].get().unwrap(), i * threads + worker, "cell {i} holds a loser's value");
            }
        }
        assert!(winners.iter().all(|&n| n == 1), "a cell with no winner, or with two: {winners:?}");
    });
}
// ANCHOR_END: stress
