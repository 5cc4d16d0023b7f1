//! Scheduling state the kernel keeps: tables of threads and processes, the timer queue, the
//! ready queues, sync objects.

pub mod describe;
pub mod id_table;
pub mod ready;
pub mod state;
pub mod sync;
pub mod timer_queue;
