//! amunix, "Amoeba on Unix": the host side of an Amoeba LAN. A plain user process joins the
//! nodes' virtual LAN ([`lan`]) and talks to them with the same libamoeba code the kernel uses.
//! Today it finds the nodes by the link check ([`nodes`]); FLIP and remote RPC come next.

pub mod lan;
pub mod nodes;
