//! amunix, "Amoeba on Unix": the host side of an Amoeba LAN. A plain user process joins the
//! nodes' virtual LAN ([`lan`]) and talks to them with the same libamoeba code the kernel uses.
//! Today it finds the nodes by the link check ([`nodes`]) and joins two LANs through a lossy
//! relay ([`relay`]). It is a FLIP node of its own ([`peer`], on the LAN or on UDP: [`medium`])
//! making and answering Amoeba RPC, behind the `amoeba` command ([`cli`], [`commands`]).

pub mod cli;
pub mod commands;
pub mod entropy;
pub mod exec;
pub mod files;
pub mod lan;
pub mod medium;
pub mod migrate;
pub mod nodes;
pub mod peer;
pub mod relay;
pub mod target;
