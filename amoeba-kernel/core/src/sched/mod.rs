//! Scheduling state the kernel keeps and the rules it follows: tables of threads and processes
//! by id, the timer queue, the ready queues and the choice of the next thread, sync objects,
//! and what a process descriptor says of a process. The kernel holds these and acts on the
//! machine.

pub mod describe;
pub mod id_table;
pub mod ready;
pub mod state;
pub mod sync;
pub mod timer_queue;
