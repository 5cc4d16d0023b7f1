//! Device logic behind traits for register and port access, so a fake device can drive it on
//! the host.

pub mod ethernet;
pub mod ne2000;
