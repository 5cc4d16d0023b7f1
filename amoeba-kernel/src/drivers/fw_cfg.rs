//! QEMU's firmware configuration device, read for extra kernel command-line words.
//!
//! Tools that boot a node (tests, `amoeba-build run --append`) pass words with
//! `-fw_cfg name=opt/amoeba/cmdline,string=...`; this works the same whether the kernel was
//! booted by `-kernel`, from the ISO or over PXE, where the boot loader's command line is fixed.
//! Interface: QEMU docs/specs/fw_cfg.rst (I/O ports 0x510 selector, 0x511 data; the file
//! directory at selector 0x19, its integers big-endian).

use crate::arch::port::{inb, outw};

const SELECTOR_PORT: u16 = 0x510;
const DATA_PORT: u16 = 0x511;
const SIGNATURE_SELECTOR: u16 = 0x0000;
const FILE_DIRECTORY_SELECTOR: u16 = 0x0019;
const FILE_NAME_LENGTH: usize = 56;

/// The fw_cfg file that carries extra command-line words.
pub const CMDLINE_FILE: &str = "opt/amoeba/cmdline";

fn select(selector: u16) {
    // SAFETY: ports 0x510/0x511 are QEMU's fw_cfg device (or nothing on other machines, where
    // the signature check below fails and we stop); selecting an item only moves its cursor.
    unsafe { outw(SELECTOR_PORT, selector) };
}

fn read_bytes(buffer: &mut [u8]) {
    for byte in buffer {
        // SAFETY: as in `select`; reading the data port only advances the item's cursor.
        *byte = unsafe { inb(DATA_PORT) };
    }
}

fn read_u32_be() -> u32 {
    let mut bytes = [0; 4];
    read_bytes(&mut bytes);
    u32::from_be_bytes(bytes)
}

fn is_present() -> bool {
    let mut signature = [0; 4];
    select(SIGNATURE_SELECTOR);
    read_bytes(&mut signature);
    &signature == b"QEMU"
}

/// Finds the named file: its selector and size.
fn find_file(name: &str) -> Option<(u16, usize)> {
    if !is_present() {
        return None;
    }
    select(FILE_DIRECTORY_SELECTOR);
    let count = read_u32_be();
    for _ in 0..count {
        let size = read_u32_be() as usize;
        let mut selector_and_reserved = [0; 4];
        read_bytes(&mut selector_and_reserved);
        let mut file_name = [0; FILE_NAME_LENGTH];
        read_bytes(&mut file_name);
        let end = file_name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(FILE_NAME_LENGTH);
        if &file_name[..end] == name.as_bytes() {
            return Some((
                u16::from_be_bytes([selector_and_reserved[0], selector_and_reserved[1]]),
                size,
            ));
        }
    }
    None
}

/// Reads the extra command-line words into `buffer`; returns them, or `None` when QEMU passed
/// none (or this is not QEMU). Longer text is cut to the buffer.
pub fn extra_cmdline(buffer: &mut [u8]) -> Option<&str> {
    let (selector, size) = find_file(CMDLINE_FILE)?;
    let length = size.min(buffer.len());
    select(selector);
    read_bytes(&mut buffer[..length]);
    let text = core::str::from_utf8(&buffer[..length]).ok()?;
    Some(text.trim_end_matches('\0'))
}
