//! NE2000-compatible network cards (QEMU `ne2k_pci`, a Realtek RTL8029 with vendor 0x10EC,
//! device 0x8029): finding the card on the PCI bus and reaching its DP8390 through x86 I/O
//! ports. What the driver does with the card (bring-up, the receive ring, transmission,
//! interrupts) is `amoeba_kernel_core::drivers::ne2000`, tested on the host against a fake
//! DP8390; this file is the glue between it, the ports and the kernel's [`Nic`].

use crate::arch::port::{inb, insw, inw, outb, outsw, outw};
use crate::drivers::pci;
use crate::net::{MAX_FRAME, Nic, SendError};
use amoeba_kernel_core::drivers::ne2000::registers::{Register, reg};
use amoeba_kernel_core::drivers::ne2000::{self as core_driver, Dp8390Ports, StartError};

const VENDOR_REALTEK: u16 = 0x10EC;
const DEVICE_RTL8029: u16 = 0x8029;

/// The card's window of I/O ports (its PCI BAR 0).
struct Ports {
    base: u16,
}

impl Dp8390Ports for Ports {
    #[inline]
    fn read(&mut self, register: Register) -> u8 {
        // SAFETY: the port is inside this card's I/O window from its PCI BAR (every
        // `Register` is below the window's size); the driver owns the card, and reading a
        // DP8390 register changes nothing outside the card.
        unsafe { inb(self.base + register.offset()) }
    }

    #[inline]
    fn write(&mut self, register: Register, value: u8) {
        // SAFETY: as in `read`; the card does remote DMA only into its own buffer memory,
        // so no value written here reaches the machine's memory.
        unsafe { outb(self.base + register.offset(), value) }
    }

    #[inline]
    fn read_data(&mut self, out: &mut [u8]) {
        let port = self.base + reg::DATA_PORT.offset();
        // SAFETY: the data port is this card's (as in `read`); `insw` stores only into `out`.
        unsafe { insw(port, out) };
        if let Some(last) = out.len().checked_sub(1).filter(|_| out.len() % 2 == 1) {
            // SAFETY: as above.
            out[last] = unsafe { inw(port) }.to_le_bytes()[0];
        }
    }

    #[inline]
    fn write_data(&mut self, bytes: &[u8]) {
        let port = self.base + reg::DATA_PORT.offset();
        // SAFETY: the data port is this card's (as in `write`); `outsw` only loads from
        // `bytes`.
        unsafe { outsw(port, bytes) };
        if let Some(&last) = bytes.last().filter(|_| bytes.len() % 2 == 1) {
            // SAFETY: as above.
            unsafe { outw(port, u16::from(last)) };
        }
    }
}

pub struct Ne2000 {
    card: core_driver::Ne2000<Ports>,
    line: u8,
}

/// Finds the first NE2000 (ne2k_pci) on the PCI bus and starts it.
#[inline(never)] // one symbol per component: image checks find selected drivers by name
pub fn probe() -> Option<Ne2000> {
    let device = pci::find(VENDOR_REALTEK, &[DEVICE_RTL8029])?;
    let Some(base) = pci::io_base(&device) else {
        log::warn!("ne2000: BAR 0 does not map I/O ports; card ignored");
        return None;
    };
    let Some(line) = pci::interrupt_line(&device) else {
        log::warn!("ne2000: no legacy interrupt line routed; card ignored");
        return None;
    };
    pci::enable_io_and_dma(&device);
    let card = match core_driver::Ne2000::start(Ports { base }) {
        Ok(card) => card,
        Err(StartError::NoResetAcknowledge) => {
            log::warn!("ne2000: no reset acknowledge at io {base:#x}; card ignored");
            return None;
        }
    };
    log::info!(
        "ne2000: {} KiB of buffer memory, receive ring of {} pages",
        card.buffer_kib(),
        card.ring_pages()
    );
    Some(Ne2000 { card, line })
}

impl Nic for Ne2000 {
    fn name(&self) -> &'static str {
        "ne2000"
    }

    fn mac(&self) -> [u8; 6] {
        self.card.mac()
    }

    fn interrupt_line(&self) -> u8 {
        self.line
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), SendError> {
        self.card.send(frame)
    }

    fn receive(&mut self, buffer: &mut [u8; MAX_FRAME]) -> Option<usize> {
        self.card.receive(buffer)
    }

    fn service_interrupt(&mut self) -> bool {
        self.card.service_interrupt()
    }

    fn dropped(&self) -> u64 {
        self.card.dropped()
    }
}
