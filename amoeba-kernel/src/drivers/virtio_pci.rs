//! Opening a virtio device on the PCI bus for the `virtio-drivers` crate: finding it by its
//! device ids, its legacy interrupt line, bus mastering, and a check that every memory BAR lies
//! in the device window the kernel maps (the crate's MMIO pointers go straight to those
//! addresses). Shared by every virtio driver.
//!
//! Spec: OASIS "Virtual I/O Device (VIRTIO) Version 1.1", 4.1 (virtio over PCI).

use super::pci;
use super::virtio_hal::{KernelHal, PortConfiguration, in_device_space};
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{BarInfo, DeviceFunction, PciRoot};

/// The PCI vendor id of virtio devices.
const VENDOR_VIRTIO: u16 = 0x1AF4;

/// The first virtio device with one of `ids`, ready for the crate, and its interrupt line;
/// `None` (said in the log, naming the driver `name`) if there is none or it cannot be used.
pub fn open(name: &str, ids: &[u16]) -> Option<(PciTransport, u8)> {
    let found = pci::find(VENDOR_VIRTIO, ids)?;
    let Some(line) = pci::interrupt_line(&found) else {
        log::warn!("{name}: no legacy interrupt line routed; device ignored");
        return None;
    };
    pci::enable_memory_and_dma(&found);
    let function = DeviceFunction {
        bus: found.address.bus,
        device: found.address.device,
        function: found.address.function,
    };
    let mut root = PciRoot::new(PortConfiguration);
    if !memory_bars_mapped(name, &mut root, function) {
        return None;
    }
    match PciTransport::new::<KernelHal, _>(&mut root, function) {
        Ok(transport) => Some((transport, line)),
        Err(error) => {
            log::warn!("{name}: {error}; device ignored");
            None
        }
    }
}

/// Whether every memory BAR of the function lies in the device window the kernel maps; the
/// crate's MMIO pointers go straight to those addresses.
fn memory_bars_mapped(
    name: &str,
    root: &mut PciRoot<PortConfiguration>,
    function: DeviceFunction,
) -> bool {
    let bars = match root.bars(function) {
        Ok(bars) => bars,
        Err(error) => {
            log::warn!("{name}: BARs unreadable: {error}; device ignored");
            return false;
        }
    };
    for (index, bar) in bars.iter().enumerate() {
        let Some(BarInfo::Memory { address, size, .. }) = bar else {
            continue;
        };
        log::debug!("{name}: BAR {index}: memory {address:#x}, {size:#x} bytes");
        if *address != 0 && !in_device_space(*address, *size) {
            log::warn!(
                "{name}: BAR {index} at {address:#x} ({size:#x} bytes) is outside the mapped \
                 device window 3-4 GiB; device ignored"
            );
            return false;
        }
    }
    true
}
