//! A thread's run state, as the scheduler keeps it in the thread's control block.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Running,
    Ready,
    Blocked,
    Dead,
}
