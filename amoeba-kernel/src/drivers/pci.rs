//! PCI enumeration through configuration mechanism #1 (ports 0xCF8/0xCFC).
//!
//! Layouts: PCI Local Bus Specification 3.0, 3.2.2.3.2 (the CONFIG_ADDRESS register) and 6.1
//! (the configuration header: vendor/device at 0x00, class at 0x08, header type at 0x0E,
//! a bridge's secondary bus at 0x19). The scan starts at bus 0 and follows PCI-to-PCI bridges,
//! so it touches only buses that exist.

use crate::arch::port::{inl, outl};

const CONFIG_ADDRESS: u16 = 0xCF8;
const CONFIG_DATA: u16 = 0xCFC;
const NO_DEVICE: u16 = 0xFFFF;
const MULTI_FUNCTION: u8 = 0x80;
const CLASS_BRIDGE: u8 = 0x06;
const SUBCLASS_PCI_TO_PCI: u8 = 0x04;
/// Bridges nest at most this deep; a deeper chain is a malformed topology, not followed.
const MAX_BRIDGE_DEPTH: u8 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

#[derive(Clone, Copy, Debug)]
pub struct Device {
    pub address: Address,
    pub vendor_id: u16,
    pub device_id: u16,
    pub class: u8,
    pub subclass: u8,
}

fn selector(address: Address, offset: u8) -> u32 {
    1 << 31
        | u32::from(address.bus) << 16
        | u32::from(address.device) << 11
        | u32::from(address.function) << 8
        | u32::from(offset & 0xFC)
}

/// Reads the 32-bit configuration register at `offset` (a multiple of 4).
fn read_config(address: Address, offset: u8) -> u32 {
    let selector = selector(address, offset);
    // SAFETY: 0xCF8/0xCFC are the PCI configuration ports, owned by this module; a configuration
    // read has no side effect on the devices we enumerate.
    unsafe {
        outl(CONFIG_ADDRESS, selector);
        inl(CONFIG_DATA)
    }
}

fn read_device(address: Address) -> Option<Device> {
    let id = read_config(address, 0x00);
    let vendor_id = id as u16;
    if vendor_id == NO_DEVICE {
        return None;
    }
    let class = read_config(address, 0x08);
    Some(Device {
        address,
        vendor_id,
        device_id: (id >> 16) as u16,
        class: (class >> 24) as u8,
        subclass: (class >> 16) as u8,
    })
}

fn header_type(address: Address) -> u8 {
    (read_config(address, 0x0C) >> 16) as u8
}

fn scan_bus(bus: u8, depth: u8, visit: &mut impl FnMut(&Device)) {
    for device in 0..32 {
        let first = Address {
            bus,
            device,
            function: 0,
        };
        if read_device(first).is_none() {
            continue;
        }
        let functions = if header_type(first) & MULTI_FUNCTION != 0 {
            8
        } else {
            1
        };
        for function in 0..functions {
            let Some(found_device) = read_device(Address {
                bus,
                device,
                function,
            }) else {
                continue;
            };
            visit(&found_device);
            let is_bridge =
                found_device.class == CLASS_BRIDGE && found_device.subclass == SUBCLASS_PCI_TO_PCI;
            if is_bridge && depth < MAX_BRIDGE_DEPTH {
                let secondary = (read_config(found_device.address, 0x18) >> 8) as u8;
                scan_bus(secondary, depth + 1, visit);
            }
        }
    }
}

fn class_name(class: u8) -> &'static str {
    match class {
        0x01 => "storage controller",
        0x02 => "network controller",
        0x03 => "display controller",
        0x04 => "multimedia controller",
        0x05 => "memory controller",
        0x06 => "bridge",
        0x07 => "communication controller",
        0x08 => "system peripheral",
        0x0C => "serial bus controller",
        _ => "other device",
    }
}

/// Calls `visit` for every PCI function present.
pub fn for_each_device(mut visit: impl FnMut(&Device)) {
    scan_bus(0, 0, &mut visit);
}

/// Enumerates every PCI function and logs it.
#[inline(never)] // one symbol per component: image checks find selected drivers by name
pub fn init() {
    for_each_device(|d| {
        log::info!(
            "pci: {:02x}:{:02x}.{} {:04x}:{:04x} class {:02x}.{:02x} ({})",
            d.address.bus,
            d.address.device,
            d.address.function,
            d.vendor_id,
            d.device_id,
            d.class,
            d.subclass,
            class_name(d.class)
        );
    });
}

