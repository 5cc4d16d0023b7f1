//! SOAP, Amoeba's directory service: directories of named rows, each mapping a name to a
//! capability set with one rights mask per column (reference, "SOAP directory server";
//! 5.3's `src/h/server/soap/soap.h`, `src/admin/soapsvr/sp_impl.c`).
//!
//! - [`buffer`], [`capset`]: 5.3's buffer conventions and capability sets.
//! - [`directory`]: a directory's columns and rows, and how one is kept in a file.
//! - [`wire`]: every SP_* request and reply buffer.
//! - [`server`]: the server, one for the kernel directory and for file servers alike.
//! - [`table`], [`kept`]: a file server's directories kept in Bullet files, and the table
//!   of them on a raw disk piece.
//! - [`flat`]: LIST and LOOKUP for a directory a server computes (the process server's `ps`).

pub mod buffer;
pub mod capset;
pub mod directory;
pub mod flat;
pub mod kept;
pub mod server;
pub mod table;
pub mod wire;

pub use capset::CapSet;
pub use directory::{Directory, Row};
pub use server::{NotKept, Outside, SoapServer, Store};
