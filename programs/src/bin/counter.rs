//! `counter NAME [REPORTS]`: CPU-bound. Counts in a loop and prints `counter NAME: N` after
//! every [`ITERATIONS_PER_REPORT`] iterations, N being the number of reports so far; stops after
//! REPORTS reports, or runs for ever without that argument. It never blocks, so its reports
//! show how the scheduler shares the CPU between processes.
#![no_std]
#![no_main]

use core::hint::black_box;

use amoeba_user::println;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

/// Loop iterations between two reports: about a millisecond under QEMU's TCG (some 4 ns an
/// iteration), a tenth of the kernel's 10 ms time slice, so that 40 reports span several
/// slices and show how equal priorities interleave.
const ITERATIONS_PER_REPORT: u64 = 250_000;

fn main(env: &Environment) -> i32 {
    let name = env.args().get(1).copied().unwrap_or("counter");
    let reports = match env.args().get(2) {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(reports) => Some(reports),
            Err(_) => {
                println!("counter {name}: bad count {text:?}; usage: counter NAME [REPORTS]");
                return 2;
            }
        },
    };
    let mut count: u64 = 0;
    let mut report: u64 = 0;
    while reports.is_none_or(|reports| report < reports) {
        for _ in 0..ITERATIONS_PER_REPORT {
            count = black_box(count + 1);
        }
        report += 1;
        println!("counter {name}: {report}");
    }
    black_box(count);
    0
}