/// What a driver needs of its card's configuration: find it, its I/O ports, its interrupt line,
/// turn it on; raw register access for drivers whose library walks the configuration space
/// itself (virtio). Compiled in with the drivers that use it.
#[cfg(any(feature = "driver-ne2000", feature = "driver-virtio-net"))]
mod function {
    use super::{
        Address, CONFIG_ADDRESS, CONFIG_DATA, Device, for_each_device, read_config, selector,
    };
    use crate::arch::port::outl;
    /// Offsets in the type-0 configuration header (PCI 3.0, 6.1 and 6.2.5).
    const COMMAND: u8 = 0x04;
    #[cfg(feature = "driver-ne2000")]
    const BAR0: u8 = 0x10;
    const INTERRUPT_LINE: u8 = 0x3C;
    /// Lines of the two 8259 PICs.
    const LEGACY_LINES: u8 = 16;
    /// Command register bits: respond to I/O space accesses; to memory space accesses; may
    /// master the bus (DMA).
    #[cfg(feature = "driver-ne2000")]
    const IO_SPACE: u32 = 0x1;
    #[cfg(feature = "driver-virtio-net")]
    const MEMORY_SPACE: u32 = 0x2;
    const BUS_MASTER: u32 = 0x4;
    /// A BAR whose bit 0 is set maps I/O ports; the port base is the rest.
    #[cfg(feature = "driver-ne2000")]
    const BAR_IS_IO: u32 = 0x1;
    #[cfg(feature = "driver-ne2000")]
    const IO_BAR_MASK: u32 = !0x3;

    fn write_config(address: Address, offset: u8, value: u32) {
        // SAFETY: as in `read_config`; the callers write only the configuration registers of a
        // function a driver of this kernel owns (its command register, or, for virtio, what the
        // library's BAR sizing writes and restores while the function's decoding is off).
        unsafe {
            outl(CONFIG_ADDRESS, selector(address, offset));
            outl(CONFIG_DATA, value);
        }
    }

    /// The 32-bit configuration register at `offset` (rounded down to a multiple of 4).
    #[cfg(feature = "driver-virtio-net")]
    pub fn read_register(address: Address, offset: u8) -> u32 {
        read_config(address, offset)
    }

    /// Writes the 32-bit configuration register at `offset` (rounded down to a multiple of 4)
    /// of a function the calling driver owns.
    #[cfg(feature = "driver-virtio-net")]
    pub fn write_register(address: Address, offset: u8, value: u32) {
        write_config(address, offset, value);
    }

    /// The first function with this vendor and one of these device ids.
    pub fn find(vendor_id: u16, device_ids: &[u16]) -> Option<Device> {
        let mut found = None;
        for_each_device(|d| {
            if found.is_none() && d.vendor_id == vendor_id && device_ids.contains(&d.device_id) {
                found = Some(*d);
            }
        });
        found
    }

    /// The I/O port base of a function's BAR 0, if it maps I/O space.
    #[cfg(feature = "driver-ne2000")]
    pub fn io_base(device: &Device) -> Option<u16> {
        let bar = read_config(device.address, BAR0);
        (bar & BAR_IS_IO != 0)
            .then(|| u16::try_from(bar & IO_BAR_MASK).ok())
            .flatten()
    }

    /// The legacy (8259) interrupt line the firmware routed the function's pin to; `None`
    /// when none is (0xFF) or the value is not a PIC line.
    pub fn interrupt_line(device: &Device) -> Option<u8> {
        let line = read_config(device.address, INTERRUPT_LINE) as u8;
        (line < LEGACY_LINES).then_some(line)
    }

    fn enable(device: &Device, bits: u32) {
        let command = read_config(device.address, COMMAND);
        // The upper half is the status register, whose bits a write of 1 clears: write 0 there.
        write_config(device.address, COMMAND, (command | bits) & 0xFFFF);
    }

    /// Lets the function answer I/O-space accesses and master the bus.
    #[cfg(feature = "driver-ne2000")]
    pub fn enable_io_and_dma(device: &Device) {
        enable(device, IO_SPACE | BUS_MASTER);
    }

    /// Lets the function answer memory-space accesses (its memory BARs) and master the bus.
    #[cfg(feature = "driver-virtio-net")]
    pub fn enable_memory_and_dma(device: &Device) {
        enable(device, MEMORY_SPACE | BUS_MASTER);
    }
}
#[cfg(feature = "driver-ne2000")]
pub use function::{enable_io_and_dma, io_base};
#[cfg(feature = "driver-virtio-net")]
pub use function::{enable_memory_and_dma, read_register, write_register};
#[cfg(any(feature = "driver-ne2000", feature = "driver-virtio-net"))]
pub use function::{find, interrupt_line};
