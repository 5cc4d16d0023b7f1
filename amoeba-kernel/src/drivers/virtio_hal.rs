//! What the `virtio-drivers` crate needs of this kernel: DMA memory and address translation
//! ([`KernelHal`]) and PCI configuration access through ports 0xCF8/0xCFC ([`PortConfiguration`]).
//!
//! The kernel identity-maps physical memory and the device window ([`DEVICE_SPACE`]), and the
//! machine has no IOMMU: a kernel address is the physical address a device uses, so sharing a
//! buffer is a cast and nothing is copied.

use crate::arch::paging::{self, DEVICE_SPACE};
use crate::drivers::pci;
use crate::mm::frames;
use core::ptr::NonNull;
use libamoeba::memory::PAGE_SIZE;
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

// The crate's page is the kernel's frame.
const _: () = assert!(virtio_drivers::PAGE_SIZE as u64 == PAGE_SIZE);

/// DMA memory from the frame allocator, identity mapped.
pub struct KernelHal;

/// Whether `start .. start + size` lies in the device window the kernel maps (uncached).
pub fn in_device_space(start: u64, size: u64) -> bool {
    start
        .checked_add(size)
        .is_some_and(|end| DEVICE_SPACE.start <= start && end <= DEVICE_SPACE.end)
}

// SAFETY: `dma_alloc` hands out frames nobody else owns (fresh from the frame allocator, zeroed,
// page aligned, identity mapped so the pointer is valid for all of them); `mmio_phys_to_virt` is
// the identity inside the mapped device window, which the driver checks its BARs against before
// the crate sees them; `share` gives the device the physical address of kernel memory, which is
// its own address (checked: only identity-mapped memory is shared).
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let run = u64::try_from(pages)
            .ok()
            .filter(|&pages| pages > 0)
            .and_then(frames::allocate_contiguous);
        let Some(run) = run else {
            // Physical address 0 tells the crate the allocation failed (`Error::DmaError`).
            return (0, NonNull::dangling());
        };
        let Some(pointer) = NonNull::new(run.start as *mut u8) else {
            return (0, NonNull::dangling());
        };
        // SAFETY: the run was just taken from the frame allocator, so nothing else refers to
        // it, and it is identity mapped and writable for the kernel.
        unsafe { core::ptr::write_bytes(pointer.as_ptr(), 0, (run.end - run.start) as usize) };
        (run.start, pointer)
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        for page in 0..pages as u64 {
            // SAFETY: the crate gives back a run `dma_alloc` handed out, once, and no longer uses
            // it (the device was told to stop using it first).
            unsafe { frames::free(paddr + page * PAGE_SIZE) };
        }
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        // `probe` refused cards with BARs elsewhere; anything else is a bug in this driver, and
        // an unmapped address would fault the kernel later, further from the cause.
        assert!(
            in_device_space(paddr, size as u64),
            "virtio: MMIO at {paddr:#x} outside the mapped device window"
        );
        NonNull::new(paddr as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        // Heap and frame memory is identity mapped (physical = virtual, below the device
        // window). Kernel stacks are not: the crate keeps small request headers there (the
        // block device's flush), which are translated, as long as they lie in one page.
        // Anything else would have the device DMA into unrelated memory, so it stops here.
        let address = buffer.cast::<u8>().as_ptr().addr() as PhysAddr;
        let end = address.saturating_add(buffer.len() as PhysAddr);
        if end <= DEVICE_SPACE.start {
            return address;
        }
        let last = end.saturating_sub(1);
        let physical = paging::kernel_physical(address);
        let same_page = address >> 12 == last >> 12;
        match physical {
            Some(physical) if same_page => physical,
            _ => panic!(
                "virtio: shared buffer at {address:#x} ({} bytes) is not mapped to one frame",
                buffer.len()
            ),
        }
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {
        // Shared in place: nothing to copy back.
    }
}

/// PCI configuration mechanism #1, through the `pci` driver's ports.
pub struct PortConfiguration;

fn address(function: DeviceFunction) -> pci::Address {
    pci::Address {
        bus: function.bus,
        device: function.device,
        function: function.function,
    }
}

impl ConfigurationAccess for PortConfiguration {
    fn read_word(&self, device_function: DeviceFunction, register_offset: u8) -> u32 {
        pci::read_register(address(device_function), register_offset)
    }

    fn write_word(&mut self, device_function: DeviceFunction, register_offset: u8, data: u32) {
        pci::write_register(address(device_function), register_offset, data);
    }

    unsafe fn unsafe_clone(&self) -> Self {
        Self
    }
}
