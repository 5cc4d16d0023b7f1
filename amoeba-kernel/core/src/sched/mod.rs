//! Scheduling state the kernel keeps: tables of threads and processes, the timer queue, the
//! ready queues, sync objects.
